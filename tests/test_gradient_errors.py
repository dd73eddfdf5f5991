"""Calibration of the difference estimators' error estimates.

For every problem of the library (at its start and at seeded random points) and
for noisy objectives, each of `CentralDifference`, `ForwardDifference`,
`BackwardDifference` and `ComplexStep` (default and large steps) must

- cover: the true error (against the analytic gradient) is at most the estimate
  in at least 95% of the coordinates;
- be tight: where the true error is above the rounding level, the estimate is at
  most 100 times the true error in at least `TIGHT` of those coordinates.

The rounding level of coordinate `i` is `1e3 * eps * |f(x)| / h_i` for the
differences (the cancellation error of one subtraction, `h_i` the estimator's
step), plus `10 * a / h_i` on an objective with noise of amplitude `a`; for the
complex step, which subtracts nothing, it is `1e3 * eps * (|g_i| + |f(x)| / L_i)`
with `L_i = max(1, |x_i|)`. Below it the true error is rounding noise, which can
be any fraction of its bound, so tightness is not asked there.

Run `pytest tests/test_gradient_errors.py -s` to print the measured fractions.
"""

import math

import attrs
import numpy as np
import pytest

from optim import (
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    FunctionObjective,
    Objective,
)
from optim.evaluator import _Counted
from optim.problems import Quadratic, Rosenbrock
from optim.registry import PROBLEMS

EPS = float(np.finfo(np.float64).eps)
SEED = 2026
RANDOM_POINTS = 5
NOISE = 1e-6
COVER = 0.95
TIGHT = 0.8


def _library():
    """Every registered problem, plus larger variants, by label."""
    problems = {name: factory() for name, factory in PROBLEMS.items()}
    problems["rosenbrock-4-chained"] = Rosenbrock(dimension=4, chained=True)
    problems["quadratic-5-rotated"] = Quadratic(
        dimension=5, condition_number=100.0, rotation_seed=0
    )
    return problems


def _points(problem, rng):
    """The problem's start and seeded random points around it."""
    start = problem.start
    return [start] + [
        start + rng.uniform(-2.0, 2.0, start.size) for _ in range(RANDOM_POINTS)
    ]


def _complex_formulas():
    """Complex-analytic versions of the library's problems, for the complex step."""
    beale = (1.5, 2.25, 2.625)
    quadratic = Quadratic()
    return {
        "beale": lambda x: sum(
            (c - x[0] + x[0] * x[1] ** i) ** 2 for i, c in enumerate(beale, 1)
        ),
        "booth": lambda x: (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2,
        "himmelblau": lambda x: (
            (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2
        ),
        "quadratic": lambda x: 0.5 * (x**2) @ quadratic.curvatures,
        "rastrigin": lambda x: np.sum(x**2 - 10.0 * np.cos(2.0 * np.pi * x) + 10.0),
        "rosenbrock": lambda x: 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2,
        "sphere": lambda x: np.sum(x**2),
        "styblinski-tang": lambda x: 0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x),
    }


class _Noisy(Objective):
    """`f` plus uniform noise in `[-amplitude, amplitude]`, seeded."""

    def __init__(self, problem, amplitude, seed):
        self.problem = problem
        self.amplitude = amplitude
        self.rng = np.random.default_rng(seed)

    def value(self, x):
        noise = self.rng.uniform(-self.amplitude, self.amplitude)
        return self.problem.value(x) + noise


def _cases(kind):
    """`(label, objective, x, exact gradient, f(x), noise amplitude)` tuples."""
    rng = np.random.default_rng(SEED)
    formulas = _complex_formulas()
    cases = []
    for name, problem in _library().items():
        for j, x in enumerate(_points(problem, rng)):
            exact, value = problem.gradient(x), problem.value(x)
            if kind == "library":
                cases.append((name, problem, x, exact, value, 0.0))
            elif kind == "complex" and name in formulas:
                objective = FunctionObjective(formulas[name])
                cases.append((name, objective, x, exact, value, 0.0))
            elif kind == "noisy":
                noisy = _Noisy(problem, NOISE * max(1.0, abs(value)), SEED + j)
                cases.append((name, noisy, x, exact, value, noisy.amplitude))
    return cases


def _steps(estimator, x):
    """The steps `h_i` the estimator uses at `x` (up to rounding)."""
    if estimator.step is not None:
        return np.broadcast_to(estimator.step, x.shape)
    relative = {
        CentralDifference: EPS ** (1.0 / 3.0),
        ForwardDifference: EPS**0.5,
        BackwardDifference: EPS**0.5,
        ComplexStep: 1e-20,
    }[type(estimator)]
    return relative * np.maximum(1.0, np.abs(x))


def _rounding_level(estimator, x, exact, value, amplitude):
    if isinstance(estimator, ComplexStep):
        return 1e3 * EPS * (np.abs(exact) + abs(value) / np.maximum(1.0, np.abs(x)))
    h = _steps(estimator, x)
    return 1e3 * EPS * abs(value) / h + 10.0 * amplitude / h


def calibrate(estimator, kind):
    """Return the covered fraction, the tight fraction and how many were checked."""
    covered = total = tight = checked = 0
    for _, objective, x, exact, value, amplitude in _cases(kind):
        if amplitude and not isinstance(estimator, ComplexStep):
            estimator = attrs.evolve(estimator, noise=amplitude)
        _, gradient, error = estimator.value_and_estimate(objective, x)
        true = np.abs(gradient - exact)
        covered += int(np.sum(true <= error))
        total += true.size
        above = true > _rounding_level(estimator, x, exact, value, amplitude)
        checked += int(np.sum(above))
        tight += int(np.sum(error[above] <= 100.0 * true[above]))
    return covered / total, (tight / checked if checked else math.nan), checked


ESTIMATORS = [
    pytest.param(CentralDifference(), id="central"),
    pytest.param(CentralDifference(step=1e-3), id="central-1e-3"),
    pytest.param(ForwardDifference(), id="forward"),
    pytest.param(ForwardDifference(step=1e-5), id="forward-1e-5"),
    pytest.param(BackwardDifference(), id="backward"),
    pytest.param(BackwardDifference(step=1e-5), id="backward-1e-5"),
]

COMPLEX = [
    pytest.param(ComplexStep(), id="complex"),
    pytest.param(ComplexStep(step=1e-3), id="complex-1e-3"),
]


def _check(estimator, kind):
    cover, tight, checked = calibrate(estimator, kind)
    print(
        f"\n{estimator!r} on {kind}: cover {cover:.3f}, tight {tight:.3f} of {checked}"
    )

    assert cover >= COVER
    assert checked == 0 or tight >= TIGHT


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kind", ["library", "noisy"])
def test_difference_errors_are_calibrated(estimator, kind):
    """The estimate covers the true error and is not far above it."""
    _check(estimator, kind)


@pytest.mark.parametrize("estimator", COMPLEX)
def test_complex_step_errors_are_calibrated(estimator):
    """The complex step's estimate covers its error on the library's formulas."""
    _check(estimator, "complex")


def test_complex_formulas_are_the_library_problems():
    """The complex formulas match every registered problem at real points."""
    formulas = _complex_formulas()
    rng = np.random.default_rng(SEED)

    assert set(formulas) == set(PROBLEMS)
    for name, formula in formulas.items():
        problem = PROBLEMS[name]()
        for x in _points(problem, rng):
            assert formula(x) == pytest.approx(problem.value(x), rel=1e-12, abs=1e-12)


def test_noisy_complex_step_ignores_real_noise():
    """Real noise added to f leaves the gradient alone (the error barely moves)."""
    x = np.array([0.3, -1.2])
    formula = _complex_formulas()["rosenbrock"]
    clean = FunctionObjective(formula)
    rng = np.random.default_rng(SEED)
    noisy = FunctionObjective(lambda z: formula(z) + rng.uniform(-1e-3, 1e-3))

    a = ComplexStep().estimate_with_error(clean, x)
    b = ComplexStep().estimate_with_error(noisy, x)

    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-3)


