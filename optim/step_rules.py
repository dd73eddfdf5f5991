"""Step rules: turn a gradient into the displacement added to the point."""

import abc
import sys
from collections.abc import MutableMapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import cast_like, full_for
from optim._references import ONE_ATTRIBUTE as _SLOT
from optim._types import Array, override
from optim.evaluation import TrialEvaluator
from optim.schedules import LearningRate, learning_rate_at, validate_learning_rate

_array_eq = attrs.cmp_using(eq=np.array_equal)

S = TypeVar("S")


class StepRule(abc.ABC, Generic[S]):
    """How a gradient becomes a step, with explicit, immutable state `S`.

    Rules are functional, in the manner of optax:
    [`init`][optim.step_rules.StepRule.init] makes the state for a run and
    [`update`][optim.step_rules.StepRule.update] returns the displacement and the
    *new* state, never modifying its inputs. A rule is written for minimization
    only: in ascent the optimizer hands it the gradient and value of $-f$, and
    its [`TrialEvaluator`][optim.evaluation.TrialEvaluator] answers in the same
    convention, so the same rule maximizes too.

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
        evaluator: TrialEvaluator,
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
                `delta` is an array shaped like `x`, of `x`'s dtype (another
                float dtype is cast); for a 0-d `x` the numpy float that 0-d
                arithmetic gives (`-0.1 * gradient`) is accepted as well.
        """

    @property
    def evaluates_trial_points(self) -> bool:
        """Whether `update` evaluates trial points through its evaluator.

        True for line-search rules. A [`Chain`][optim.transforms.Chain] refuses
        gradient transforms before such a rule: its search compares values and
        gradients at trial points, which the transforms never see. The default
        is `False`.
        """
        return False


@attrs.frozen(kw_only=True)
class LearningRateRuleState(Generic[S]):
    """State of a [`LearningRateRule`][optim.step_rules.LearningRateRule].

    Examples:
        >>> import numpy as np
        >>> state = Momentum(0.1).init(np.zeros(2))
        >>> state.direction_state, state.step
        (MomentumState(velocity=array([0., 0.])), 0)
    """

    direction_state: S
    """The rule's own state (for example its velocity or moments)."""

    step: int = 0
    """Updates applied so far: the $t$ at which the learning rate is looked up."""


class LearningRateRule(StepRule[LearningRateRuleState[S]]):
    r"""A rule that steps $\Delta_t = -\eta_t d_t$: the one learning-rate path.

    A subclass computes only its *unscaled* direction $d_t$ and its own state
    ([`init_direction`][optim.step_rules.LearningRateRule.init_direction],
    [`direction`][optim.step_rules.LearningRateRule.direction]); this base looks
    up the rate $\eta_t$ of its `learning_rate` (a float or a
    [`Schedule`][optim.schedules.Schedule]) at the number $t$ of updates applied so
    far, keeps that one counter in
    [`LearningRateRuleState`][optim.step_rules.LearningRateRuleState] and scales
    the direction: optax's `chain(scale_by_..., scale_by_learning_rate(...))`,
    written once. Validate the field with
    [`validate_learning_rate`][optim.schedules.validate_learning_rate].

    Examples:
        Sign descent, $d_t = \operatorname{sign}(g_t)$, with a halving rate:

        >>> import attrs
        >>> import numpy as np
        >>> from optim.schedules import ExponentialDecay
        >>> @attrs.frozen
        ... class SignDescent(LearningRateRule[None]):
        ...     learning_rate: LearningRate
        ...
        ...     def init_direction(self, x0):
        ...         return None
        ...
        ...     def direction(self, gradient, state, *, x):
        ...         return np.sign(gradient), None
        >>> rule = SignDescent(ExponentialDecay(1.0, 0.5))
        >>> state = rule.init(np.zeros(2))
        >>> for _ in range(2):
        ...     delta, state = rule.update(
        ...         np.array([3.0, -0.1]), state, x=None, value=0.0, evaluator=None
        ...     )
        >>> delta, state.step
        (array([-0.5,  0.5]), 2)
    """

    __slots__ = ()

    learning_rate: LearningRate
    r"""Step size $\eta$: a positive float or a schedule of the update count."""

    @abc.abstractmethod
    def init_direction(self, x0: Array) -> S:
        """Create the rule's own state for a run from `x0`.

        Args:
            x0: The starting point.

        Returns:
            The state of the direction (`None` if it keeps none).
        """

    @abc.abstractmethod
    def direction(self, gradient: Array, state: S, *, x: Array) -> tuple[Array, S]:
        r"""Compute the unscaled direction $d_t$ (the step is $-\eta_t d_t$).

        Args:
            gradient: The gradient at `x` (descent convention).
            state: The rule's own state, from `init_direction` or the last call.
            x: The current point.

        Returns:
            The pair `(direction, new_state)`; never modifies its inputs.
        """

    @override
    def init(self, x0: Array) -> LearningRateRuleState[S]:
        return LearningRateRuleState(direction_state=self.init_direction(x0))

    @override
    def update(
        self,
        gradient: Array,
        state: LearningRateRuleState[S] | None,
        *,
        x: Array,
        value: float,
        evaluator: TrialEvaluator,
    ) -> tuple[Array, LearningRateRuleState[S]]:
        """Scale the rule's direction by minus the learning rate at this step.

        Args:
            gradient: The gradient at `x` (descent convention).
            state: The state from `init` or the previous call; `None` counts as
                a fresh state.
            x: The current point.
            value: The value at `x` (unused).
            evaluator: Counted trial evaluations (unused).

        Returns:
            The pair `(delta, new_state)` with `delta = -rate * direction`.
        """
        if state is None:
            state = self.init(x)
        rate = learning_rate_at(self.learning_rate, state.step)
        direction, direction_state = self.direction(
            gradient, state.direction_state, x=x
        )
        new_state = LearningRateRuleState(
            direction_state=direction_state, step=state.step + 1
        )
        return -rate * direction, new_state

    def _update_into(
        self,
        out: Array,
        gradient: Array,
        state: LearningRateRuleState[S] | None,
        retired: LearningRateRuleState[S] | None,
        x: Array,
        scratch: MutableMapping[str, Any],
    ) -> LearningRateRuleState[S]:
        """`update` for the engine: the step written into `out`, no new n-vectors.

        The same arithmetic as [`update`][optim.step_rules.LearningRateRule.update]
        (the same bits), with the step written into `out` (the run's buffer) and
        the new state's arrays written into those of `retired`, a state of two
        steps ago that the run no longer needs, wherever nothing else refers to
        them (a callback may keep any state it was shown). `scratch` holds the
        run's temporary arrays and constants (see `_scalars`). `state` itself is
        never modified.
        """
        if state is None:
            state = self.init(x)
        rate = self.learning_rate
        if type(rate) is not float:
            rate = learning_rate_at(rate, state.step)
        spare = None
        if (
            retired is not None
            and retired.direction_state is not None  # (FixedStep keeps none)
            and sys.getrefcount(retired.direction_state) == _SLOT
            and type(retired.direction_state) is type(state.direction_state)
        ):
            spare = retired.direction_state
        held = scratch.get("rate")  # (rate, -rate as a 0-d array): see `_scalars`
        if held is None or held[0] != rate:
            held = scratch["rate"] = (rate, *_scalars(scratch, "-rate", out, (-rate,)))
        minus_rate = held[1]
        direction_state = self._step_into(
            out, gradient, state.direction_state, spare, x, minus_rate, scratch
        )
        if type(retired) is LearningRateRuleState:
            # The retired state itself is free too (the engine checked that
            # nothing refers to it): the new state in its place, no new object.
            _set(retired, "direction_state", direction_state)
            _set(retired, "step", state.step + 1)
            return retired
        return LearningRateRuleState(
            direction_state=direction_state, step=state.step + 1
        )

    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: S,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> S:
        r"""Write `minus_rate * direction` into `out`; return the new direction state.

        `minus_rate` is $-\eta_t$ as a 0-d array of `out`'s dtype (see `_scalars`).
        """
        direction, direction_state = self.direction(gradient, state, x=x)
        np.multiply(direction, minus_rate, out)
        return direction_state


