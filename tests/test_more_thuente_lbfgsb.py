"""optim.MoreThuente with the constants of scipy's L-BFGS-B, against scipy's DCSRCH."""

import math

import numpy as np
import pytest

from optim import LBFGS, Mode, Optimizer, StopOnZeroGradient
from optim.directions import LBFGSDirection
from optim.line_search import MoreThuente as _MoreThuente
from optim.line_search import Search
from optim.line_search_rules import LineSearchRule
from optim.problems import Beale, Quadratic, Rosenbrock
from tests.test_line_search import _search


def MoreThuente(c1=1e-3, c2=0.9, *, max_iterations=20):
    """The Moré-Thuente search as scipy's L-BFGS-B calls it (lnsrlb in lbfgsb.c)."""
    return _MoreThuente(c1, c2, xtol=0.1, max_iterations=max_iterations)


def _scipy_step(problem, x, direction, initial_step):
    """The step of MINPACK-2's dcsrch as scipy's L-BFGS-B calls it."""
    # scipy's Python port of dcsrch (private; the Fortran one before 1.11).
    dcsrch = pytest.importorskip("scipy.optimize._dcsrch").DCSRCH

    def phi(step):
        return problem.value(x + step * direction)

    def derphi(step):
        return problem.gradient(x + step * direction) @ direction

    search = dcsrch(phi, derphi, 1e-3, 0.9, 0.1, 0.0, 1e10)
    step, *_ = search(initial_step, phi0=phi(0.0), derphi0=derphi(0.0), maxiter=20)
    return step


CASES = [
    (Rosenbrock(), np.array([-1.2, 1.0])),
    (Rosenbrock(), np.array([0.3, 0.9])),
    (Beale(), np.array([1.0, 1.0])),
    (Quadratic(4, condition_number=100.0), np.array([1.0, -2.0, 0.5, 3.0])),
]


@pytest.mark.parametrize("initial_step", [1e-3, 0.1, 1.0, 30.0])
@pytest.mark.parametrize(("problem", "x"), CASES)
def test_the_step_is_dcsrch_s(problem, x, initial_step):
    """The accepted step is the one scipy's port of dcsrch accepts, and it meets
    sufficient decrease and the strong curvature condition."""
    direction = -problem.gradient(x)
    result, _, value, gradient = _search(
        MoreThuente(), problem, x, direction, initial_step
    )

    assert result.success
    assert result.step == pytest.approx(
        _scipy_step(problem, x, direction, initial_step), rel=1e-12
    )
    slope0 = gradient @ direction
    trial = x + result.delta
    assert problem.value(trial) <= value + 1e-3 * result.step * slope0
    assert abs(problem.gradient(trial) @ direction) <= 0.9 * abs(slope0)
    # The evaluator's value, by the same formula (`value` may round another way:
    # Quadratic's two formulas differ in the last bit on some BLAS kernels).
    assert result.value == problem.value_and_gradient(trial)[0]


def test_ascent_matches_descent():
    problem = Rosenbrock()
    x = problem.start
    direction = -problem.gradient(x)
    down, *_ = _search(MoreThuente(), problem, x, direction, 1.0, Mode.DESCENT)
    up, *_ = _search(MoreThuente(), problem, x, direction, 1.0, Mode.ASCENT)
    assert down.step == up.step
    np.testing.assert_array_equal(down.delta, up.delta)


def test_a_search_out_of_trials_fails_with_its_best_decrease():
    problem = Rosenbrock()
    x = problem.start
    direction = -problem.gradient(x)
    result, evaluator, value, _ = _search(
        MoreThuente(c2=0.1, max_iterations=1), problem, x, direction, 1e-4
    )
    assert not result.success
    assert result.value is not None
    assert result.value < value
    assert evaluator.evaluations == 2  # the start and one trial


def test_an_ascent_direction_is_no_success():
    problem = Rosenbrock()
    x = problem.start
    direction = problem.gradient(x)  # uphill
    result, *_ = _search(MoreThuente(), problem, x, direction, 1.0)
    assert not result.success
    assert result.value is None or result.value >= problem.value(x)


def test_constants_are_validated():
    with pytest.raises(ValueError, match="c2"):
        MoreThuente(c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="max_iterations"):
        MoreThuente(max_iterations=0)


@pytest.mark.parametrize("n", [2, 100, 1000])
@pytest.mark.parametrize("ulps", range(4))
def test_lbfgs_with_lbfgsb_s_search_and_stop_uses_scipy_s_evaluations(n, ulps):
    """L-BFGS-B's search and its infinity-norm `gtol` test: scipy's solve, to 1e-12.

    The like-with-like configuration of the L-BFGS row of `benchmarks/per_step.py`
    (extended Rosenbrock, from starts a few ulps apart).
    """
    minimize = pytest.importorskip("scipy.optimize").minimize
    problem = Rosenbrock(n)
    x0 = problem.start
    for _ in range(ulps):
        x0 = np.nextafter(x0, np.inf)
    result = Optimizer(
        problem,
        step_rule=LBFGS(search=MoreThuente(max_iterations=100)),
        callbacks=[StopOnZeroGradient(1e-6, norm=np.inf)],
        max_steps=1000,
    ).run(x0)
    reference = minimize(
        lambda x: (problem.value(x), problem.gradient(x)),
        x0,
        method="L-BFGS-B",
        jac=True,
        options={"gtol": 1e-6, "ftol": 0.0},
    )
    assert result.status.name == "CONVERGED"
    assert result.evaluations == result.gradient_evaluations == reference.nfev
    assert result.steps == reference.nit
    np.testing.assert_allclose(result.x, reference.x, rtol=0.0, atol=1e-12)


class _Recording(Search):
    """MoreThuente(), recording each search's direction and first trial step."""

    __slots__ = ("calls",)

    def __init__(self):
        self.calls = []

    def search(self, evaluator, **where):
        self.calls.append(
            (where["gradient"].copy(), where["direction"].copy(), where["initial_step"])
        )
        return MoreThuente().search(evaluator, **where)


@pytest.mark.parametrize("x0", [[-1.2, 1.0], [1.0005, 1.0]])
def test_scipy_like_lbfgs_takes_lbfgsb_s_first_step(x0):
    """With `scipy_like`, L-BFGS's first search goes along -g itself from
    min(1/||g||, 1e10), ||g|| correctly rounded (L-BFGS-B's lnsrlb), and later
    ones from 1; without it, along -g shortened to length at most 1, from 1.
    The second start has ||g|| < 1 (L-BFGS-B then tries a step longer than 1)."""
    searches = {}
    for scipy_like in (True, False):
        search = _Recording()
        rule = LineSearchRule(LBFGSDirection(), search, scipy_like=scipy_like)
        Optimizer(Rosenbrock(), step_rule=rule, max_steps=3).run(x0)
        searches[scipy_like] = search.calls

    gradient, direction, initial = searches[True][0]
    np.testing.assert_array_equal(direction, -gradient)
    assert initial == min(1.0 / math.hypot(*gradient), 1e10)
    assert [call[2] for call in searches[True][1:]] == [1.0, 1.0]
    gradient, direction, initial = searches[False][0]
    norm = np.linalg.norm(gradient)
    expected = -gradient * (1.0 / norm) if norm > 1.0 else -gradient
    np.testing.assert_array_equal(direction, expected)
    assert [call[2] for call in searches[False]] == [1.0, 1.0, 1.0]
