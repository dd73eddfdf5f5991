import numpy as np
import pytest

from optim import (
    AnalyticGradient,
    FunctionObjective,
    GradientCheck,
    Objective,
    check_gradient,
)
from optim.problems import Sphere


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def test_correct_gradient_passes():
    """A correct analytic gradient passes at random points."""
    rng = np.random.default_rng(0)

    for x in rng.uniform(-2.0, 2.0, size=(5, 6)):
        check = check_gradient(rosenbrock, x, gradient=rosenbrock_gradient)

        assert check.passed
        assert np.max(check.relative_error) < 1e-10


def test_wrong_component_is_found_in_a_matrix_point():
    """A wrong entry of a matrix-shaped gradient is reported as the worst index."""

    class Weights(Objective):
        def value(self, x):
            return float(np.sum(x**2))

        def gradient(self, x):
            g = 2.0 * x
            g[1, 2] += 0.5  # the bug
            return g

    x = np.arange(6.0).reshape(2, 3)

    check = check_gradient(Weights(), x)

    assert not check.passed
    assert check.worst == (1, 2)
    assert check.absolute_error[1, 2] == pytest.approx(0.5, rel=1e-9)
    assert check.relative_error[1, 2] == pytest.approx(0.5 / 10.5, rel=1e-9)
    assert check.absolute_error.shape == (2, 3)
    assert np.all(
        check.absolute_error[check.absolute_error != check.absolute_error[1, 2]] < 1e-8
    )


def test_errors_match_a_hand_computation():
    """Absolute and relative errors follow their definitions."""
    check = check_gradient(
        lambda x: x[0] ** 3 + x[1],
        [2.0, 5.0],
        gradient=lambda x: np.array([10.0, 1.0]),
    )

    np.testing.assert_allclose(check.estimate, [12.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(check.absolute_error, [2.0, 0.0], atol=1e-10)
    np.testing.assert_allclose(check.relative_error, [2.0 / 12.0, 0.0], atol=1e-10)
    assert check.worst == (0,)
    assert not check.passed


def test_tolerances_decide_the_verdict():
    """A small error passes or fails depending on rtol and atol."""
    fun = FunctionObjective(lambda x: x[0] ** 2, gradient=lambda x: 2 * x + 1e-5)
    x = np.array([1.0])

    assert not check_gradient(fun, x).passed
    assert check_gradient(fun, x, rtol=1e-4).passed
    assert check_gradient(fun, x, atol=1e-4).passed


def test_estimator_error_widens_the_tolerance():
    """The tolerance includes the estimator's own error estimate."""
    check = check_gradient(Sphere(), np.array([1.0, -1.0]))

    assert check.estimate_error is not None
    np.testing.assert_allclose(
        check.tolerance, 1e-8 + 1e-6 * np.abs(check.estimate) + check.estimate_error
    )


def test_estimator_without_error_estimate():
    """Any estimator can be the reference; without an error estimate it is None."""
    check = check_gradient(
        Sphere(), np.array([3.0, 2.0]), estimator=AnalyticGradient(), rtol=1e-7
    )

    assert check.estimate_error is None
    assert check.passed


def test_x_is_not_modified_and_integers_work():
    """The caller's point is never modified; integer points are accepted."""
    x = np.array([3, 2])

    check = check_gradient(Sphere(), x)

    np.testing.assert_array_equal(x, [3, 2])
    assert check.passed
    assert check.x.dtype == np.float64


def test_objective_without_gradient_is_refused():
    """Checking needs a gradient to check."""
    with pytest.raises(ValueError, match="no analytic gradient"):
        check_gradient(lambda x: np.sum(x), [1.0])


@pytest.mark.parametrize("name", ["rtol", "atol"])
def test_negative_tolerance_is_refused(name):
    """Tolerances must be non-negative, and the error names them."""
    with pytest.raises(ValueError, match=name):
        check_gradient(Sphere(), [1.0], **{name: -1.0})


def test_summary_lists_the_worst_coordinate_first():
    """The text summary gives the verdict and starts with the worst coordinate."""
    fun = FunctionObjective(
        lambda x: np.sum(x**2), gradient=lambda x: 2 * x + np.array([0, 0, 1.0])
    )

    text = check_gradient(fun, np.ones(3)).summary(rows=2)

    lines = text.splitlines()
    assert lines[0].startswith("FAILED")
    assert lines[2].startswith("(2,)")
    assert len(lines) == 4


def test_check_is_a_frozen_record():
    """GradientCheck compares by value."""
    a = check_gradient(Sphere(), [1.0, 2.0])
    b = check_gradient(Sphere(), [1.0, 2.0])

    assert isinstance(a, GradientCheck)
    assert a == b
