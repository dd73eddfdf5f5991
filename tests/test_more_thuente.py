"""MoreThuente and quadratic_first_step: hand-checked values and scipy's dcsrch."""

import numpy as np
import pytest
from scipy.optimize._linesearch import line_search_wolfe1

from optim import AnalyticGradient, Evaluator, FunctionObjective, LineSearchRule, Mode
from optim.bfgs import BFGSDirection
from optim.directions import LBFGSDirection
from optim.line_search import (
    Backtracking,
    MoreThuente,
    StrongWolfe,
    quadratic_first_step,
)
from optim.mgh import by_name
from optim.problems import Sphere
from optim.projections import Bounds


def _search(search, problem, x, direction, initial_step, constraint=None):
    evaluator = Evaluator(
        problem, AnalyticGradient(), Mode.DESCENT, constraint=constraint
    )
    value, gradient = evaluator.value_and_gradient(x)
    result = search.search(
        evaluator,
        x=x,
        value=value,
        gradient=gradient,
        direction=direction,
        initial_step=initial_step,
    )
    return result, evaluator.evaluations - 1


PROBLEMS = ["Rosenbrock", "Beale", "Brown badly scaled", "Helical valley", "Watson"]


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("c2", [0.9, 0.4, 0.1])
def test_same_steps_and_evaluations_as_scipys_line_search_wolfe1(name, c2):
    """From the same first trial, the step and count of scipy's dcsrch port."""
    problem = by_name(name)
    rng = np.random.default_rng(7)
    for _ in range(4):
        x = np.asarray(problem.x0, float) * (
            1 + 0.2 * rng.standard_normal(len(problem.x0))
        )
        g = problem.gradient(x)
        for direction in (-g, -g / np.linalg.norm(g) * rng.uniform(0.01, 10)):
            first = min(1.0, 1.01 / np.linalg.norm(direction))
            value = problem.value(x)
            old_old = value - first * float(g @ direction) / 2.02
            theirs = line_search_wolfe1(
                problem.value,
                problem.gradient,
                x,
                direction,
                g,
                value,
                old_old,
                c2=c2,
                amin=1e-100,
                amax=1e100,
            )
            search = MoreThuente(
                c2=c2, min_step=1e-100, max_step=1e100, max_iterations=99
            )
            ours, evaluations = _search(
                search,
                problem,
                x,
                direction,
                quadratic_first_step(value, old_old, g @ direction),
            )
            assert evaluations == theirs[1] == theirs[2]
            if theirs[0] is None:
                assert not ours.success
            else:
                assert ours.success
                assert ours.step == theirs[0]
                assert ours.value == theirs[3]
                np.testing.assert_array_equal(ours.gradient, theirs[5])


def test_hand_checked_steps_on_a_parabola():
    """f = x^2 from 1 along -1, first trial 0.1: nothing is bracketed, so the
    secant step (1) is cut to the cap 0.1 + 4 x 0.1 = 0.5; then the secant step
    through the slopes at 0.1 and 0.5 lands on the minimizer, 1."""
    evaluator = Evaluator(Sphere(), AnalyticGradient(), Mode.DESCENT)
    steps = []

    class Recorded:
        def value_and_gradient(self, x):
            steps.append(1.0 - float(x[0]))
            return evaluator.value_and_gradient(x)

    result = MoreThuente(c2=0.1).search(
        Recorded(),
        x=np.array([1.0]),
        value=1.0,
        gradient=np.array([2.0]),
        direction=np.array([-1.0]),
        initial_step=0.1,
    )
    assert steps == pytest.approx([0.1, 0.5, 1.0], rel=1e-15)
    assert (result.success, result.step, result.value) == (True, 1.0, 0.0)


def test_sufficient_decrease_and_curvature_hold_at_the_accepted_step():
    problem = by_name("Beale")
    x = np.asarray(problem.x0, float)
    g = problem.gradient(x)
    for c2 in (0.9, 0.1):
        result, _ = _search(MoreThuente(c2=c2), problem, x, -g, 1.0)
        assert result.success
        slope0 = float(g @ -g)
        assert result.value <= problem.value(x) + 1e-4 * result.step * slope0
        assert abs(float(result.gradient @ -g)) <= c2 * abs(slope0)
        np.testing.assert_array_equal(result.delta, result.step * -g)


