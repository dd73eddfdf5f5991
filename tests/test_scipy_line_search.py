"""The scipy face's BFGS, CG and Newton-CG take scipy's steps (issue 21, acc. 2).

scipy's `line_search_wolfe12` (MINPACK-2's dcsrch, then a strong Wolfe
fallback), its first trial step, CG's descent condition and BFGS's update order
are reproduced, so on problems where no fallback search runs the two spend the
same evaluations and end at the same point, bit for bit. Each case holds for
starts perturbed by an ulp either way.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize as so

import optim.scipy as oo
from optim.mgh import by_name


def _starts(problem):
    x0 = np.asarray(problem.x0, dtype=float)
    return [x0, np.nextafter(x0, np.inf), np.nextafter(x0, -np.inf)]


def _runs(problem, x0, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = so.minimize(problem.value, x0, jac=problem.gradient, method=method)
        ours = oo.minimize(problem.value, x0, jac=problem.gradient, method=method)
    return theirs, ours


CASES = [
    ("BFGS", "Rosenbrock"),
    ("BFGS", "Beale"),
    ("BFGS", "Brown badly scaled"),
    ("BFGS", "Helical valley"),
    ("BFGS", "Penalty I"),
    ("CG", "Beale"),
    ("CG", "Helical valley"),
    ("CG", "Wood"),
    ("Newton-CG", "Rosenbrock"),
    ("Newton-CG", "Helical valley"),
    ("Newton-CG", "Wood"),
]


@pytest.mark.parametrize(("method", "name"), CASES)
def test_same_evaluations_and_point_as_scipy(method, name):
    problem = by_name(name)
    for x0 in _starts(problem):
        theirs, ours = _runs(problem, x0, method)
        for key in ("nfev", "njev", "nit", "status"):
            assert ours[key] == theirs[key], key
        if method == "Newton-CG":
            assert ours.nhev == theirs.nhev
        np.testing.assert_array_equal(ours.x, theirs.x)
        assert ours.fun == theirs.fun
        if method == "BFGS":
            np.testing.assert_array_equal(ours.hess_inv, theirs.hess_inv)


def test_bfgs_solves_brown_badly_scaled_as_scipy_does():
    """It used to stop at f = 8e11 with every jac (optim's own search)."""
    problem = by_name("Brown badly scaled")
    for jac in (problem.gradient, None, "3-point"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = oo.minimize(problem.value, problem.x0, jac=jac, method="BFGS")
        assert res.fun < 1e-4


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg"])
def test_disp_prints_hessian_evaluations_as_scipy(method, capsys):
    outputs = []
    for module in (so, oo):
        module.minimize(
            so.rosen,
            [-1.2, 1.0],
            jac=so.rosen_der,
            hess=so.rosen_hess,
            method=method,
            options={"disp": True},
        )
        outputs.append(capsys.readouterr().out.splitlines())
    theirs, ours = outputs
    assert ours[0] == theirs[0] == "Optimization terminated successfully."
    assert [line.split(":")[0] for line in ours] == [
        line.split(":")[0] for line in theirs
    ]
    assert ours[-1].split(":")[0].strip() == "Hessian evaluations"


def test_a_failing_trust_ncg_warns_as_scipy_with_disp():
    """trust-ncg's disp warns with a RuntimeWarning where the others warn with an
    OptimizeWarning."""
    for module in (so, oo):
        with pytest.warns(RuntimeWarning):
            module.minimize(
                so.rosen,
                [-1.2, 1.0],
                jac=so.rosen_der,
                hess=so.rosen_hess,
                method="trust-ncg",
                options={"disp": True, "maxiter": 2},
            )