_set = object.__setattr__  # writes into a retired (frozen) state; see _update_into


def _take(holder: object, name: str, like: Array) -> Array:
    """`holder.name` to overwrite, if nothing else refers to it; else a new array.

    `holder` is a retired state of the same class (or `None`): its arrays are
    reused only where the reference count says that it alone holds them (a
    callback or a later state that kept one keeps it intact).
    """
    if holder is not None and sys.getrefcount(getattr(holder, name)) == _SLOT:
        array: Array = getattr(holder, name)
        if array.shape == like.shape and array.dtype == like.dtype:
            return array
    return np.empty_like(like)


def _scratch(scratch: MutableMapping[str, Any], key: str, like: Array) -> Array:
    """The run's temporary array `key`, shaped like `like` (made once per run)."""
    array = scratch.get(key)
    if array is None or array.shape != like.shape or array.dtype != like.dtype:
        array = scratch[key] = np.empty_like(like)
    return array


def _scalars(
    scratch: MutableMapping[str, Any], key: str, like: Array, values: tuple[float, ...]
) -> tuple[Array, ...]:
    """`values` as 0-d arrays of `like`'s dtype, kept in the run's scratch as `key`.

    A ufunc takes a 0-d array operand in about two thirds of the time it takes a
    Python float (no conversion per call: at small n that is a third of each
    operation), with the same bits: a Python float operand is cast to the
    array's dtype too (NEP 50; value-based casting before numpy 2). Made once
    per run (a run's scratch serves one rule, one shape and one dtype), refilled
    in place when the values change (a schedule's rate).
    """
    entry = scratch.get(key)
    if entry is not None and entry[0] == values:
        arrays: tuple[Array, ...] = entry[1]
        return arrays
    if entry is not None and len(entry[0]) == len(values):
        arrays = entry[1]
        for array, value in zip(arrays, values, strict=True):
            array[()] = value
    else:
        arrays = tuple(np.array(value, dtype=like.dtype) for value in values)
    scratch[key] = (values, arrays)
    return arrays


def _coupled_into(
    gradient: Array, x: Array, weight_decay: float, scratch: MutableMapping[str, Any]
) -> Array:
    """[`_coupled`][optim.step_rules._coupled] in a scratch array."""
    if weight_decay == 0.0:
        return gradient
    coupled = _scratch(scratch, "coupled", gradient)
    np.multiply(np.asarray(x, dtype=coupled.dtype), weight_decay, coupled)
    return np.add(gradient, coupled, out=coupled)


