"""Objectives with one method: `value_and_gradient` alone is a complete objective.

Issue "One run engine", point 8: `value` was abstract even when a subclass
defined `value_and_gradient`, so users wrote two delegating methods.
"""

import pickle

import attrs
import numpy as np
import pytest

from optim import (
    LBFGS,
    AnalyticGradient,
    CentralDifference,
    FixedStep,
    ForwardDifference,
    Objective,
    Optimizer,
    StopOnZeroGradient,
)
from optim.objective import bind_arguments, value_is_derived
from optim.problems import Sphere

CENTER = np.array([1.0, -2.0])


class PairOnly(Objective):
    """0.5 |x - c|^2 from one forward/backward pass; counts the passes."""

    def __init__(self):
        self.calls = 0

    def value_and_gradient(self, x):
        self.calls += 1
        return 0.5 * float(np.sum((x - CENTER) ** 2)), x - CENTER


@attrs.frozen
class FrozenPair(Objective):
    """The same as a frozen, slotted attrs class with a field."""

    scale: float = 1.0

    def value_and_gradient(self, x):
        return self.scale * float(np.sum(x**2)), 2.0 * self.scale * x


def test_value_and_gradient_alone_is_complete():
    objective = PairOnly()
    x = np.array([3.0, 0.0])
    assert objective.has_gradient
    assert objective.value(x) == 0.5 * (4.0 + 4.0)
    np.testing.assert_array_equal(objective.gradient(x), [2.0, 2.0])
    value, gradient = objective.value_and_gradient(x)
    assert value == 4.0
    np.testing.assert_array_equal(gradient, [2.0, 2.0])
    assert objective.calls == 3  # one pass for each of the three calls
    np.testing.assert_array_equal(objective.values(np.stack([x, CENTER])), [4.0, 0.0])


def test_a_frozen_attrs_class_with_one_method():
    objective = FrozenPair(2.0)
    assert objective.has_gradient
    assert not hasattr(objective, "__dict__")  # still slotted
    assert objective.value(np.array([1.0, 1.0])) == 4.0
    np.testing.assert_array_equal(objective.gradient(np.array([1.0, 0.0])), [4.0, 0.0])
    assert pickle.loads(pickle.dumps(objective)) == objective
    assert attrs.evolve(objective, scale=3.0).value(np.ones(1)) == 3.0


def test_lbfgs_with_analytic_gradient_calls_once_per_point():
    """Every point L-BFGS visits (iterates and Wolfe trials) costs one pass."""
    objective = PairOnly()
    optimizer = Optimizer(
        objective,
        step_rule=LBFGS(),
        estimator=AnalyticGradient(),
        callbacks=[StopOnZeroGradient(1e-10)],
    )
    result = optimizer.run(np.array([4.0, 3.0]))
    assert result.status.name == "CONVERGED"
    np.testing.assert_allclose(result.x, CENTER, atol=1e-10)
    assert objective.calls == result.evaluations == result.gradient_evaluations
    assert objective.calls >= 2


def test_fixed_steps_call_once_per_iterate():
    """f = |x - c|^2 / 2 has gradient x - c: a half step halves x - c, one pass
    per iterate (the start and five steps)."""
    objective = PairOnly()
    result = Optimizer(objective, step_rule=FixedStep(0.5), max_steps=5).run(
        CENTER + 32.0
    )
    assert objective.calls == 6 == result.evaluations == result.gradient_evaluations
    np.testing.assert_array_equal(result.x, CENTER + 1.0)  # 32 / 2**5
    np.testing.assert_array_equal(result.gradient, [1.0, 1.0])


@pytest.mark.parametrize(
    "estimator", [CentralDifference(), ForwardDifference()], ids=type
)
def test_finite_differences_use_the_derived_value(estimator):
    objective = PairOnly()
    result = Optimizer(
        objective,
        step_rule=LBFGS(),
        estimator=estimator,
        callbacks=[StopOnZeroGradient(1e-5)],
    ).run(np.array([4.0, 3.0]))
    np.testing.assert_allclose(result.x, CENTER, atol=1e-5)
    assert result.gradient_evaluations == 0
    assert objective.calls == result.evaluations


