r"""Gradient transformations (clipping) and `Chain`, which puts them before a rule.

Composition follows optax's `chain`, kept small: a
[`GradientTransform`][optim.transforms.GradientTransform] maps a gradient to a
gradient (with its own functional state), and a
[`Chain`][optim.transforms.Chain] applies any number of them, in order, to the
gradient before handing the result to one final
[`StepRule`][optim.step_rules.StepRule]. The chain is itself a step rule whose
state is the tuple of its parts' states, so "clip, then Adam with a cosine
schedule" is

```python
Chain((ClipByNorm(1.0),), Adam(CosineDecay(0.1, decay_steps=100)))
```

or `chain(ClipByNorm(1.0), Adam(...))`. Only the gradient at the current point is
transformed: a line-search rule at the end of a chain still evaluates its trial
points (values and gradients) through the untransformed
[`TrialEvaluator`][optim.evaluation.TrialEvaluator].
"""

from __future__ import annotations

import abc
import math
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.evaluation import TrialEvaluator
from optim.step_rules import StepRule

__all__ = [
    "Chain",
    "ChainState",
    "ClipByNorm",
    "ClipByValue",
    "GradientTransform",
    "chain",
]

T = TypeVar("T")


class GradientTransform(abc.ABC, Generic[T]):
    """A functional map from a gradient to a gradient, with state `T`.

    Implement [`init`][optim.transforms.GradientTransform.init] and
    [`apply`][optim.transforms.GradientTransform.apply]; never modify the
    inputs.

    Examples:
        >>> import numpy as np
        >>> class Halve(GradientTransform[None]):
        ...     def init(self, x0):
        ...         return None
        ...
        ...     def apply(self, gradient, state, *, x):
        ...         return 0.5 * gradient, state
        >>> Halve().apply(np.array([2.0]), None, x=np.zeros(1))
        (array([1.]), None)
    """

    __slots__ = ()

    @abc.abstractmethod
    def init(self, x0: Array) -> T:
        """Return the state for a run from `x0`."""

    @abc.abstractmethod
    def apply(self, gradient: Array, state: T, *, x: Array) -> tuple[Array, T]:
        """Return the transformed gradient and the new state.

        Args:
            gradient: The (descent-convention) gradient at `x`.
            state: The state from `init` or the previous call.
            x: The current point.

        Returns:
            The pair `(new_gradient, new_state)`.
        """


@attrs.frozen
class ClipByValue(GradientTransform[None]):
    r"""Clip every component to $[-c, c]$: $g_i \leftarrow \min(\max(g_i, -c), c)$.

    Examples:
        >>> import numpy as np
        >>> ClipByValue(1.0).apply(np.array([3.0, -0.5, -2.0]), None, x=None)
        (array([ 1. , -0.5, -1. ]), None)
    """

    max_value: float = attrs.field(validator=_validators.positive)
    """The bound $c > 0$."""

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def apply(self, gradient: Array, state: None, *, x: Array) -> tuple[Array, None]:
        return np.clip(gradient, -self.max_value, self.max_value), None


@attrs.frozen
class ClipByNorm(GradientTransform[None]):
    r"""Rescale the gradient to Euclidean norm at most $c$.

    $g \leftarrow g \cdot \min(1, c / \|g\|_2)$: the direction is kept (optax's
    `clip_by_global_norm`, PyTorch's `clip_grad_norm_`).

    Examples:
        >>> import numpy as np
        >>> ClipByNorm(1.0).apply(np.array([3.0, 4.0]), None, x=None)
        (array([0.6, 0.8]), None)
    """

    max_norm: float = attrs.field(validator=_validators.positive)
    """The bound $c > 0$."""

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def apply(self, gradient: Array, state: None, *, x: Array) -> tuple[Array, None]:
        norm = math.sqrt(float(np.vdot(gradient, gradient)))
        if norm <= self.max_norm:
            return gradient, None
        return gradient * (self.max_norm / norm), None


@attrs.frozen
class ChainState:
    """State of [`Chain`][optim.transforms.Chain].

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep
        >>> Chain((ClipByNorm(1.0),), FixedStep(0.1)).init(np.zeros(1))
        ChainState(transforms=(None,), rule=0)
    """

    transforms: tuple[Any, ...]
    """The transformations' states, in order."""

    rule: Any
    """The final rule's state."""


def _to_transforms(transforms: Any) -> tuple[GradientTransform[Any], ...]:
    result = tuple(transforms)
    for transform in result:
        if not isinstance(transform, GradientTransform):
            raise TypeError(
                f"transforms must be GradientTransform instances, got {transform!r}"
            )
    return result


def _is_rule(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, StepRule):
        raise TypeError(f"{attribute.name} must be a StepRule, got {value!r}")


@attrs.frozen
class Chain(StepRule[ChainState]):
    """Transform the gradient in order, then apply a step rule.

    `Chain((t1, t2), rule)` hands `rule` the gradient `t2(t1(g))`; the point and
    value passed to the rule are unchanged.

    Examples:
        Clip, then Adam with a cosine schedule:

        >>> import numpy as np
        >>> from optim import Adam, Optimizer
        >>> from optim.problems import Sphere
        >>> from optim.schedules import CosineDecay
        >>> rule = Chain((ClipByNorm(1.0),), Adam(CosineDecay(0.5, decay_steps=200)))
        >>> result = Optimizer(Sphere(), step_rule=rule, max_steps=200).run([-3.0, 4.0])
        >>> bool(result.value < 1e-4)
        True
    """

    transforms: tuple[GradientTransform[Any], ...] = attrs.field(
        converter=_to_transforms
    )
    """Gradient transformations, applied first to last."""

    rule: StepRule[Any] = attrs.field(validator=_is_rule)
    """The step rule that receives the transformed gradient."""

    @override
    def init(self, x0: Array) -> ChainState:
        return ChainState(
            tuple(transform.init(x0) for transform in self.transforms),
            self.rule.init(x0),
        )

    @override
    def update(
        self,
        gradient: Array,
        state: ChainState,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, ChainState]:
        states = []
        for transform, transform_state in zip(
            self.transforms, state.transforms, strict=True
        ):
            gradient, new_state = transform.apply(gradient, transform_state, x=x)
            states.append(new_state)
        delta, rule_state = self.rule.update(
            gradient, state.rule, x=x, value=value, evaluator=evaluator
        )
        return delta, ChainState(tuple(states), rule_state)


def chain(*parts: GradientTransform[Any] | StepRule[Any]) -> Chain:
    """Build a [`Chain`][optim.transforms.Chain] from transformations and a final rule.

    Args:
        *parts: Zero or more gradient transformations followed by one step rule.

    Returns:
        The chain.

    Raises:
        TypeError: If the last part is not a step rule or an earlier one is not a
            gradient transformation.

    Examples:
        >>> from optim import Momentum
        >>> chain(ClipByValue(1.0), Momentum(0.1)).rule
        Momentum(learning_rate=0.1, beta=0.9)
    """
    if not parts or not isinstance(parts[-1], StepRule):
        raise TypeError("chain(...) needs a StepRule as its last part")
    return Chain(parts[:-1], parts[-1])
