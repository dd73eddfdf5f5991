import numpy as np
import pytest

from optim.curvature import MAX_SIZE, newton_decrease
from optim.problems import Rosenbrock


def test_the_bound_is_the_newton_decrease_of_a_quadratic():
    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.05], [0.0, 0.05, 1e-3]])
    x = np.array([0.3, -0.2, 0.1])
    x_copy = x.copy()
    g = a @ x

    found = newton_decrease(lambda p: a @ p, x, g)

    exact = 0.5 * g @ np.linalg.solve(a, g)
    assert found is not None
    assert exact <= found.bound <= exact * (1 + 1e-6)
    np.testing.assert_allclose(found.step, -x, rtol=1e-7, atol=1e-12)
    assert found.evaluations == 6
    np.testing.assert_array_equal(x, x_copy)


def test_the_bound_grows_with_the_error_the_asymmetry_shows():
    """A gradient whose Jacobian is not symmetric is no gradient: its asymmetry is
    the measured Hessian's error, and the bound takes it into account."""
    skew = 1e-3

    def gradient_at(x):
        return np.array([x[0] + skew * x[1], x[1]])

    x = np.array([1.0, 1.0])
    found = newton_decrease(gradient_at, x, gradient_at(x))

    assert found is not None
    assert found.error >= skew
    assert found.bound > 0.5 * gradient_at(x) @ gradient_at(x)


@pytest.mark.parametrize(
    "gradient_at",
    [
        lambda x: np.array([x[0], -x[1]]),  # a saddle
        lambda x: np.array([x[0], 1.0]),  # flat along x1, with a slope along it
        lambda x: np.array([np.inf, x[1]]),
    ],
)
def test_no_bound_without_a_positive_definite_hessian(gradient_at):
    """Where the gradient has a component along a direction of curvature not
    above the error, the model bounds nothing."""
    x = np.array([0.5, 0.5])
    assert newton_decrease(gradient_at, x, gradient_at(x)) is None


@pytest.mark.parametrize(
    ("gradient_at", "smallest"),
    [
        (lambda x: np.array([x[0], -x[1], 4.0 * x[2]]), -1.0),  # a saddle
        (lambda x: np.array([x[0], 0.0, 4.0 * x[2]]), 0.0),  # a flat direction
    ],
)
def test_directions_the_gradient_cannot_see_are_left_out(gradient_at, smallest):
    """On the plane x1 = 0 the gradient has no x1 component (the symmetry x1 -> -x1
    of f): the bound is the Newton decrease along x0 and x2, and the step stays
    on the plane."""
    x = np.array([0.5, 0.0, 0.25])
    found = newton_decrease(gradient_at, x, gradient_at(x))

    assert found is not None
    assert found.unseen == 1
    assert found.smallest == pytest.approx(smallest, abs=1e-9)
    exact = 0.5 * (0.5**2 / 1.0 + 1.0**2 / 4.0)
    assert exact <= found.bound <= exact * (1 + 1e-6)
    np.testing.assert_allclose(found.step, [-0.5, 0.0, -0.25], atol=1e-9)
    assert found.step[1] == 0.0


def test_a_hessian_vector_product_is_used_when_given():
    problem = Rosenbrock()
    x = np.array([0.9, 0.8])
    calls = []

    def product(point, v):
        calls.append(v)
        a, b = point
        hessian = np.array([[1200 * a**2 - 400 * b + 2, -400 * a], [-400 * a, 200]])
        return hessian @ v

    def no_gradient(point):
        raise AssertionError("the gradient is not needed")

    found = newton_decrease(
        no_gradient, x, problem.gradient(x), hessian_vector_product=product
    )
    by_differences = newton_decrease(problem.gradient, x, problem.gradient(x))

    assert found is not None
    assert by_differences is not None
    assert found.evaluations == len(calls) == 2
    assert found.bound == pytest.approx(by_differences.bound, rel=1e-6)


def test_too_many_coordinates_are_not_measured():
    x = np.zeros(MAX_SIZE + 1)
    assert newton_decrease(lambda p: p, x, x) is None