def test_default_estimator_is_analytic():
    optimizer = Optimizer(PairOnly(), step_rule=LBFGS())
    assert isinstance(optimizer.gradient_estimator, AnalyticGradient)


@pytest.mark.parametrize("frozen", [False, True], ids=["plain", "attrs"])
def test_neither_method_is_a_type_error_naming_both(frozen):
    class Neither(Objective):
        def fingerprint(self):
            return "something, but no value"

    cls = attrs.frozen(Neither) if frozen else Neither
    with pytest.raises(TypeError, match=r"Neither: .* value\(x\) or value_and_grad"):
        cls()
    with pytest.raises(TypeError, match=r"value\(x\) or value_and_gradient"):
        Objective()


def test_an_incomplete_base_can_be_completed_by_a_subclass():
    class Scaled(Objective):
        factor = 3.0

    class Complete(Scaled):
        def value_and_gradient(self, x):
            return self.factor * float(x @ x), 2.0 * self.factor * x

    with pytest.raises(TypeError, match="Scaled"):
        Scaled()
    assert Complete().value(np.array([1.0, 1.0])) == 6.0


def test_the_other_forms_are_unchanged():
    class ValueOnly(Objective):
        def value(self, x):
            return float(x @ x)

    class ValueAndGradient(Objective):
        def __init__(self):
            self.calls = []

        def value(self, x):
            self.calls.append("value")
            return float(x @ x)

        def gradient(self, x):
            self.calls.append("gradient")
            return 2.0 * x

    x = np.array([1.0, 2.0])
    assert not ValueOnly().has_gradient
    with pytest.raises(NotImplementedError, match="ValueOnly has no analytic"):
        ValueOnly().gradient(x)
    both = ValueAndGradient()
    assert both.has_gradient
    assert both.value_and_gradient(x)[0] == 5.0
    assert both.calls == ["value", "gradient"]
    with pytest.raises(TypeError, match=r"ValueOnly\(\) takes no arguments"):
        ValueOnly(1)


def test_a_value_and_the_pair_give_a_gradient():
    """value + value_and_gradient: the gradient comes from the pair."""

    class Both(Objective):
        def value(self, x):
            return -1.0  # a cheaper path (a test of which method is used)

        def value_and_gradient(self, x):
            return float(x @ x), 2.0 * x

    x = np.array([1.0, 2.0])
    assert Both().has_gradient
    assert Both().value(x) == -1.0
    np.testing.assert_array_equal(Both().gradient(x), [2.0, 4.0])


def test_the_pair_and_a_gradient_give_a_value():
    class Both(Objective):
        def gradient(self, x):
            return np.zeros_like(x)  # the user's own, kept

        def value_and_gradient(self, x):
            return float(x @ x), 2.0 * x

    x = np.array([1.0, 2.0])
    assert Both().value(x) == 5.0
    np.testing.assert_array_equal(Both().gradient(x), [0.0, 0.0])


def test_extra_arguments_reach_the_pair():
    """A minibatch (or scipy's args=) passes through the derived methods."""

    class Batched(Objective):
        def value_and_gradient(self, x, target):
            return float(np.sum((x - target) ** 2)), 2.0 * (x - target)

    bound = bind_arguments(Batched(), (np.ones(2),), {})
    x = np.zeros(2)
    assert bound.value(x) == 2.0
    np.testing.assert_array_equal(bound.gradient(x), [-2.0, -2.0])
    result = Optimizer(Batched(), step_rule=FixedStep(0.25), max_steps=1).run(
        x, args=(np.ones(2),)
    )
    np.testing.assert_array_equal(result.x, [0.5, 0.5])  # 0 - 0.25 * (-2)


def test_value_is_derived_tells_the_pair_only_form():
    assert value_is_derived(PairOnly())
    assert value_is_derived(FrozenPair())
    assert not value_is_derived(Sphere())  # defines value, gradient and the pair
