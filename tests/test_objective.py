"""Objective and FunctionObjective."""

import numpy as np
import pytest

from optim import FunctionObjective, Objective
from optim.problems import Sphere


class TestObjective:
    def test_abstract(self):
        """Objective cannot be instantiated without value()."""
        with pytest.raises(TypeError):
            Objective()

    def test_has_gradient_follows_override(self):
        """has_gradient is True exactly when gradient() is overridden."""

        class Plain(Objective):
            def value(self, x):
                return 0.0

        assert not Plain().has_gradient
        assert Sphere().has_gradient
        with pytest.raises(NotImplementedError, match="Plain has no analytic"):
            Plain().gradient(np.zeros(1))

    def test_default_values_calls_value_per_point(self):
        """The default values() evaluates each point of the stack in order."""
        seen = []

        class Recorder(Objective):
            def value(self, x):
                seen.append(x.copy())
                return float(x.sum())

        xs = np.arange(6.0).reshape(3, 2)

        values = Recorder().values(xs)

        np.testing.assert_array_equal(values, [1.0, 5.0, 9.0])
        assert len(seen) == 3

    def test_value_and_gradient_default(self):
        """The default value_and_gradient combines value and gradient."""
        value, gradient = Sphere().value_and_gradient(np.array([1.0, 2.0]))

        assert value == 5.0
        np.testing.assert_array_equal(gradient, [2.0, 4.0])

    def test_sphere_values_matrix_points(self):
        """Sphere.values works on a stack of matrix-shaped points."""
        xs = np.ones((4, 2, 3))

        np.testing.assert_array_equal(Sphere().values(xs), [6.0] * 4)


class TestFunctionObjective:
    def test_gradient_keyword(self):
        """gradient= supplies the analytic gradient."""
        objective = FunctionObjective(lambda x: float(x @ x), gradient=lambda x: 2 * x)

        assert objective.has_gradient
        np.testing.assert_array_equal(objective.gradient(np.array([1.0])), [2.0])

    def test_no_gradient(self):
        """Without gradient=, gradient() raises NotImplementedError."""
        objective = FunctionObjective(lambda x: 0.0)

        assert not objective.has_gradient
        with pytest.raises(NotImplementedError):
            objective.gradient(np.zeros(2))

    def test_vectorized_values(self):
        """vectorized=True makes values() one call on the whole stack."""
        calls = []

        def fun(xs):
            calls.append(xs.shape)
            return np.sum(xs**2, axis=-1)

        values = FunctionObjective(fun, vectorized=True).values(np.ones((5, 3)))

        np.testing.assert_array_equal(values, [3.0] * 5)
        assert calls == [(5, 3)]

    def test_value_is_a_python_float(self):
        """numpy scalars are converted to float."""
        value = FunctionObjective(lambda x: np.float32(1.5)).value(np.zeros(1))

        assert type(value) is float
        assert value == 1.5

    @pytest.mark.parametrize("bad", [None, 3, "f"])
    def test_fun_must_be_callable(self, bad):
        """A non-callable fun is refused, naming the argument."""
        with pytest.raises(TypeError, match="fun"):
            FunctionObjective(bad)

    def test_gradient_must_be_callable(self):
        """A non-callable gradient is refused."""
        with pytest.raises(TypeError, match="grad"):
            FunctionObjective(lambda x: 0.0, gradient=3)