@attrs.frozen(repr=False)
class FixedStep(LearningRateRule[None]):
    r"""The textbook's gradient method: $x \leftarrow x - \eta_t \nabla f(x)$.

    Too large a learning rate $\eta$ overshoots and diverges, too small a one
    barely moves: on the sphere $f(x) = \|x\|^2$ each step multiplies $x$ by
    $1 - 2\eta$, so $\eta = 0.1$ converges, $\eta = 1$ oscillates between $\pm x$,
    and $\eta > 1$ diverges. The learning rate may be a
    [`Schedule`][optim.schedules.Schedule]; the direction is the gradient itself
    and keeps no state.

    This is optax's `sgd(learning_rate)` and `torch.optim.SGD(lr)`. With
    `weight_decay` $\lambda$ the gradient is first replaced by
    $g_t + \lambda x$: torch's `SGD(lr, weight_decay=wd)` (coupled L2), optax's
    `chain(add_decayed_weights(wd), sgd(lr))`, and optim's
    `chain(AddDecayedWeights(wd), FixedStep(lr))` or `Momentum(lr, beta=0.0,
    weight_decay=wd)`, to rounding. It is not decoupled decay (`AdamW`'s).

    Examples:
        >>> import numpy as np
        >>> rule = FixedStep(learning_rate=0.1)
        >>> delta, state = rule.update(
        ...     np.array([6.0, 4.0]),
        ...     rule.init(np.zeros(2)),
        ...     x=np.array([3.0, 2.0]),
        ...     value=13.0,
        ...     evaluator=None,
        ... )
        >>> delta, state.step
        (array([-0.6, -0.4]), 1)

        torch's `SGD(lr=0.1, weight_decay=0.5)`:

        >>> FixedStep(0.1, weight_decay=0.5).update(
        ...     np.array([6.0, 4.0]),
        ...     None,
        ...     x=np.array([3.0, 2.0]),
        ...     value=13.0,
        ...     evaluator=None,
        ... )[0]
        array([-0.75, -0.5 ])
    """

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$: finite and positive, or a schedule."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Coupled L2 decay $\lambda \ge 0$: the gradient becomes $g_t + \lambda x$."""

    @override
    def init_direction(self, x0: Array) -> None:
        return None

    @override
    def direction(
        self, gradient: Array, state: None, *, x: Array
    ) -> tuple[Array, None]:
        return _coupled(gradient, x, self.weight_decay), None

    def __repr__(self) -> str:
        # `weight_decay` is shown only when set: `FixedStep(learning_rate=0.1)`
        # reads as it did before the field existed.
        decay = f", weight_decay={self.weight_decay!r}" if self.weight_decay else ""
        return f"FixedStep(learning_rate={self.learning_rate!r}{decay})"

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: None,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> None:
        if self.weight_decay:
            gradient = _coupled_into(gradient, x, self.weight_decay, scratch)
        np.multiply(gradient, minus_rate, out)


@attrs.frozen
class MomentumState:
    """The velocity of [`Momentum`][optim.step_rules.Momentum] and `Nesterov`.

    Examples:
        >>> import numpy as np
        >>> Momentum(0.1).init_direction(np.zeros(2))
        MomentumState(velocity=array([0., 0.]))
    """

    velocity: Array = attrs.field(eq=_array_eq)
    """The velocity $v_t$ (a decayed sum of past gradients)."""


@attrs.frozen
class DampenedMomentumState:
    """The velocity of a [`Momentum`][optim.step_rules.Momentum] with dampening.

    Examples:
        >>> import numpy as np
        >>> Momentum(0.1, dampening=0.5).init_direction(np.zeros(1))
        DampenedMomentumState(velocity=array([0.]), started=False)
    """

    velocity: Array = attrs.field(eq=_array_eq)
    """The velocity $v_t$."""

    started: bool = False
    """Whether a gradient has been taken in (PyTorch's first step is undampened)."""


def _coupled(gradient: Array, x: Array, weight_decay: float) -> Array:
    r"""Coupled decay: $g + \lambda x$, the gradient of $f + \lambda \|x\|^2 / 2$."""
    if weight_decay == 0.0:
        return gradient
    coupled: Array = gradient + weight_decay * cast_like(x, gradient)
    return coupled


def _momentum_direction(
    gradient: Array, state: MomentumState, *, beta: float, nesterov: bool
) -> tuple[Array, MomentumState]:
    r"""The heavy-ball direction $v_t$, or Nesterov's $g_t + \beta v_t$."""
    velocity = beta * state.velocity + gradient
    direction = gradient + beta * velocity if nesterov else velocity
    return direction, MomentumState(velocity)


def _zeros_like(x0: Array) -> Array:
    """Zeros shaped like `x0`, in the run's dtype (float32 or float64)."""
    zeros: Array = full_for(x0)
    return zeros


@attrs.frozen
class _HeavyBall(LearningRateRule[Any]):
    """What `Momentum` and `Nesterov` share: fields, state and update."""

    _nesterov: ClassVar[bool]

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$, positive, or a schedule."""

    beta: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Momentum decay $\beta$ in $[0, 1)$; $0$ is plain gradient descent."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Coupled L2 decay $\lambda \ge 0$: the gradient becomes $g_t + \lambda x$."""

    @override
    def init_direction(self, x0: Array) -> MomentumState | DampenedMomentumState:
        return MomentumState(velocity=_zeros_like(x0))

    @override
    def direction(
        self, gradient: Array, state: Any, *, x: Array
    ) -> tuple[Array, MomentumState | DampenedMomentumState]:
        return _momentum_direction(
            _coupled(gradient, x, self.weight_decay),
            state,
            beta=self.beta,
            nesterov=self._nesterov,
        )

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: Any,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> Any:
        if not isinstance(state, MomentumState):  # dampened: no buffers
            return super()._step_into(
                out, gradient, state, spare, x, minus_rate, scratch
            )
        gradient = _coupled_into(gradient, x, self.weight_decay, scratch)
        (beta,) = _scalars(scratch, "beta", out, (self.beta,))
        velocity = _take(spare, "velocity", state.velocity)
        np.multiply(state.velocity, beta, velocity)
        np.add(velocity, gradient, velocity)
        if self._nesterov:  # g + beta * v
            np.multiply(velocity, beta, out)
            np.add(gradient, out, out)
            np.multiply(out, minus_rate, out)
        else:
            np.multiply(velocity, minus_rate, out)
        return MomentumState(velocity)


