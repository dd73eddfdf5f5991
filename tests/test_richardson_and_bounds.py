import numpy as np
import pytest

from optim import (
    SPSA,
    BackwardDifference,
    Bounds,
    CentralDifference,
    ComplexStep,
    Evaluator,
    ForwardDifference,
    FunctionObjective,
    Mode,
    Objective,
    Richardson,
)
from optim.mgh import PROBLEMS

EPS = np.finfo(float).eps


def relative(estimate, exact):
    return np.max(np.abs(estimate - exact)) / np.max(np.abs(exact))


def mgh_cases():
    for problem in PROBLEMS:
        yield problem, problem.x0.copy()
        yield problem, problem.perturbed(seed=0)


@pytest.fixture(scope="module")
def mgh_results():
    out = []
    with np.errstate(all="ignore"):
        for problem, x in mgh_cases():
            exact = problem.gradient(x)
            rich, error = Richardson().estimate_with_error(problem, x)
            central = CentralDifference().estimate(problem, x)
            out.append((problem, x, exact, rich, error, central))
    return out


def test_richardson_reaches_1e_9_on_every_mgh_problem(mgh_results):
    """Acceptance 1: at most 1e-9, and never more than central differences."""
    for problem, _, exact, rich, _, central in mgh_results:
        assert relative(rich, exact) <= 1e-9, problem.name
        assert relative(rich, exact) <= relative(central, exact), problem.name


def test_richardson_never_loses_to_central_by_more_than_its_error(mgh_results):
    """Per coordinate: |R - g| <= |C - g| + error_R."""
    for problem, _, exact, rich, error, central in mgh_results:
        assert np.all(np.abs(rich - exact) <= np.abs(central - exact) + error), (
            problem.name
        )


def test_richardson_error_estimate_is_calibrated(mgh_results):
    """Covers the true error in >= 95% of coordinates above rounding level."""
    covered = total = 0
    for _, _, exact, rich, error, _ in mgh_results:
        true = np.abs(rich - exact)
        above = true > 100 * EPS * np.max(np.abs(exact))
        covered += int(np.sum(true[above] <= error[above]))
        total += int(np.sum(above))
    assert total > 20
    assert covered >= 0.95 * total


def test_richardson_discards_overflowing_steps():
    """Osborne 1's exponentials overflow at large steps; those are not used."""
    problem = next(p for p in PROBLEMS if p.name == "Osborne 1")
    x = problem.perturbed(seed=0)
    with np.errstate(all="ignore"):
        g, error = Richardson().estimate_with_error(problem, x)
    assert np.all(np.isfinite(g))
    assert np.all(np.isfinite(error))
    assert relative(g, problem.gradient(x)) <= 1e-9


def test_richardson_levels_are_validated():
    with pytest.raises(ValueError, match="levels"):
        Richardson(order=8, levels=3)


# --- bounds ---------------------------------------------------------------------


class Boxed(Objective):
    """exp-trig that raises if evaluated outside the box."""

    def __init__(self, lower, upper):
        self.lower, self.upper = lower, upper

    def value(self, x):
        if np.any(x < self.lower) or np.any(x > self.upper):
            raise AssertionError(f"evaluated outside the box at {x}")
        return float(np.sum(np.exp(0.5 * x) * np.sin(x)) + np.cos(x[0] * x[1]))


def exact_gradient(x):
    g = np.exp(0.5 * x) * (0.5 * np.sin(x) + np.cos(x))
    g[0] -= np.sin(x[0] * x[1]) * x[1]
    g[1] -= np.sin(x[0] * x[1]) * x[0]
    return g


ESTIMATORS = [
    pytest.param(CentralDifference(), 1e-7, id="central"),
    pytest.param(ForwardDifference(), 1e-6, id="forward"),
    pytest.param(BackwardDifference(), 1e-6, id="backward"),
    pytest.param(Richardson(), 1e-9, id="richardson"),
    pytest.param(CentralDifference(step=1e-3), 1e-4, id="central-large-step"),
    pytest.param(SPSA(samples=400, rng=0), None, id="spsa"),
]

LOWER = np.array([0.0, -1.0, 0.5, -np.inf])
UPPER = np.array([1.0, -1.0 + 1e-7, 0.5, np.inf])
POINTS = [
    np.array([0.0, -1.0, 0.5, 0.3]),  # on the lower bounds, zero-width third
    np.array([1.0, -1.0 + 1e-7, 0.5, -2.0]),  # on the upper bounds
    np.array([1e-9, -1.0 + 5e-8, 0.5, 1.0]),  # near the bounds
    np.array([0.5, -1.0, 0.5, 0.0]),
]


