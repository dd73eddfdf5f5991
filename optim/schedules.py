r"""Learning-rate schedules: functions of the step count, accepted wherever a rate is.

A [`Schedule`][optim.schedules.Schedule] maps the number of updates a rule has
applied so far, $t = 0, 1, 2, \dots$, to a learning rate. Every step rule with a
`learning_rate` accepts a float or a schedule. The rate is looked up in one place,
[`LearningRateRule.update`][optim.step_rules.LearningRateRule.update], which keeps
$t$ in the rule's state, so runs stay functional and resumable; the fields are
checked by [`validate_learning_rate`][optim.schedules.validate_learning_rate].
"""

from __future__ import annotations

import abc
import math
from typing import Any, TypeAlias

import attrs

from optim import _validators

__all__ = [
    "ConstantSchedule",
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "JoinSchedules",
    "LearningRate",
    "LinearWarmup",
    "Schedule",
    "StepDecay",
    "learning_rate_at",
    "validate_learning_rate",
]


class Schedule(abc.ABC):
    """A learning rate that depends on the step count.

    Subclasses implement `__call__(step) -> float`, returning a positive, finite
    rate for every `step >= 0`.

    Examples:
        >>> class Halving(Schedule):
        ...     def __call__(self, step):
        ...         return 0.5**step
        >>> [Halving()(t) for t in range(3)]
        [1.0, 0.5, 0.25]
    """

    __slots__ = ()

    @abc.abstractmethod
    def __call__(self, step: int) -> float:
        """Return the learning rate for the update number `step` (from 0)."""


LearningRate: TypeAlias = float | Schedule
"""What a `learning_rate` field accepts: a positive float or a schedule."""