def test_no_descent_direction_fails_without_evaluating():
    result, evaluations = _search(
        MoreThuente(), Sphere(), np.array([1.0]), np.array([1.0]), 1.0
    )
    assert (result.success, result.step, evaluations) == (False, 0.0, 0)


@pytest.mark.parametrize("search", [MoreThuente(), StrongWolfe(), Backtracking()])
@pytest.mark.parametrize("initial_step", [0.0, -1.0])
def test_a_first_step_that_is_not_positive_fails_without_evaluating(
    search, initial_step
):
    """scipy's searches fail on a zero first step (no change in f)."""
    result, evaluations = _search(
        search, Sphere(), np.array([1.0]), np.array([-1.0]), initial_step
    )
    assert (result.success, result.step, evaluations) == (False, 0.0, 0)


def test_a_value_that_is_not_finite_ends_the_search():
    def value(x):
        return float(x[0] ** 2) if x[0] > -0.5 else float("nan")

    objective = FunctionObjective(value, gradient=lambda x: 2 * x)
    result, evaluations = _search(
        MoreThuente(), objective, np.array([1.0]), np.array([-2.0]), 1.0
    )
    assert not result.success
    assert evaluations == 1


def test_a_constraint_is_refused_clearly():
    with pytest.raises(ValueError, match="MoreThuente"):
        _search(
            MoreThuente(),
            Sphere(),
            np.array([1.0]),
            np.array([-1.0]),
            1.0,
            constraint=Bounds(0.0, 2.0),
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"c1": 0.0}, "c1"),
        ({"c1": 0.5, "c2": 0.4}, "c2"),
        ({"c2": 1.0}, "c2"),
        ({"xtol": -1.0}, "xtol"),
        ({"min_step": -1.0}, "min_step"),
        ({"min_step": 2.0, "max_step": 1.0}, "max_step"),
        ({"max_iterations": 0}, "max_iterations"),
    ],
)
def test_invalid_fields_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MoreThuente(**kwargs)


def test_a_float32_run_keeps_float32_trial_points():
    x = np.array([1.0, -2.0], dtype=np.float32)
    result, _ = _search(MoreThuente(), Sphere(), x, -2 * x, 1.0)
    assert result.success
    assert result.delta.dtype == np.float32


def test_quadratic_first_step_by_hand():
    # 1.01 * 2 * (1 - 1.5) / -2 = 0.505
    assert quadratic_first_step(1.0, 1.5, -2.0) == pytest.approx(0.505, rel=1e-15)
    assert quadratic_first_step(1.0, 10.0, -2.0) == 1.0  # capped at 1
    assert quadratic_first_step(1.0, 0.5, -2.0) == 1.0  # a rise: 1
    assert quadratic_first_step(1.0, 1.0, -2.0) == 0.0  # no change: scipy fails
    assert quadratic_first_step(1.0, 1.5, 0.0) == 1.0  # no slope: 1


def test_the_scipy_like_rule_starts_as_scipy_and_learns_from_alpha_p():
    """First trial 1.01/|g| along -g (f_-1 = f0 + |g|/2), then the BFGS pair is
    the search's own displacement."""
    problem = by_name("Beale")
    x = np.asarray(problem.x0, float)
    rule = LineSearchRule(
        BFGSDirection(scale_first=False), MoreThuente(), scipy_like=True
    )
    evaluator = Evaluator(problem, AnalyticGradient(), Mode.DESCENT)
    seen = []

    class Recorded:
        def value_and_gradient(self, point):
            seen.append(point)
            return evaluator.value_and_gradient(point)

    value, g = evaluator.value_and_gradient(x)
    delta, state = rule.update(g, rule.init(x), x=x, value=value, evaluator=Recorded())
    first = 1.01 / np.linalg.norm(g)
    np.testing.assert_array_equal(seen[0], x + first * -g)
    np.testing.assert_array_equal(state.previous_delta, delta)


def test_defaults_are_unchanged():
    assert LineSearchRule(LBFGSDirection(), StrongWolfe()).scipy_like is False
    assert BFGSDirection().scale_first is True
