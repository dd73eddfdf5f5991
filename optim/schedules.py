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
    "OneCycle",
    "PeriodicCosine",
    "PiecewiseConstant",
    "PolynomialDecay",
    "Schedule",
    "StepDecay",
    "WarmupCosineDecay",
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


@attrs.frozen
class PolynomialDecay(Schedule):
    r"""Polynomial decay from `initial` to `final` over `decay_steps`, then hold.

    $\eta_t = (\eta_0 - \eta_{\text{end}})(1 - \tau / T)^p + \eta_{\text{end}}$ with
    $\tau = \min(\max(t - b, 0), T)$: optax's `polynomial_schedule(init_value,
    end_value, power, transition_steps, transition_begin)` (and with `power=1`
    its `linear_schedule`). PyTorch's `PolynomialLR(total_iters=T, power=p)` is
    the case `final=0`, `begin=0`.

    Examples:
        >>> schedule = PolynomialDecay(1.0, final=0.0, power=2.0, decay_steps=4)
        >>> [schedule(t) for t in range(6)]
        [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ until step $b$."""

    final: float = attrs.field(kw_only=True, validator=_validators.non_negative)
    """The rate $\\eta_{\\text{end}}$ from step $b + T$ on."""

    power: float = attrs.field(kw_only=True, validator=_validators.positive)
    """The exponent $p > 0$ (1 is linear)."""

    decay_steps: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """Length $T$ of the decay."""

    begin: int = attrs.field(default=0, kw_only=True, validator=_validators.count)
    """Step $b$ at which the decay starts (optax's `transition_begin`)."""

    def __call__(self, step: int) -> float:
        """Return the decayed rate."""
        progress = min(max(step - self.begin, 0), self.decay_steps)
        fraction = 1.0 - progress / self.decay_steps
        return float((self.initial - self.final) * fraction**self.power + self.final)


@attrs.frozen
class WarmupCosineDecay(Schedule):
    r"""Linear warm-up from `start` to `peak`, then cosine decay to `final`.

    optax's `warmup_cosine_decay_schedule(init_value=start, peak_value=peak,
    warmup_steps=W, decay_steps=T, end_value=final, exponent=k)`: for
    $t < W$ the rate ramps linearly, then with $\tau = \min(t - W, T - W)$

    $$\eta_t = \eta_p \Bigl((1 - \alpha)\bigl[\tfrac12(1 + \cos(\pi \tau / (T - W)))
    \bigr]^k + \alpha\Bigr), \qquad \alpha = \eta_{\text{end}} / \eta_p.$$

    As in optax, `decay_steps` counts the warm-up too, and the rate holds
    `final` from step $T$ on. For warm-up then linear or polynomial decay, join
    [`LinearWarmup`][optim.schedules.LinearWarmup] and
    [`PolynomialDecay`][optim.schedules.PolynomialDecay] with
    [`JoinSchedules`][optim.schedules.JoinSchedules]. All arguments are
    keyword-only.

    Examples:
        >>> schedule = WarmupCosineDecay(peak=1.0, warmup_steps=2, decay_steps=6)
        >>> [round(schedule(t), 4) for t in range(8)]
        [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """

    peak: float = attrs.field(kw_only=True, validator=_validators.positive)
    """The rate $\\eta_p$ at the end of the warm-up."""

    warmup_steps: int = attrs.field(kw_only=True, validator=_validators.count)
    """Length $W$ of the warm-up (0 for none)."""

    decay_steps: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """Step $T > W$ at which the decay ends (warm-up included)."""

    start: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The rate at step 0."""

    final: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The rate $\\eta_{\\text{end}}$ from step $T$ on."""

    exponent: float = attrs.field(
        default=1.0, kw_only=True, validator=_validators.positive
    )
    """The exponent $k$ of the cosine factor."""

    def __attrs_post_init__(self) -> None:
        if self.decay_steps <= self.warmup_steps:
            raise ValueError(
                f"WarmupCosineDecay: decay_steps={self.decay_steps} must exceed "
                f"warmup_steps={self.warmup_steps} (as in optax, decay_steps "
                f"counts the warm-up)"
            )

    def __call__(self, step: int) -> float:
        """Return the warmed-up or decayed rate."""
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return float(self.start + (self.peak - self.start) * fraction)
        length = self.decay_steps - self.warmup_steps
        progress = min(step - self.warmup_steps, length) / length
        cosine = (0.5 * (1.0 + math.cos(math.pi * progress))) ** self.exponent
        alpha = self.final / self.peak
        return float(self.peak * ((1.0 - alpha) * cosine + alpha))


def _to_scales(value: Any) -> tuple[tuple[int, float], ...]:
    items = value.items() if isinstance(value, dict) else value
    return tuple(sorted((int(b), float(f)) for b, f in items))


