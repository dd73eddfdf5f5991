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


def _runs(problem, x0, method, jac="analytic"):
    jac = problem.gradient if jac == "analytic" else jac
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = so.minimize(problem.value, x0, jac=jac, method=method)
        ours = oo.minimize(problem.value, x0, jac=jac, method=method)
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
    ("CG", "Bard"),
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


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("BFGS", "Brown and Dennis"),  # ends at a failed search from x0
        ("BFGS", "Beale"),
        ("CG", "Bard"),
        ("CG", "Helical valley"),
    ],
)
def test_same_evaluations_as_scipy_with_forward_differences(method, name):
    """Values first, gradients where scipy asks for them, each point counted once."""
    problem = by_name(name)
    for x0 in _starts(problem):
        theirs, ours = _runs(problem, x0, method, jac=None)
        for key in ("nfev", "njev", "nit", "status", "message"):
            assert ours[key] == theirs[key], key
        np.testing.assert_array_equal(ours.x, theirs.x)


def test_a_failed_last_search_is_not_an_iteration():
    """scipy's BFGS ends at status 2 on Brown and Dennis with forward differences,
    with nit counting the searches that succeeded."""
    problem = by_name("Brown and Dennis")
    theirs, ours = _runs(problem, np.asarray(problem.x0, float), "BFGS", jac=None)
    assert ours.status == theirs.status == 2
    assert ours.nit == theirs.nit
    assert ours.nfev == theirs.nfev


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


class _Counting:
    """Trial evaluations counted as scipy's `line_search_wolfe2` counts them:
    `value` one function call, `value_and_gradient` one gradient call (its
    value is the one scipy keeps)."""

    def __init__(self, problem):
        self.problem, self.fc, self.gc = problem, 0, 0

    def value(self, x):
        self.fc += 1
        return self.problem.value(x)

    def value_and_gradient(self, x):
        self.gc += 1
        return self.problem.value(x), self.problem.gradient(x)


@pytest.mark.parametrize("name", ["Rosenbrock", "Beale", "Helical valley", "Wood"])
@pytest.mark.parametrize("with_condition", [False, True])
def test_the_fallback_is_scipys_line_search_wolfe2(name, with_condition):
    """Same step, value and counts as scipy's `line_search_wolfe2`, also with
    CG's descent condition."""
    from scipy.optimize._linesearch import line_search_wolfe2

    from optim._scipy_search import DescentCondition, Wolfe2

    problem = by_name(name)
    rng = np.random.default_rng(3)
    condition = DescentCondition(1e-5, np.inf) if with_condition else None
    for _ in range(6):
        x = np.asarray(problem.x0, float) * (
            1 + 0.2 * rng.standard_normal(len(problem.x0))
        )
        g = problem.gradient(x)
        p = -g * rng.uniform(0.01, 2.0)
        f = problem.value(x)
        old_old = f + float(np.linalg.norm(g)) / 2
        extra = None
        if condition is not None:

            def extra(alpha, xp1, fp1, gp1, g=g, p=p):
                return condition(g, p, gp1)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = line_search_wolfe2(
                problem.value,
                problem.gradient,
                x,
                p,
                g,
                f,
                old_old,
                c2=0.4,
                amax=1e100,
                extra_condition=extra,
            )
        evaluator = _Counting(problem)
        initial = min(1.0, 1.01 * 2 * (f - old_old) / float(g @ p))
        ours = Wolfe2(1e-4, 0.4, 1e100).search(
            evaluator,
            x=x,
            value=f,
            gradient=g,
            direction=p,
            initial_step=initial,
            condition=condition,
        )
        assert (evaluator.fc, evaluator.gc) == (theirs[1], theirs[2])
        if theirs[0] is None:
            assert not ours.success
        else:
            assert ours.success
            assert ours.step == theirs[0]
            assert ours.value == theirs[3]
