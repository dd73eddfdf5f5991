"""optim.MoreThuente with the constants of scipy's L-BFGS-B, against scipy's DCSRCH."""

import numpy as np
import pytest

from optim import Mode
from optim.line_search import MoreThuente as _MoreThuente
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
    assert result.value == problem.value(trial)


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
