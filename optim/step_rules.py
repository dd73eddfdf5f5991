"""Step rules: turn a gradient into the displacement added to the point."""

import abc
from typing import Generic, TypeVar

import attrs

from optim import _validators
from optim._types import Array, override
from optim.evaluator import Evaluator

S = TypeVar("S")


class StepRule(abc.ABC, Generic[S]):
    """How a gradient becomes a step, with explicit, immutable state `S`.

    Rules are functional, in the manner of optax:
    [`init`][optim.step_rules.StepRule.init] makes the state for a run and
    [`update`][optim.step_rules.StepRule.update] returns the displacement and the
    *new* state, never modifying its inputs. A rule is written for minimization
    only: in ascent the optimizer hands it the gradient and value of $-f$, and
    its [`Evaluator`][optim.evaluator.Evaluator] answers in the same convention,
    so the same rule maximizes too.

    Examples:
        A rule that normalizes the gradient, written from scratch:

        >>> import numpy as np
        >>> from optim import Optimizer
        >>> from optim.problems import Sphere
        >>> class NormalizedStep(StepRule[None]):
        ...     def init(self, x0):
        ...         return None
        ...
        ...     def update(self, gradient, state, *, x, value, evaluator):
        ...         return -0.5 * gradient / np.linalg.norm(gradient), None
        >>> result = Optimizer(Sphere(), step_rule=NormalizedStep(), max_steps=2).run(
        ...     [3.0, 4.0]
        ... )
        >>> result.x
        array([2.4, 3.2])
    """

    __slots__ = ()

    @abc.abstractmethod
    def init(self, x0: Array) -> S:
        """Create the state for a run starting at `x0`.

        Args:
            x0: The starting point.

        Returns:
            The initial state (`None` for a stateless rule).
        """

    @abc.abstractmethod
    def update(
        self,
        gradient: Array,
        state: S,
        *,
        x: Array,
        value: float,
        evaluator: Evaluator,
    ) -> tuple[Array, S]:
        """Compute the displacement to add to `x`, and the next state.

        Args:
            gradient: Gradient of the function being minimized at `x` (already
                negated in ascent).
            state: The state returned by the previous call, or by `init`.
            x: The current point.
            value: The value of the function being minimized at `x`.
            evaluator: Counted access to that function at trial points, for rules
                that search along a direction.

        Returns:
            A pair `(delta, new_state)`; the optimizer sets `x = x + delta`.
        """


@attrs.frozen
class FixedStep(StepRule[None]):
    r"""The textbook's gradient method: $x \leftarrow x - \eta \nabla f(x)$.

    Too large a learning rate $\eta$ overshoots and diverges, too small a one
    barely moves: on the sphere $f(x) = \|x\|^2$ each step multiplies $x$ by
    $1 - 2\eta$, so $\eta = 0.1$ converges, $\eta = 1$ oscillates between $\pm x$,
    and $\eta > 1$ diverges.

    Examples:
        >>> import numpy as np
        >>> rule = FixedStep(learning_rate=0.1)
        >>> delta, state = rule.update(
        ...     np.array([6.0, 4.0]),
        ...     None,
        ...     x=np.array([3.0, 2.0]),
        ...     value=13.0,
        ...     evaluator=None,
        ... )
        >>> delta
        array([-0.6, -0.4])
    """

    learning_rate: float = attrs.field(validator=_validators.positive)
    """Step size $\\eta$: finite and positive."""

    @override
    def init(self, x0: Array) -> None:
        return None

    @override
    def update(
        self,
        gradient: Array,
        state: None,
        *,
        x: Array,
        value: float,
        evaluator: Evaluator,
    ) -> tuple[Array, None]:
        return -self.learning_rate * gradient, None