@attrs.frozen
class Momentum(_HeavyBall):
    r"""Heavy-ball momentum (Polyak 1964) in PyTorch's form.

    $$v_t = \beta v_{t-1} + g_t, \qquad \Delta_t = -\eta_t v_t, \qquad v_0 = 0.$$

    This is `torch.optim.SGD(momentum=beta)` and optax's `sgd(...,
    momentum=beta)`: the learning rate multiplies the velocity, so changing it
    mid-run (a schedule) rescales the whole step at once (optax's
    `trace(decay=beta)` then `scale_by_learning_rate`).

    With `weight_decay` $\lambda$ the gradient is first replaced by
    $g_t + \lambda x$ (torch's `SGD(weight_decay=...)`, coupled L2). With
    `dampening` $d$ the velocity is $v_t = \beta v_{t-1} + (1 - d) g_t$ from the
    second step on and $v_1 = g_1$, exactly torch's `SGD(dampening=d)` (optax
    has no dampening). The state is then a
    [`DampenedMomentumState`][optim.step_rules.DampenedMomentumState], which
    remembers whether the first step was taken.

    References:
        Polyak, "Some methods of speeding up the convergence of iteration
        methods", USSR Comp. Math. and Math. Physics 4(5), 1964.

    Examples:
        >>> import numpy as np
        >>> rule = Momentum(learning_rate=0.1, beta=0.5)
        >>> state = rule.init(np.zeros(1))
        >>> g = np.array([1.0])
        >>> delta, state = rule.update(g, state, x=None, value=0.0, evaluator=None)
        >>> delta, state.direction_state.velocity
        (array([-0.1]), array([1.]))
        >>> delta, state = rule.update(g, state, x=None, value=0.0, evaluator=None)
        >>> delta
        array([-0.15])
    """

    _nesterov: ClassVar[bool] = False

    dampening: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.unit_interval
    )
    r"""PyTorch's dampening $d \in [0, 1)$ of the gradient in the velocity."""

    @override
    def init_direction(self, x0: Array) -> MomentumState | DampenedMomentumState:
        if self.dampening == 0.0:
            return MomentumState(velocity=_zeros_like(x0))
        return DampenedMomentumState(velocity=_zeros_like(x0))

    @override
    def direction(
        self, gradient: Array, state: Any, *, x: Array
    ) -> tuple[Array, MomentumState | DampenedMomentumState]:
        if not isinstance(state, DampenedMomentumState):
            return super().direction(gradient, state, x=x)
        gradient = _coupled(gradient, x, self.weight_decay)
        if state.started:
            velocity = self.beta * state.velocity + (1.0 - self.dampening) * gradient
        else:
            velocity = cast_like(gradient, state.velocity, copy=True)
        return velocity, DampenedMomentumState(velocity=velocity, started=True)


@attrs.frozen
class Nesterov(_HeavyBall):
    r"""Nesterov's accelerated gradient in the Sutskever et al. (2013) / PyTorch form.

    $$v_t = \beta v_{t-1} + g_t, \qquad
    \Delta_t = -\eta_t (g_t + \beta v_t), \qquad v_0 = 0.$$

    This is `torch.optim.SGD(momentum=beta, nesterov=True)` (and optax's
    `sgd(..., nesterov=True)`): the look-ahead gradient of Sutskever et al.'s
    formulation, rewritten so that the gradient is taken at the current point
    rather than at $x + \beta v$. It shares its velocity update with
    [`Momentum`][optim.step_rules.Momentum] (and its state,
    [`MomentumState`][optim.step_rules.MomentumState]) but is not a subclass of it.
    `weight_decay` $\lambda$ replaces $g_t$ by $g_t + \lambda x$ first (torch's
    coupled `weight_decay`); torch refuses dampening with Nesterov, and so
    there is none here.

    References:
        Nesterov, "A method for solving the convex programming problem with
        convergence rate $O(1/k^2)$", Soviet Math. Dokl. 27, 1983.
        Sutskever, Martens, Dahl & Hinton, "On the importance of initialization
        and momentum in deep learning", ICML 2013.

    Examples:
        >>> import numpy as np
        >>> rule = Nesterov(learning_rate=0.1, beta=0.5)
        >>> state = rule.init(np.zeros(1))
        >>> delta, state = rule.update(
        ...     np.array([1.0]), state, x=None, value=0.0, evaluator=None
        ... )
        >>> delta
        array([-0.15])
    """

    _nesterov: ClassVar[bool] = True


@attrs.frozen
class AdaGradState:
    """State of [`AdaGrad`][optim.step_rules.AdaGrad].

    Examples:
        >>> import numpy as np
        >>> AdaGrad(0.1, initial_accumulator=0.5).init_direction(np.zeros(2))
        AdaGradState(sum_of_squares=array([0.5, 0.5]))
    """

    sum_of_squares: Array = attrs.field(eq=_array_eq)
    """The running sum $G_t$ of squared gradients."""


def _guarded_ratio(numerator: Array, denominator: Array) -> Array:
    """`numerator / denominator`, and 0 where the denominator is 0 (optax's guard)."""
    xp = backend.namespace_of(numerator)
    if xp is np:
        out = np.zeros(
            np.shape(numerator), dtype=np.result_type(numerator, denominator)
        )
        return np.divide(numerator, denominator, out=out, where=denominator > 0)
    positive = denominator > 0
    ratio: Array = xp.where(
        positive, numerator / xp.where(positive, denominator, 1.0), 0.0
    )
    return ratio


