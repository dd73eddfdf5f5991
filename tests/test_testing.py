import itertools

import attrs
import numpy as np
import pytest

from optim import FixedStep, Momentum, StepRule
from optim.problems import Quadratic, Sphere
from optim.testing import (
    Negated,
    check_ascent_mirrors_descent,
    check_convergence,
    check_descent_and_ascent,
    check_invalid_hyperparameters,
    check_step_rule,
    check_update_is_pure,
    same,
)


@attrs.frozen
class MutatesGradient(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        gradient *= 0.1
        return -gradient, None


@attrs.frozen
class MutatesState(StepRule[dict]):
    def init(self, x0):
        return {"v": np.zeros_like(x0)}

    def update(self, gradient, state, *, x, value, evaluator):
        state["v"] += gradient
        return -0.1 * state["v"], state


@attrs.define
class HiddenState(StepRule[None]):
    calls: int = 0

    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        self.calls += 1
        return -0.1 * self.calls * gradient, None


@attrs.frozen
class AlwaysUp(StepRule[None]):
    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return 0.1 * gradient, None


_RUNS = itertools.count()


@attrs.frozen
class RemembersRuns(StepRule[int]):
    """Its step size depends on how many runs started before: global state."""

    def init(self, x0):
        return next(_RUNS)

    def update(self, gradient, state, *, x, value, evaluator):
        return -0.1 / (1 + state) * gradient, state


@attrs.frozen
class Unvalidated(StepRule[None]):
    learning_rate: float = 0.1

    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return -self.learning_rate * gradient, None


@attrs.frozen
class BadMessage(StepRule[None]):
    learning_rate: float = attrs.field(default=0.1)

    @learning_rate.validator
    def _check(self, attribute, value):
        if not value > 0:
            raise ValueError("must be positive")

    def init(self, x0):
        return None

    def update(self, gradient, state, *, x, value, evaluator):
        return -self.learning_rate * gradient, None


def test_detects_gradient_mutation():
    """A rule writing into the gradient fails the purity check."""
    with pytest.raises(AssertionError, match="modified gradient"):
        check_update_is_pure(MutatesGradient())


def test_detects_state_mutation():
    """A rule updating its state in place fails the purity check."""
    with pytest.raises(AssertionError, match="modified state"):
        check_update_is_pure(MutatesState())


def test_detects_hidden_state():
    """A rule whose output depends on hidden attributes fails."""
    with pytest.raises(AssertionError, match="different displacements"):
        check_update_is_pure(HiddenState())


def test_detects_wrong_direction():
    """A rule that climbs in descent fails the descent check."""
    with pytest.raises(AssertionError, match="did not lower"):
        check_descent_and_ascent(AlwaysUp())


def test_detects_broken_sign_symmetry():
    """A rule with hidden global state does not mirror between the two runs."""
    with pytest.raises(AssertionError, match="differ"):
        check_ascent_mirrors_descent(RemembersRuns())


def test_detects_non_convergence():
    """A too-small step does not converge in the budget."""
    with pytest.raises(AssertionError, match="optimality gap"):
        check_convergence(FixedStep(1e-4), Sphere(), max_steps=100)


def test_convergence_needs_known_minimum():
    """Problems without a known minimum are refused."""
    from optim.problems import LogisticRegression

    problem = LogisticRegression([[1.0], [-1.0]], [0, 1])
    with pytest.raises(ValueError, match="minimum"):
        check_convergence(FixedStep(0.1), problem)


def test_detects_missing_validation():
    """Accepting learning_rate=0 fails the hyperparameter check."""
    with pytest.raises(AssertionError, match="was accepted"):
        check_invalid_hyperparameters(Unvalidated())


def test_detects_error_not_naming_field():
    """An error message that does not name the field fails the check."""
    with pytest.raises(AssertionError, match="does not name"):
        check_invalid_hyperparameters(BadMessage())


def test_invalid_hyperparameter_count_and_extras():
    """The check counts values tried and accepts extra entries."""
    assert check_invalid_hyperparameters(Momentum(0.1)) == 8
    assert check_invalid_hyperparameters(Momentum(0.1), {"beta": [2.0]}) == 7


def test_good_rule_passes_everything():
    """A correct rule passes the whole check, with custom problems too."""
    check_step_rule(Momentum(0.05), problems=(Quadratic(3, condition_number=5.0),))


def test_negated_objective():
    """Negated flips value, gradient and values."""
    negated = Negated(Sphere())
    x = np.array([1.0, 2.0])
    assert negated.value(x) == -5.0
    np.testing.assert_array_equal(negated.gradient(x), [-2.0, -4.0])
    np.testing.assert_array_equal(negated.values(np.stack([x, x])), [-5.0, -5.0])
    assert negated.has_gradient


def test_same_compares_nested_states():
    """same() compares arrays, attrs records and containers structurally."""
    from optim.step_rules import LearningRateRuleState, MomentumState

    a = LearningRateRuleState(direction_state=MomentumState(np.array([1.0, np.nan])))
    assert same(
        a, LearningRateRuleState(direction_state=MomentumState(np.array([1.0, np.nan])))
    )
    assert not same(
        a, LearningRateRuleState(direction_state=MomentumState(np.array([1.0, 2.0])))
    )
    assert not same(a, attrs.evolve(a, step=1))
    assert not same((1, np.ones(2)), [1, np.ones(2)])
    assert same({"a": (np.zeros(1),)}, {"a": (np.zeros(1),)})


def test_check_step_rule_custom_convex_problem():
    """A large fixed step fails the default quadratic but passes on a flatter one."""
    rule = FixedStep(0.25)
    with pytest.raises(AssertionError, match="did not lower"):
        check_step_rule(rule, problems=())
    check_step_rule(
        rule, problems=(Sphere(),), convex=Quadratic(4, condition_number=2.0)
    )