def test_noise_option_covers_a_noisy_objective():
    """Without `noise` the estimate misses the noise; with it, it covers it."""
    problem = Rosenbrock()
    x = problem.start
    amplitude = 1e-6

    def true_error(estimator):
        objective = _Noisy(problem, amplitude, SEED)
        _, gradient, error = estimator.value_and_estimate(objective, x)
        return np.abs(gradient - problem.gradient(x)), error

    missed, small = true_error(CentralDifference())
    covered, large = true_error(CentralDifference(noise=amplitude))

    assert np.any(missed > small)
    assert np.all(covered <= large)


ALL = [
    pytest.param(CentralDifference(), 2, 2, id="central"),
    pytest.param(ForwardDifference(), 1, 1, id="forward"),
    pytest.param(BackwardDifference(), 1, 1, id="backward"),
    pytest.param(ComplexStep(), 1, 1, id="complex"),
]


@pytest.mark.parametrize(("estimator", "per_coordinate", "per_step"), ALL)
def test_error_costs_no_evaluation(estimator, per_coordinate, per_step):
    """estimate_with_error and value_and_estimate evaluate what estimate does."""
    n = 4
    x = np.linspace(-1.0, 1.0, n)
    objective = FunctionObjective(lambda z: np.sum(z**3) + z[0] * z[1])
    alone, with_error, with_value = (_Counted(objective) for _ in range(3))

    estimator.estimate(alone, x)
    _, error = estimator.estimate_with_error(with_error, x)
    estimator.value_and_estimate(with_value, x)

    assert error is not None
    assert error.shape == x.shape
    assert with_error.evaluations == alone.evaluations
    extra = 0 if isinstance(estimator, ForwardDifference | BackwardDifference) else 1
    assert with_value.evaluations == per_step * n + 1
    assert alone.evaluations == per_coordinate * n + 1 - extra


@pytest.mark.parametrize(("estimator", "per_coordinate", "per_step"), ALL)
def test_value_and_estimate_reports_the_same_error(estimator, per_coordinate, per_step):
    """The error does not depend on which method computed it."""
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    objective = FunctionObjective(lambda z: np.sum(np.exp(0.3 * z) * z**2))

    gradient, error = estimator.estimate_with_error(objective, x)
    value, same_gradient, same_error = estimator.value_and_estimate(objective, x)

    assert value == objective.value(x)
    np.testing.assert_array_equal(gradient, same_gradient)
    np.testing.assert_array_equal(error, same_error)
    assert np.all(np.isfinite(error))
    assert np.all(error > 0.0)