@attrs.frozen
class AdaGrad(LearningRateRule[AdaGradState]):
    r"""AdaGrad: per-coordinate rates shrinking with the accumulated squared gradient.

    $$G_t = G_{t-1} + g_t^2, \qquad
    \Delta_t = -\eta_t \frac{g_t}{\sqrt{G_t} + \epsilon},
    \qquad G_0 = G_{\text{init}}$$

    (elementwise), with $\epsilon$ outside the square root as in PyTorch's
    `Adagrad` (Duchi et al. use $\delta I + \operatorname{diag}(G_t)^{1/2}$,
    the same thing). With `eps_in_sqrt=True` the denominator is
    $\sqrt{G_t + \epsilon}$ instead. With `weight_decay` $\lambda$ the gradient
    is first replaced by $g_t + \lambda x$ (torch's `Adagrad(weight_decay=...)`).

    A coordinate whose sum $G_t$ is still $0$ (its gradient has always been 0)
    gets a zero step, even with `eps=0`, where $0/0$ would be NaN (optax guards
    it the same way; torch returns NaN).

    Peers:
        - PyTorch: `torch.optim.Adagrad(lr, eps=1e-10, initial_accumulator_value=0)`
          is `AdaGrad(lr)` (the defaults agree; torch's `lr_decay` is
          `learning_rate=InverseTimeDecay(lr, lr_decay)`).
        - optax: `optax.adagrad(lr)` defaults to `initial_accumulator_value=0.1`
          and `eps=1e-7` *inside* the root: it is
          `AdaGrad(lr, initial_accumulator=0.1, eps=1e-7, eps_in_sqrt=True)`.

    References:
        Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning
        and stochastic optimization", JMLR 12, 2011.

    Examples:
        >>> import numpy as np
        >>> rule = AdaGrad(learning_rate=0.5)
        >>> delta, _ = rule.update(
        ...     np.array([3.0, -4.0]),
        ...     rule.init(np.zeros(2)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)
        array([-0.5,  0.5])
    """

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$, positive, or a schedule."""

    eps: float = attrs.field(
        default=1e-10, kw_only=True, validator=_validators.non_negative
    )
    r"""$\epsilon \ge 0$ added to the root (or under it, with `eps_in_sqrt`)."""

    initial_accumulator: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Starting value $G_{\text{init}}$ of every coordinate's sum."""

    eps_in_sqrt: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    r"""Whether $\epsilon$ goes under the root, $\sqrt{G_t + \epsilon}$ (optax)."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Coupled L2 decay $\lambda \ge 0$: the gradient becomes $g_t + \lambda x$."""

    @override
    def init_direction(self, x0: Array) -> AdaGradState:
        return AdaGradState(full_for(x0, float(self.initial_accumulator)))

    @override
    def direction(
        self, gradient: Array, state: AdaGradState, *, x: Array
    ) -> tuple[Array, AdaGradState]:
        gradient = _coupled(gradient, x, self.weight_decay)
        total = state.sum_of_squares + gradient**2
        xp = backend.namespace_of(total)
        if self.eps_in_sqrt:
            denominator = xp.sqrt(total + self.eps)
        else:
            denominator = xp.sqrt(total) + self.eps
        # where G_t = 0 the gradient is 0 too: a zero step, never 0/0
        denominator = xp.where(total > 0, denominator, 0.0)
        return _guarded_ratio(gradient, denominator), AdaGradState(total)

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: AdaGradState,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> AdaGradState:
        gradient = _coupled_into(gradient, x, self.weight_decay, scratch)
        total = _take(spare, "sum_of_squares", state.sum_of_squares)
        np.square(gradient, total)  # gradient**2
        np.add(state.sum_of_squares, total, total)
        if self.eps_in_sqrt:
            np.add(total, self.eps, out)
            np.sqrt(out, out)
        else:
            np.sqrt(total, out)
            np.add(out, self.eps, out)
        # The ratio where G_t > 0 and the denominator > 0, else 0 (as `direction`).
        positive = _scratch(scratch, "positive", np.empty(out.shape, dtype=bool))
        other = _scratch(scratch, "other", positive)
        np.greater(total, 0.0, positive)
        np.greater(out, 0.0, other)
        np.logical_and(positive, other, positive)
        np.divide(gradient, out, out=out, where=positive)  # type: ignore[arg-type]
        np.logical_not(positive, positive)
        np.copyto(out, 0.0, where=positive)
        np.multiply(out, minus_rate, out)
        return AdaGradState(total)


@attrs.frozen
class RMSPropState:
    """State of [`RMSProp`][optim.step_rules.RMSProp].

    Examples:
        >>> import numpy as np
        >>> RMSProp(0.1).init_direction(np.zeros(1))
        RMSPropState(mean_square=array([0.]), mean=array([0.]), velocity=array([0.]))
    """

    mean_square: Array = attrs.field(eq=_array_eq)
    """The decayed average $s_t$ of squared gradients."""

    mean: Array = attrs.field(eq=_array_eq)
    """The decayed average $m_t$ of gradients (used when centered)."""

    velocity: Array = attrs.field(eq=_array_eq)
    """The momentum buffer $b_t$ (used when `momentum > 0`)."""