@attrs.frozen
class PiecewiseConstant(Schedule):
    r"""Multiply the rate by factors at given steps (optax's piecewise constant).

    This is optax's `piecewise_constant_schedule(init_value, boundaries_and_scales)`.

    With `scales={b1: f1, b2: f2, ...}`, the rate is `initial` before step
    $b_1$, `initial * f1` from $b_1$, `initial * f1 * f2` from $b_2$, and so
    on (PyTorch's `MultiStepLR(milestones, gamma)` is every factor `gamma`).
    A factor above 1 is refused unless `allow_growth=True`.

    Examples:
        >>> schedule = PiecewiseConstant(1.0, scales={2: 0.5, 4: 0.1})
        >>> [schedule(t) for t in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate before the first boundary."""

    scales: tuple[tuple[int, float], ...] = attrs.field(
        kw_only=True, converter=_to_scales
    )
    """Pairs (or a dict) `step: factor`, each factor > 0, steps >= 0."""

    allow_growth: bool = attrs.field(
        default=False, kw_only=True, validator=_validators.boolean
    )
    """Accept factors above 1."""

    def __attrs_post_init__(self) -> None:
        for boundary, factor in self.scales:
            if boundary < 0 or not (math.isfinite(factor) and factor > 0.0):
                raise ValueError(
                    f"PiecewiseConstant: scales must map steps >= 0 to factors > 0, "
                    f"got {boundary}: {factor}"
                )
            _check_growth(type(self).__name__, "factor", factor, self.allow_growth)

    def __call__(self, step: int) -> float:
        """Return `initial` times the factors of the boundaries reached."""
        rate = float(self.initial)
        for boundary, factor in self.scales:
            if step >= boundary:
                rate *= factor
        return rate


@attrs.frozen
class OneCycle(Schedule):
    r"""The one-cycle policy (Smith & Topin 2019), optax's `cosine_onecycle_schedule`.

    From $\eta_p / d$ the rate rises along a half cosine to $\eta_p$ at step
    $\lfloor p T \rfloor$, then falls along a half cosine to
    $\eta_p / (d f)$ at step $T$ and holds it. PyTorch's
    `OneCycleLR(max_lr, total_steps, pct_start, div_factor,
    final_div_factor)` with `anneal_strategy="cos"` and no momentum cycling
    places the two phase ends one step earlier (at $pT - 1$ and $T - 1$).

    References:
        Smith & Topin, "Super-convergence: very fast training of neural
        networks using large learning rates", 2019.

    Examples:
        >>> schedule = OneCycle(peak=1.0, total_steps=10, div_factor=10.0)
        >>> [round(schedule(t), 6) for t in (0, 3, 10)]
        [0.1, 1.0, 1e-05]
    """

    peak: float = attrs.field(kw_only=True, validator=_validators.positive)
    """The largest rate $\\eta_p$."""

    total_steps: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """The cycle's length $T$."""

    pct_start: float = attrs.field(
        default=0.3, kw_only=True, validator=_validators.open_unit_interval
    )
    """Fraction $p$ of the cycle spent rising."""

    div_factor: float = attrs.field(
        default=25.0, kw_only=True, validator=_validators.positive
    )
    """$d$: the cycle starts at $\\eta_p / d$."""

    final_div_factor: float = attrs.field(
        default=1e4, kw_only=True, validator=_validators.positive
    )
    """$f$: the cycle ends at $\\eta_p / (d f)$."""

    def __call__(self, step: int) -> float:
        """Return the rate of the cycle at `step`."""
        start = self.peak / self.div_factor
        end = start / self.final_div_factor
        middle = int(self.pct_start * self.total_steps)
        if step < middle:
            return _cosine_between(start, self.peak, step / middle)
        if step < self.total_steps:
            progress = (step - middle) / (self.total_steps - middle)
            return _cosine_between(self.peak, end, progress)
        return float(end)


def _cosine_between(start: float, end: float, fraction: float) -> float:
    return float(end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1.0))


@attrs.frozen
class PeriodicCosine(Schedule):
    r"""Cosine annealing that climbs back: PyTorch's `CosineAnnealingLR`.

    $\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})(1 + \cos(\pi t / T))$
    for *every* $t$, so after reaching $\eta_{\min}$ at $t = T$ the rate rises
    back to $\eta_0$ at $2T$ (the closed form of torch's
    `CosineAnnealingLR(T_max=T, eta_min)`). For a decay that holds
    $\eta_{\min}$ after $T$ (optax's convention) use
    [`CosineDecay`][optim.schedules.CosineDecay].

    Examples:
        >>> schedule = PeriodicCosine(1.0, half_period=2)
        >>> [round(schedule(t), 12) for t in range(5)]
        [1.0, 0.5, 0.0, 0.5, 1.0]
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The rate $\\eta_0$ at step 0."""

    half_period: int = attrs.field(kw_only=True, validator=_validators.positive_count)
    """$T$ (torch's `T_max`): steps from $\\eta_0$ down to $\\eta_{\\min}$."""

    final: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The lowest rate $\\eta_{\\min}$ (torch's `eta_min`)."""

    def __call__(self, step: int) -> float:
        """Return the periodic cosine rate."""
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.half_period))
        return float(self.final + (self.initial - self.final) * cosine)