def validate_learning_rate(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """The attrs validator of every `learning_rate` field: a rate or a schedule.

    Args:
        instance: The instance being built (unused).
        attribute: The field; its name is in the error message.
        value: A finite real number > 0, or a [`Schedule`][optim.schedules.Schedule].

    Raises:
        TypeError: If `value` is neither a real number nor a schedule.
        ValueError: If it is a number that is not finite and positive.

    Examples:
        >>> import attrs
        >>> @attrs.frozen
        ... class Rule:
        ...     learning_rate: LearningRate = attrs.field(
        ...         validator=validate_learning_rate
        ...     )
        >>> Rule(ExponentialDecay(1.0, 0.5)).learning_rate
        ExponentialDecay(initial=1.0, decay_rate=0.5, decay_steps=1, allow_growth=False)
        >>> Rule(0.0)
        Traceback (most recent call last):
        ...
        ValueError: learning_rate must be > 0, got 0.0
    """
    if not isinstance(value, Schedule):
        _validators.positive(instance, attribute, value)


def learning_rate_at(learning_rate: float | Schedule, step: int) -> float:
    """Return the rate to use at `step`: the float itself, or the schedule's value.

    Args:
        learning_rate: A float or a [`Schedule`][optim.schedules.Schedule].
        step: Updates applied so far.

    Returns:
        The learning rate.

    Raises:
        ValueError: If a schedule returns a non-finite or non-positive rate.

    Examples:
        >>> learning_rate_at(0.1, 7), learning_rate_at(ExponentialDecay(1.0, 0.5), 2)
        (0.1, 0.25)
    """
    if not isinstance(learning_rate, Schedule):
        return learning_rate
    rate = float(learning_rate(step))
    if not (math.isfinite(rate) and rate >= 0.0):
        raise ValueError(
            f"learning_rate schedule {learning_rate!r} returned {rate!r} at step "
            f"{step}; it must be finite and >= 0"
        )
    return rate


@attrs.frozen
class ConstantSchedule(Schedule):
    """The same rate at every step (what a plain float means).

    Examples:
        >>> ConstantSchedule(0.1)(1000)
        0.1
    """

    value: float = attrs.field(validator=_validators.positive)
    """The learning rate."""

    def __call__(self, step: int) -> float:
        """Return `value`."""
        return float(self.value)


@attrs.frozen
class StepDecay(Schedule):
    r"""Piecewise constant: multiply by `factor` every `step_size` steps.

    $\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}$: PyTorch's
    `StepLR(step_size=s, gamma=factor)`, and optax's
    `exponential_decay(init_value, transition_steps=s, decay_rate=factor,
    staircase=True)`. A `factor` above 1 is refused unless
    `allow_growth=True`.

    Examples:
        >>> schedule = StepDecay(1.0, step_size=10, factor=0.1)
        >>> schedule(0), schedule(9), schedule(10), round(schedule(25), 12)
        (1.0, 1.0, 0.1, 0.01)
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ at step 0."""

    step_size: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """Steps $s$ between decays."""

    factor: float = attrs.field(
        default=0.1, kw_only=True, validator=_validators.positive
    )
    """Multiplier $\\gamma$ applied at each decay; above 1 only with `allow_growth`."""

    allow_growth: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Accept a `factor` above 1 (a rate that grows)."""

    def __attrs_post_init__(self) -> None:
        _check_growth(type(self).__name__, "factor", self.factor, self.allow_growth)

    def __call__(self, step: int) -> float:
        r"""Return $\eta_0 \gamma^{\lfloor t/s \rfloor}$."""
        return float(self.initial * self.factor ** (step // self.step_size))


def _check_growth(name: str, field: str, value: float, allow: bool) -> None:
    if value > 1.0 and not allow:
        raise ValueError(
            f"{name}: {field}={value!r} > 1 makes the learning rate grow "
            f"(x{value!r} per period); pass allow_growth=True if that is meant. "
            f"(optax's exponential_decay takes (init_value, transition_steps, "
            f"decay_rate): write ExponentialDecay(initial, decay_rate=..., "
            f"decay_steps=...) by keyword.)"
        )


@attrs.frozen
class ExponentialDecay(Schedule):
    r"""Smooth exponential decay $\eta_t = \eta_0 \, r^{t / s}$.

    optax's `exponential_decay(init_value, transition_steps, decay_rate)` is
    `ExponentialDecay(init_value, decay_rate, decay_steps=transition_steps)`:
    the second positional argument here is the *rate*, so an optax call
    transcribed positionally, `ExponentialDecay(0.1, 1000)`, would multiply the
    rate by 1000 per step. A `decay_rate` above 1 is therefore refused unless
    `allow_growth=True`. PyTorch's `ExponentialLR(gamma)` is
    `ExponentialDecay(lr, gamma)`. optax's `staircase=True` is
    [`StepDecay`][optim.schedules.StepDecay]; its `transition_begin` is a
    [`JoinSchedules`][optim.schedules.JoinSchedules] after a
    [`ConstantSchedule`][optim.schedules.ConstantSchedule].

    Examples:
        >>> schedule = ExponentialDecay(1.0, 0.5, decay_steps=2)
        >>> schedule(0), schedule(2), round(schedule(3), 6)
        (1.0, 0.5, 0.353553)
        >>> ExponentialDecay(0.1, 1000)
        Traceback (most recent call last):
        ...
        ValueError: ExponentialDecay: decay_rate=1000 > 1 makes the learning rate ...
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ at step 0."""

    decay_rate: float = attrs.field(validator=_validators.positive)
    """Factor $r$ applied every `decay_steps` steps (at most 1 unless
    `allow_growth`)."""

    decay_steps: int = attrs.field(
        default=1, kw_only=True, validator=_validators.positive_count
    )
    """Steps $s$ over which the rate is multiplied by $r$."""

    allow_growth: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Accept a `decay_rate` above 1 (a rate that grows)."""

    def __attrs_post_init__(self) -> None:
        _check_growth(
            type(self).__name__, "decay_rate", self.decay_rate, self.allow_growth
        )

    def __call__(self, step: int) -> float:
        r"""Return $\eta_0 r^{t/s}$."""
        return float(self.initial * self.decay_rate ** (step / self.decay_steps))


@attrs.frozen
class InverseTimeDecay(Schedule):
    r"""Inverse-time decay $\eta_t = \eta_0 / (1 + k t / s)$.

    Examples:
        >>> schedule = InverseTimeDecay(1.0, 1.0)
        >>> [schedule(t) for t in range(4)]
        [1.0, 0.5, 0.3333333333333333, 0.25]
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ at step 0."""

    decay_rate: float = attrs.field(validator=_validators.non_negative)
    """The constant $k \\ge 0$."""

    decay_steps: int = attrs.field(
        default=1, kw_only=True, validator=_validators.positive_count
    )
    """The time scale $s$."""

    def __call__(self, step: int) -> float:
        r"""Return $\eta_0 / (1 + k t / s)$."""
        return float(self.initial / (1.0 + self.decay_rate * step / self.decay_steps))


@attrs.frozen
class CosineDecay(Schedule):
    r"""Cosine annealing from `initial` to `final` over `decay_steps` steps.

    $\eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
    (1 + \cos(\pi \min(t, T) / T))$, then constant at $\eta_{\min}$
    (Loshchilov & Hutter 2017, without restarts). This is optax's
    `cosine_decay_schedule(init_value, decay_steps, alpha)` with
    `final = alpha * init_value` (optax's `exponent` is 1 here). After
    `decay_steps` it *holds* `final`, as optax does; PyTorch's
    `CosineAnnealingLR(T_max, eta_min)` climbs back up after `T_max` (a
    period of $2T$); the two agree for $t \le T$.

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.

    Examples:
        >>> schedule = CosineDecay(1.0, decay_steps=10, final=0.1)
        >>> schedule(0), round(schedule(5), 12), schedule(10), schedule(99)
        (1.0, 0.55, 0.1, 0.1)
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ at step 0."""

    decay_steps: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """Length $T$ of the decay."""

    final: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The rate $\\eta_{\\min}$ from step $T$ on."""

    def __call__(self, step: int) -> float:
        """Return the annealed rate."""
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return float(self.final + (self.initial - self.final) * cosine)


@attrs.frozen
class LinearWarmup(Schedule):
    r"""Ramp linearly from `start` to `peak` over `warmup_steps`, then hold `peak`.

    $\eta_t = \eta_s + (\eta_p - \eta_s) \min(t, W) / W$: optax's
    `linear_schedule(init_value=start, end_value=peak, transition_steps=W)`.
    Compose it with a decay through
    [`JoinSchedules`][optim.schedules.JoinSchedules] for warm-up then cosine.
    `peak=0` is accepted when `start > 0`: a linear decay to 0 (as
    `linear_schedule(start, 0.0, W)`); `peak = start = 0`, a rate of 0 forever,
    is refused. A rate of 0 (the first step of a warm-up from 0) is a step of
    length 0.

    Examples:
        >>> schedule = LinearWarmup(1.0, warmup_steps=4)
        >>> [schedule(t) for t in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
        >>> LinearWarmup(0.0, warmup_steps=2, start=1.0)(1)
        0.5
    """

    peak: float = attrs.field(validator=_validators.non_negative)
    """The rate $\\eta_p \\ge 0$ reached after the ramp (0 only with `start > 0`)."""

    warmup_steps: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """Length $W$ of the ramp."""

    start: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The rate $\\eta_s$ at step 0 (0 by default: the first update is zero)."""

    def __attrs_post_init__(self) -> None:
        if self.peak == 0.0 and self.start == 0.0:
            raise ValueError(
                "LinearWarmup: peak=0 with start=0 is a rate of 0 at every step, "
                "so the run would never move; give peak > 0 (or start > 0 for a "
                "linear decay to 0)"
            )

    def __call__(self, step: int) -> float:
        """Return the ramped rate."""
        fraction = min(step, self.warmup_steps) / self.warmup_steps
        return float(self.start + (self.peak - self.start) * fraction)


def _to_schedules(schedules: Any) -> tuple[Schedule, ...]:
    return tuple(schedules)


def _to_boundaries(boundaries: Any) -> tuple[int, ...]:
    return tuple(boundaries)


@attrs.frozen
class JoinSchedules(Schedule):
    r"""Run schedules one after another, each restarted at its boundary.

    With boundaries $b_1 < b_2 < \dots$, schedule $i$ is used for
    $b_i \le t < b_{i+1}$ and called with $t - b_i$ (optax's `join_schedules`).

    Examples:
        Linear warm-up for 3 steps, then cosine decay over 4:

        >>> schedule = JoinSchedules(
        ...     (LinearWarmup(1.0, warmup_steps=3), CosineDecay(1.0, decay_steps=4)),
        ...     boundaries=(3,),
        ... )
        >>> [round(schedule(t), 4) for t in range(8)]
        [0.0, 0.3333, 0.6667, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    schedules: tuple[Schedule, ...] = attrs.field(converter=_to_schedules)
    """The schedules, in order; at least one."""

    boundaries: tuple[int, ...] = attrs.field(kw_only=True, converter=_to_boundaries)
    """Steps at which to switch to the next schedule, one fewer than `schedules`,
    strictly increasing and positive."""

    @schedules.validator
    def _check_schedules(
        self, attribute: attrs.Attribute[Any], value: tuple[Any, ...]
    ) -> None:
        if not value or not all(isinstance(s, Schedule) for s in value):
            raise ValueError("schedules must be a non-empty sequence of Schedule")

    @boundaries.validator
    def _check_boundaries(
        self, attribute: attrs.Attribute[Any], value: tuple[int, ...]
    ) -> None:
        if len(value) != len(self.schedules) - 1:
            raise ValueError(
                f"boundaries must have {len(self.schedules) - 1} entries (one fewer "
                f"than schedules), got {len(value)}"
            )
        previous = 0
        for boundary in value:
            if not isinstance(boundary, int) or boundary <= previous:
                raise ValueError(
                    f"boundaries must be strictly increasing positive integers, got "
                    f"{value!r}"
                )
            previous = boundary

    def __call__(self, step: int) -> float:
        """Return the rate of the schedule active at `step`."""
        offset = 0
        for schedule, boundary in zip(self.schedules, self.boundaries, strict=False):
            if step < boundary:
                return schedule(step - offset)
            offset = boundary
        return self.schedules[-1](step - offset)