@attrs.frozen
class RMSProp(LearningRateRule[RMSPropState]):
    r"""RMSProp (Tieleman & Hinton 2012), optionally centered (Graves 2013).

    $$s_t = \beta s_{t-1} + (1 - \beta) g_t^2, \qquad
    u_t = \frac{g_t}{\sqrt{s_t} + \epsilon}, \qquad \Delta_t = -\eta_t u_t,$$

    with $s_0 = 0$ and no bias correction. Options:

    - `centered=True`: with $m_t = \beta m_{t-1} + (1 - \beta) g_t$, $s_t$ in the
      denominator becomes $\max(s_t - m_t^2, 0)$ (an estimate of the gradient's
      variance; it is $\ge 0$ in exact arithmetic, and the clamp at $0$ only
      removes a rounding error that would make the root NaN; torch and optax do
      not clamp).
    - `eps_in_sqrt=True`: the denominator is $\sqrt{s_t + \epsilon}$ (optax's
      default) instead of $\sqrt{s_t} + \epsilon$ (torch's).
    - `momentum` $\mu > 0$: $b_t = \mu b_{t-1} + u_t$ and
      $\Delta_t = -\eta_t b_t$ (torch's `RMSprop(momentum=...)`).
    - `weight_decay` $\lambda$: $g_t$ is first replaced by $g_t + \lambda x$
      (torch's coupled `weight_decay`).

    Defaults: $\beta = 0.9$, $\epsilon = 10^{-8}$ outside the root. Neither peer
    has exactly these defaults:

    - PyTorch: `torch.optim.RMSprop(lr)` has `alpha=0.99`, `eps=1e-8` outside the
      root: it is `RMSProp(lr, beta=0.99)`. torch's `alpha` is this `beta`.
    - optax: `optax.rmsprop(lr)` has `decay=0.9`, `eps=1e-8` *inside* the root
      (`eps_in_sqrt=True`): it is `RMSProp(lr, eps_in_sqrt=True)`. optax
      applies `momentum` after the learning rate, so with a *schedule* its
      momentum buffer holds $\eta_t u_t$; with a constant rate both agree.
      optax's `initial_scale` (here always 0) and `bias_correction` (off) have
      no counterpart.

    References:
        Tieleman & Hinton, Lecture 6.5 "rmsprop", COURSERA: Neural Networks for
        Machine Learning, 2012.
        Graves, "Generating sequences with recurrent neural networks",
        arXiv:1308.0850, 2013 (the centered form).

    Examples:
        >>> import numpy as np
        >>> rule = RMSProp(learning_rate=0.01, beta=0.9)
        >>> delta, _ = rule.update(
        ...     np.array([2.0]),
        ...     rule.init(np.zeros(1)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)  # -0.01 * 2 / sqrt(0.1 * 4)
        array([-0.031623])
    """

    learning_rate: LearningRate = attrs.field(validator=validate_learning_rate)
    r"""Step size $\eta$, positive, or a schedule."""

    beta: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta$ in $[0, 1)$ of the averages (torch's `alpha`, default 0.99
    there; optax's `decay`, default 0.9)."""

    eps: float = attrs.field(default=1e-8, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to the root (or under it, with `eps_in_sqrt`)."""

    centered: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    r"""Whether to divide by the centered root $\sqrt{s_t - m_t^2}$."""

    momentum: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.unit_interval
    )
    r"""Momentum $\mu \in [0, 1)$ on the scaled gradient; 0 keeps no buffer."""

    eps_in_sqrt: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    r"""Whether $\epsilon$ goes under the root, $\sqrt{s_t + \epsilon}$ (optax)."""

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Coupled L2 decay $\lambda \ge 0$: the gradient becomes $g_t + \lambda x$."""

    @override
    def init_direction(self, x0: Array) -> RMSPropState:
        zeros = _zeros_like(x0)
        return RMSPropState(zeros, zeros, zeros)

    @override
    def direction(
        self, gradient: Array, state: RMSPropState, *, x: Array
    ) -> tuple[Array, RMSPropState]:
        gradient = _coupled(gradient, x, self.weight_decay)
        mean_square = self.beta * state.mean_square + (1.0 - self.beta) * gradient**2
        xp = backend.namespace_of(mean_square)
        if self.centered:
            mean = self.beta * state.mean + (1.0 - self.beta) * gradient
            variance = xp.maximum(mean_square - mean**2, 0.0)
        else:
            mean, variance = state.mean, mean_square
        if self.eps_in_sqrt:
            scaled = gradient / xp.sqrt(variance + self.eps)
        else:
            scaled = gradient / (xp.sqrt(variance) + self.eps)
        if self.momentum == 0.0:
            return scaled, RMSPropState(mean_square, mean, state.velocity)
        velocity = self.momentum * state.velocity + scaled
        return velocity, RMSPropState(mean_square, mean, velocity)

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: RMSPropState,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> RMSPropState:
        beta, complement, eps, momentum = _scalars(
            scratch,
            "rmsprop",
            out,
            (self.beta, 1.0 - self.beta, self.eps, self.momentum),
        )
        gradient = _coupled_into(gradient, x, self.weight_decay, scratch)
        mean_square = _take(spare, "mean_square", state.mean_square)
        np.square(gradient, out)  # gradient**2
        np.multiply(out, complement, out)
        np.multiply(state.mean_square, beta, mean_square)
        np.add(mean_square, out, mean_square)
        if self.centered:
            mean = _take(spare, "mean", state.mean)
            np.multiply(gradient, complement, out)
            np.multiply(state.mean, beta, mean)
            np.add(mean, out, mean)
            variance = _scratch(scratch, "variance", out)
            np.square(mean, variance)
            np.subtract(mean_square, variance, variance)
            np.maximum(variance, 0.0, out=variance)
        else:
            mean, variance = state.mean, mean_square
        if self.eps_in_sqrt:
            np.add(variance, eps, out)
            np.sqrt(out, out)
        else:
            np.sqrt(variance, out)
            np.add(out, eps, out)
        np.divide(gradient, out, out)
        if self.momentum == 0.0:
            np.multiply(out, minus_rate, out)
            return RMSPropState(mean_square, mean, state.velocity)
        velocity = _take(spare, "velocity", state.velocity)
        np.multiply(state.velocity, momentum, velocity)
        np.add(velocity, out, velocity)
        np.multiply(velocity, minus_rate, out)
        return RMSPropState(mean_square, mean, velocity)


@attrs.frozen
class AdamState:
    """The moment estimates of [`Adam`][optim.step_rules.Adam] and `AdamW`.

    Examples:
        >>> import numpy as np
        >>> Adam().init_direction(np.zeros(1)).t
        0
    """

    first_moment: Array = attrs.field(eq=_array_eq)
    """The decayed mean $m_t$ of gradients (not bias-corrected)."""

    second_moment: Array = attrs.field(eq=_array_eq)
    """The decayed mean $v_t$ of squared gradients (not bias-corrected)."""

    max_second_moment: Array = attrs.field(eq=_array_eq)
    r"""The AMSGrad running maximum (of $v_t$, or of $\hat v_t$ with
    `amsgrad_max="corrected"`); zeros without AMSGrad."""

    t: int = 0
    """Moment updates so far: the $t$ of the bias corrections $1 - \\beta^t$."""


def _adam_init(x0: Array) -> AdamState:
    zeros = _zeros_like(x0)
    return AdamState(zeros, zeros, zeros)


def _adam_direction(
    gradient: Array,
    state: AdamState,
    *,
    beta1: float,
    beta2: float,
    eps: float,
    amsgrad: bool,
    amsgrad_max: str = "raw",
) -> tuple[Array, AdamState]:
    """Adam's bias-corrected direction, shared by `Adam` and `AdamW`."""
    t = state.t + 1
    first = beta1 * state.first_moment + (1.0 - beta1) * gradient
    second = beta2 * state.second_moment + (1.0 - beta2) * gradient**2
    corrected_first = first / (1.0 - beta1**t)
    xp = backend.namespace_of(second)
    if not amsgrad:
        maximum = state.max_second_moment
        corrected_second = second / (1.0 - beta2**t)
    elif amsgrad_max == "raw":
        maximum = xp.maximum(state.max_second_moment, second)
        corrected_second = maximum / (1.0 - beta2**t)
    else:
        maximum = xp.maximum(state.max_second_moment, second / (1.0 - beta2**t))
        corrected_second = maximum
    direction = corrected_first / (xp.sqrt(corrected_second) + eps)
    return direction, AdamState(first, second, maximum, t)


@attrs.frozen
class _AdamMoments(LearningRateRule[AdamState]):
    """What `Adam` and `AdamW` share: fields, state and the moment update."""

    learning_rate: LearningRate = attrs.field(
        default=1e-3, validator=validate_learning_rate
    )
    r"""Step size $\eta$, positive, or a schedule."""

    beta1: float = attrs.field(
        default=0.9, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_1 \in [0, 1)$ of the first moment."""

    beta2: float = attrs.field(
        default=0.999, kw_only=True, validator=_validators.unit_interval
    )
    r"""Decay $\beta_2 \in [0, 1)$ of the second moment."""

    eps: float = attrs.field(default=1e-8, kw_only=True, validator=_validators.positive)
    r"""$\epsilon > 0$ added to the root."""

    amsgrad: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Whether to use the AMSGrad maximum of the second moment."""

    amsgrad_max: str = attrs.field(
        default="raw", kw_only=True, validator=_validators.one_of("raw", "corrected")
    )
    r"""AMSGrad's maximum: of the raw $v_t$ (`"raw"`, torch) or of the
    bias-corrected $\hat v_t$ (`"corrected"`, optax's `amsgrad`)."""

    @override
    def init_direction(self, x0: Array) -> AdamState:
        return _adam_init(x0)

    def _adam_into(
        self,
        out: Array,
        gradient: Array,
        state: AdamState,
        spare: Any,
        scratch: MutableMapping[str, Any],
    ) -> AdamState:
        """`_adam_direction` with the direction written into `out`."""
        beta1, beta2 = self.beta1, self.beta2
        t = state.t + 1
        kit = scratch.get("adam")
        if kit is None:  # the run's constants and buffer (see `_scalars`)
            kit = scratch["adam"] = (
                *_scalars(
                    scratch,
                    "adam-constants",
                    out,
                    (beta1, 1.0 - beta1, beta2, 1.0 - beta2, self.eps, 1.0, 1.0),
                ),
                np.empty_like(out),
            )
        b1, c1, b2, c2, eps, d1, d2, corrected_first = kit
        d1[()] = 1.0 - beta1**t  # the bias corrections
        d2[()] = 1.0 - beta2**t
        first = _take(spare, "first_moment", state.first_moment)
        second = _take(spare, "second_moment", state.second_moment)
        np.multiply(gradient, c1, out)
        np.multiply(state.first_moment, b1, first)
        np.add(first, out, first)
        np.square(gradient, out)  # gradient**2
        np.multiply(out, c2, out)
        np.multiply(state.second_moment, b2, second)
        np.add(second, out, second)
        if not self.amsgrad:
            maximum = state.max_second_moment
            np.divide(second, d2, out)
        elif self.amsgrad_max == "raw":
            maximum = _take(spare, "max_second_moment", state.max_second_moment)
            np.maximum(state.max_second_moment, second, out=maximum)
            np.divide(maximum, d2, out)
        else:
            maximum = _take(spare, "max_second_moment", state.max_second_moment)
            np.divide(second, d2, out)
            np.maximum(state.max_second_moment, out, out=maximum)
            np.copyto(out, maximum)
        np.sqrt(out, out)
        np.add(out, eps, out)
        np.divide(first, d1, corrected_first)
        np.divide(corrected_first, out, out)
        if type(spare) is AdamState:  # nothing else refers to it: reused
            _set(spare, "first_moment", first)
            _set(spare, "second_moment", second)
            _set(spare, "max_second_moment", maximum)
            _set(spare, "t", t)
            return spare
        return AdamState(first, second, maximum, t)

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        return _adam_direction(
            gradient,
            state,
            beta1=self.beta1,
            beta2=self.beta2,
            eps=self.eps,
            amsgrad=self.amsgrad,
            amsgrad_max=self.amsgrad_max,
        )


@attrs.frozen
class Adam(_AdamMoments):
    r"""Adam (Kingma & Ba 2015), optionally AMSGrad (Reddi et al. 2018).

    With $m_0 = v_0 = 0$ and $t = 1, 2, \dots$:

    $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,$$

    $$\hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad
    \hat v_t = \frac{v_t}{1 - \beta_2^t}, \qquad
    \Delta_t = -\eta_t \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$

    $\epsilon$ sits *outside* the square root of the bias-corrected second moment,
    as in Algorithm 1 of the paper (and PyTorch, optax). With `amsgrad=True`, $v_t$
    in $\hat v_t$ is replaced by the running maximum
    $v^{\max}_t = \max(v^{\max}_{t-1}, v_t)$, bias-corrected the same way
    (PyTorch's `amsgrad=True` convention); `amsgrad_max="corrected"` takes
    the maximum of the bias-corrected $\hat v_t$ instead, as optax's `amsgrad`
    does. With `weight_decay` $\lambda$ the gradient is first replaced by
    $g_t + \lambda x$: coupled L2, torch's `Adam(weight_decay=...)` (for the
    decoupled form use [`AdamW`][optim.step_rules.AdamW]).

    Peers: `torch.optim.Adam(lr)` and `optax.adam(lr)` have the same defaults
    ($\eta = 10^{-3}$, $\beta = (0.9, 0.999)$, $\epsilon = 10^{-8}$); optax's
    `eps_root` (here always 0) has no counterpart.

    References:
        Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015.
        Reddi, Kale & Kumar, "On the convergence of Adam and beyond", ICLR 2018.

    Examples:
        The first step of Adam has length $\eta$ in every coordinate:

        >>> import numpy as np
        >>> rule = Adam(learning_rate=0.1)
        >>> delta, state = rule.update(
        ...     np.array([3.0, -0.5]),
        ...     rule.init(np.zeros(2)),
        ...     x=None,
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6), state.step, state.direction_state.t
        (array([-0.1,  0.1]), 1, 1)
    """

    weight_decay: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    r"""Coupled L2 decay $\lambda \ge 0$: the gradient becomes $g_t + \lambda x$."""

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        return super().direction(_coupled(gradient, x, self.weight_decay), state, x=x)

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: AdamState,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> AdamState:
        gradient = _coupled_into(gradient, x, self.weight_decay, scratch)
        new_state = self._adam_into(out, gradient, state, spare, scratch)
        np.multiply(out, minus_rate, out)
        return new_state


@attrs.frozen
class AdamW(_AdamMoments):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's form.

    With $m_t, v_t, \hat m_t, \hat v_t$ exactly as in
    [`Adam`][optim.step_rules.Adam] (AMSGrad optional),

    $$\Delta_t = -\eta_t \Bigl(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
    + \lambda x_{t-1}\Bigr).$$

    The decay $\lambda x$ is *not* added to the gradient (that would be Adam with
    L2 regularization) and is scaled by the learning rate, as in
    `torch.optim.AdamW` and optax's `adamw` (the paper's schedule multiplier is
    $\eta_t / \eta_0$ here). Weight decay pulls toward the origin in descent and
    ascent alike, so the rule converges to a point shrunk toward $0$, not to the
    exact optimum of $f$. It shares Adam's moment update (and
    [`AdamState`][optim.step_rules.AdamState]) but is not a subclass of `Adam`.

    Peers: the default $\lambda = 10^{-2}$ is torch's `AdamW`; optax's
    `adamw(lr)` defaults to `weight_decay=1e-4`, so `optax.adamw(lr)` is
    `AdamW(lr, weight_decay=1e-4)`.

    References:
        Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019.

    Examples:
        >>> import numpy as np
        >>> rule = AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> delta, _ = rule.update(
        ...     np.array([3.0]),
        ...     rule.init(np.zeros(1)),
        ...     x=np.array([2.0]),
        ...     value=0.0,
        ...     evaluator=None,
        ... )
        >>> np.round(delta, 6)  # -0.1 * (1 + 0.5 * 2)
        array([-0.2])
    """

    weight_decay: float = attrs.field(
        default=1e-2, kw_only=True, validator=_validators.non_negative
    )
    r"""Decoupled decay $\lambda \ge 0$."""

    @override
    def direction(
        self, gradient: Array, state: AdamState, *, x: Array
    ) -> tuple[Array, AdamState]:
        direction, new_state = super().direction(gradient, state, x=x)
        return direction + self.weight_decay * x, new_state

    @override
    def _step_into(
        self,
        out: Array,
        gradient: Array,
        state: AdamState,
        spare: Any,
        x: Array,
        minus_rate: Array,
        scratch: MutableMapping[str, Any],
    ) -> AdamState:
        new_state = self._adam_into(out, gradient, state, spare, scratch)
        decay = _scratch(scratch, "decay", out)
        np.multiply(x, self.weight_decay, decay)
        np.add(out, decay, out)
        np.multiply(out, minus_rate, out)
        return new_state


BUFFERED: frozenset[type[LearningRateRule[Any]]] = frozenset(
    {FixedStep, Momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW}
)
"""The rules whose `_update_into` the engine uses: it allocates no n-vector per
step (a subclass is not one of them: it may change the arithmetic)."""