@pytest.mark.parametrize(("estimator", "tolerance"), ESTIMATORS)
@pytest.mark.parametrize("x", POINTS)
def test_estimators_never_leave_the_box(estimator, tolerance, x):
    """Every point evaluated lies in the box; the error estimate stays honest."""
    objective = Boxed(LOWER, UPPER)
    bounds = (LOWER, UPPER)
    g, error = estimator.estimate_with_error(objective, x, bounds=bounds)
    value, g2, _ = estimator.value_and_estimate(objective, x, bounds=bounds)

    np.testing.assert_array_equal(g, g2)
    assert value == objective.value(x)
    assert g[2] == 0.0  # zero-width coordinate: documented as 0
    assert error[2] == 0.0
    exact = exact_gradient(x)
    free = [0, 3]  # coordinates with room to difference accurately
    if tolerance is not None:
        assert np.all(np.abs(g - exact)[free] <= tolerance * np.max(np.abs(exact)))
        assert np.all(np.abs(g - exact)[free] <= error[free])


def test_complex_step_accepts_and_ignores_bounds():
    f = FunctionObjective(lambda x: np.sum(np.exp(x)))
    x = np.zeros(2)
    plain = ComplexStep().estimate(f, x)
    boxed = ComplexStep().estimate(f, x, bounds=(x, x + 1.0))
    np.testing.assert_array_equal(plain, boxed)


def test_without_bounds_nothing_changes():
    """bounds=None (and an infinite box) give the unbounded estimate bit for bit."""
    f = FunctionObjective(lambda x: np.sum(np.exp(0.5 * x) * np.sin(x)))
    x = np.linspace(-1.0, 2.0, 5)
    infinite = (np.full(5, -np.inf), np.full(5, np.inf))
    for estimator in (ForwardDifference(), BackwardDifference(), Richardson()):
        np.testing.assert_array_equal(
            estimator.estimate(f, x), estimator.estimate(f, x, bounds=infinite)
        )


def test_base_class_forwards_bounds_only_when_given():
    """A user estimator without the keyword works without a box."""
    from optim import GradientEstimator

    class Plain(GradientEstimator):
        def estimate(self, objective, x):
            return CentralDifference().estimate(objective, x)

    class Aware(GradientEstimator):
        def estimate(self, objective, x, *, bounds=None):
            return CentralDifference().estimate(objective, x, bounds=bounds)

    f = FunctionObjective(lambda x: float(np.sum(x**2)))
    x = np.array([0.0, 1.0])
    value, gradient, _ = Plain().value_and_estimate(f, x)
    assert value == 1.0
    np.testing.assert_allclose(gradient, [0.0, 2.0], atol=1e-8)
    box = (np.zeros(2), np.ones(2))
    _, inside, _ = Aware().value_and_estimate(Boxed(*box), x, bounds=box)
    assert np.all(np.isfinite(inside))


def test_central_differences_in_a_box_need_no_value_at_x():
    """estimate_with_error in a box (value unknown) is finite and equals the
    estimate made with the value, for stencils on both sides of x."""
    f = FunctionObjective(lambda x: float(np.sum((x - 3.0) ** 2)))
    box = (np.full(2, -10.0), np.full(2, 10.0))
    for x in (np.array([0.0, 1.0]), np.array([9.0, -9.5])):
        gradient, error = CentralDifference().estimate_with_error(f, x, bounds=box)
        _, with_value, error_with_value = CentralDifference().value_and_estimate(
            f, x, bounds=box
        )
        np.testing.assert_allclose(gradient, 2.0 * (x - 3.0), rtol=1e-8)
        np.testing.assert_array_equal(gradient, with_value)
        np.testing.assert_array_equal(error, error_with_value)


def test_evaluator_trial_then_iterate_in_a_box_is_finite():
    """After an Armijo trial (value known) the gradient in a box is finite."""
    f = FunctionObjective(lambda x: float(np.sum((x - 3.0) ** 2)))
    evaluator = Evaluator(
        f, CentralDifference(), Mode.DESCENT, constraint=Bounds(-10.0, 10.0)
    )
    point = np.array([1.0])
    assert evaluator.value(point) == 4.0
    value, gradient, _ = evaluator.evaluate(point)
    assert value == 4.0
    np.testing.assert_allclose(gradient, [-4.0], rtol=1e-8)
