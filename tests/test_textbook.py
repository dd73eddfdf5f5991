"""The textbook note's functions and numbers."""

import numpy as np
import pytest

import optim


def sphere(x):
    return x[0] ** 2 + x[1] ** 2


class TestGradientDescent:
    def test_rate_point_one_from_integer_start(self):
        """lr=0.1 from the integer (3, 2) gives (3, 2) * 0.8**100."""
        init_x = np.array([3, 2])

        x = optim.gradient_descent(sphere, init_x=init_x, lr=0.1, step_num=100)

        np.testing.assert_allclose(x, [3 * 0.8**100, 2 * 0.8**100], rtol=1e-6)
        np.testing.assert_array_equal(init_x, [3, 2])
        assert init_x.dtype.kind == "i"

    def test_tiny_rate_barely_moves(self):
        """lr=1e-6 multiplies x by (1 - 2e-6)**100: about (2.99940006, 1.99960004)."""
        x = optim.gradient_descent(sphere, init_x=np.array([3, 2]), lr=1e-6)

        expected = np.array([3.0, 2.0]) * (1 - 2e-6) ** 100
        np.testing.assert_allclose(x, expected, rtol=1e-9)
        np.testing.assert_allclose(x, [2.99940006, 1.99960004], rtol=1e-8)

    def test_books_float_start(self):
        """The book's (-3, 4): lr=0.1 and lr=1e-10 give the printed values."""
        init_x = np.array([-3.0, 4.0])

        x_fast = optim.gradient_descent(sphere, init_x=init_x, lr=0.1, step_num=100)
        x_slow = optim.gradient_descent(sphere, init_x=init_x, lr=1e-10, step_num=100)

        np.testing.assert_allclose(x_fast, [-6.11110793e-10, 8.14814391e-10], rtol=1e-8)
        np.testing.assert_allclose(x_slow, [-2.99999994, 3.99999992], rtol=1e-8)
        np.testing.assert_array_equal(init_x, [-3.0, 4.0])

    def test_takes_exactly_step_num_steps(self):
        """Each step of lr=0.25 halves x, so 3 steps give x / 8."""
        x = optim.gradient_descent(
            sphere, init_x=np.array([8.0, -8.0]), lr=0.25, step_num=3
        )

        np.testing.assert_allclose(x, [1.0, -1.0], rtol=1e-9)

    def test_large_rate_is_not_stopped_early(self):
        """lr=10 multiplies x by -19 every step, never stopped early."""
        x = optim.gradient_descent(
            sphere, init_x=np.array([-3.0, 4.0]), lr=10, step_num=5
        )

        np.testing.assert_allclose(x, np.array([-3.0, 4.0]) * (-19.0) ** 5, rtol=1e-6)


class TestNumericalGradient:
    def test_integer_point(self):
        """The gradient at the integer (3, 2) is (6, 4), not ~25000."""
        x = np.array([3, 2])

        g = optim.numerical_gradient(sphere, x)

        np.testing.assert_allclose(g, [6.0, 4.0], atol=1e-7)
        np.testing.assert_array_equal(x, [3, 2])

    def test_float_point_is_not_modified(self):
        """The caller's float array is untouched, bit for bit."""
        x = np.array([3.0, 0.1, -2.5])
        copy = x.copy()

        g = optim.numerical_gradient(lambda v: float(np.sum(v**3)), x)

        np.testing.assert_array_equal(x, copy)
        np.testing.assert_allclose(g, 3 * copy**2, atol=2e-8)  # error h**2 = 1e-8

    def test_is_the_textbook_formula(self):
        """It is exactly (f(x + h e_i) - f(x - h e_i)) / (2h) with h = 1e-4."""
        x = np.array([0.7, -1.3])
        h = 1e-4

        def f(v):
            return np.exp(v[0]) * np.sin(v[1])

        expected = [
            (f(np.array([0.7 + h, -1.3])) - f(np.array([0.7 - h, -1.3]))) / (2 * h),
            (f(np.array([0.7, -1.3 + h])) - f(np.array([0.7, -1.3 - h]))) / (2 * h),
        ]

        np.testing.assert_array_equal(optim.numerical_gradient(f, x), expected)

    def test_matrix_point(self):
        """Points of any shape work; the gradient has the point's shape."""
        x = np.arange(6.0).reshape(2, 3)

        g = optim.numerical_gradient(lambda m: float(np.sum(m**2)), x)

        assert g.shape == (2, 3)
        np.testing.assert_allclose(g, 2 * x, atol=1e-7)

    @pytest.mark.parametrize("x", [np.array([True, False]), [1, 2]])
    def test_bool_and_list_points_are_floats(self, x):
        """Boolean and list input is treated as float."""
        g = optim.numerical_gradient(lambda v: float(np.sum(v**2)), x)

        np.testing.assert_allclose(g, 2 * np.asarray(x, dtype=float), atol=1e-7)
