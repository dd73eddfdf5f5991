"""A schedule with memory: torch's `ReduceLROnPlateau`, driven by a callback.

[`PlateauDecay`][optim.plateau.PlateauDecay] is a
[`Schedule`][optim.schedules.Schedule] whose rate is cut when a monitored value
stops improving, and the [`Callback`][optim.callbacks.Callback] that feeds it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from optim import _validators
from optim._types import Array, override
from optim.callbacks import Callback
from optim.schedules import Schedule

if TYPE_CHECKING:
    from optim.result import StepInfo
    from optim.run import RunContext

__all__ = ["PlateauDecay"]


def _value_of(info: StepInfo) -> float:
    """The monitored value by default: the objective at the step's point."""
    return float(info.value)


def _below_one(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _validators.positive(instance, attribute, value)
    if value >= 1.0:
        raise ValueError(
            f"factor must be < 1 (torch: 'Factor should be < 1.0.'), got {value!r}"
        )


@attrs.define(eq=False)
class PlateauDecay(Schedule, Callback):
    r"""Torch's `ReduceLROnPlateau`: cut the rate when a monitored value stalls.

    A schedule with memory, driven by a callback: pass the same object as a
    rule's `learning_rate` *and* in the optimizer's `callbacks`
    (`plateau = PlateauDecay(1e-3, patience=5)`, `Adam(plateau)`,
    `callbacks=[plateau]`). Every `every`
    steps it reads `monitor(info)` (by default the objective's value at the
    step's point, in the user's sign) and applies torch's rule, as
    `scheduler.step(metric)` does: the value improves on the best one when it is
    below `best * (1 - threshold)` (`mode="min"`, `threshold_mode="rel"`),
    below `best - threshold` (`"abs"`), or above `best * (1 + threshold)` /
    `best + threshold` in `mode="max"`; after more than `patience` observations
    without improvement the rate is multiplied by `factor` (never below
    `final`, torch's `min_lr`, and only when it drops by more than `eps`), and
    `cooldown` observations pass before bad ones are counted again. To monitor
    something else (a validation loss), give `monitor`, or call
    [`observe`][optim.plateau.PlateauDecay.observe] from your own callback
    and leave this object out of `callbacks`.

    Unlike the other schedules it ignores the step number it is called with,
    so it composes after a warm-up in [`JoinSchedules`][optim.schedules.JoinSchedules].
    Its memory starts afresh at each run's start and is not saved in a
    checkpoint (a resumed run restarts it from `initial`); optax's
    `reduce_on_plateau` is the transform
    [`ReduceOnPlateau`][optim.transforms.ReduceOnPlateau], whose memory is in
    the rule's state.

    Examples:
        torch's `ReduceLROnPlateau(optimizer, factor=0.5, patience=1)` fed the
        values 3, 2, 2, 2, 2, 1:

        >>> plateau = PlateauDecay(0.1, factor=0.5, patience=1)
        >>> rates = []
        >>> for metric in [3.0, 2.0, 2.0, 2.0, 2.0, 1.0]:
        ...     plateau.observe(metric)
        ...     rates.append(plateau(0))
        >>> rates
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05]
    """

    initial: float = attrs.field(validator=_validators.positive)
    """The starting rate (torch: the optimizer's `lr`)."""
    mode: str = attrs.field(
        default="min", kw_only=True, validator=_validators.one_of("min", "max")
    )
    """`"min"`: lower is better; `"max"`: higher is better."""
    factor: float = attrs.field(default=0.1, kw_only=True, validator=_below_one)
    """Multiplier of the rate at each reduction, in (0, 1)."""
    patience: int = attrs.field(default=10, kw_only=True, validator=_validators.count)
    """Observations without improvement tolerated before a reduction."""
    threshold: float = attrs.field(
        default=1e-4, kw_only=True, validator=_validators.non_negative
    )
    """Improvement that counts (relative or absolute)."""
    threshold_mode: str = attrs.field(
        default="rel", kw_only=True, validator=_validators.one_of("rel", "abs")
    )
    """`"rel"` or `"abs"`: how `threshold` is applied."""
    cooldown: int = attrs.field(default=0, kw_only=True, validator=_validators.count)
    """Observations after a reduction before bad ones count again."""
    final: float = attrs.field(
        default=0.0, kw_only=True, validator=_validators.non_negative
    )
    """The smallest rate (torch's `min_lr`)."""
    eps: float = attrs.field(
        default=1e-8, kw_only=True, validator=_validators.non_negative
    )
    """Reductions smaller than this are skipped (torch's `eps`)."""
    monitor: Callable[[StepInfo], float] = attrs.field(
        default=_value_of, kw_only=True, validator=attrs.validators.is_callable()
    )
    """What is watched: a function of the step's record."""
    every: int = attrs.field(
        default=1, kw_only=True, validator=_validators.positive_count
    )
    """Observe every `every` steps (an "epoch" of that many steps)."""
    rate: float = attrs.field(init=False, eq=False)
    """The current rate."""
    best: float = attrs.field(init=False, eq=False)
    """The best value observed (`inf` in `"min"` mode at first)."""
    bad: int = attrs.field(init=False, eq=False)
    """Observations since the last improvement (torch's `num_bad_epochs`)."""
    cooling: int = attrs.field(init=False, eq=False)
    """Observations left in the cooldown."""

    def __attrs_post_init__(self) -> None:
        if self.final > self.initial:
            raise ValueError(
                f"final must be <= initial, got final={self.final!r} > "
                f"initial={self.initial!r}"
            )
        self.reset()

    def reset(self) -> None:
        """Forget what was observed: the rate is `initial` again."""
        self.rate = float(self.initial)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.bad = 0
        self.cooling = 0

    def observe(self, metric: float) -> None:
        """Take one monitored value, as torch's `scheduler.step(metric)`.

        Args:
            metric: The monitored value (a NaN never improves).
        """
        current = float(metric)
        if self._better(current):
            self.best, self.bad = current, 0
        else:
            self.bad += 1
        if self.cooling > 0:
            self.cooling -= 1
            self.bad = 0
        if self.bad > self.patience:
            reduced = max(self.rate * self.factor, self.final)
            if self.rate - reduced > self.eps:
                self.rate = reduced
            self.cooling, self.bad = self.cooldown, 0

    def _better(self, current: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            bound = (
                best * (1.0 - threshold)
                if self.threshold_mode == "rel"
                else best - threshold
            )
            return current < bound
        bound = (
            best * (1.0 + threshold)
            if self.threshold_mode == "rel"
            else best + threshold
        )
        return current > bound

    @override
    def __call__(self, step: int) -> float:
        return self.rate

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self.reset()

    @override
    def on_step(self, info: StepInfo) -> None:
        if info.step > 0 and info.step % self.every == 0:
            self.observe(self.monitor(info))
