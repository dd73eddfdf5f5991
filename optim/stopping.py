"""Stop tests: budgets and the divergence test, with the protocol callbacks use.

A stop test is a [`Callback`][optim.callbacks.Callback] whose
[`on_step`][optim.callbacks.Callback.on_step] returns a
[`Stop`][optim.result.Stop] when the run should end. The optimizer appends the
tests its configuration asks for (`max_steps`, `max_evaluations`, `max_time`,
`max_growth`) after the user's callbacks, so the loop itself only announces each
step, asks every test, and steps. Convergence tests such as
[`StopOnZeroGradient`][optim.callbacks.StopOnZeroGradient] follow the same
protocol.
"""

from __future__ import annotations

import math
import time

import attrs

from optim import _validators
from optim._types import Array, override
from optim.callbacks import Callback
from optim.result import Status, StepInfo, Stop
from optim.run import RunContext, RunState

__all__ = ["MaxEvaluations", "MaxGrowth", "MaxSteps", "MaxTime", "diagnose"]


@attrs.frozen
class MaxSteps(Callback):
    """Stop with `MAX_STEPS` once `max_steps` updates have been applied.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> Optimizer(Sphere(), step_rule=FixedStep(0.1), max_steps=3).run(
        ...     [1.0]
        ... ).status.name
        'MAX_STEPS'
    """

    max_steps: int = attrs.field(validator=_validators.count)
    """The step budget."""

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if info.step < self.max_steps:
            return None
        return Stop(
            Status.MAX_STEPS,
            f"reached max_steps={self.max_steps} with gradient norm "
            f"{info.gradient_norm:.3g}",
        )


@attrs.frozen
class MaxEvaluations(Callback):
    """Stop with `MAX_EVALUATIONS` once the objective has been called this often.

    Checked between steps, so a step that starts below the budget completes.

    Examples:
        >>> from optim import CentralDifference, FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> result = Optimizer(
        ...     Sphere(),
        ...     step_rule=FixedStep(0.1),
        ...     estimator=CentralDifference(),
        ...     max_evaluations=10,
        ... ).run([1.0, 2.0])
        >>> result.status.name, result.evaluations
        ('MAX_EVALUATIONS', 10)
    """

    max_evaluations: int = attrs.field(validator=_validators.count)
    """The objective-evaluation budget."""

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if info.evaluations < self.max_evaluations:
            return None
        return Stop(
            Status.MAX_EVALUATIONS,
            f"used up max_evaluations={self.max_evaluations} objective evaluations "
            f"({info.evaluations}) in {info.step} steps",
        )


@attrs.define
class MaxTime(Callback):
    """Stop with `MAX_TIME` once `max_time` seconds have passed since the start.

    The clock starts in [`on_start`][optim.callbacks.Callback.on_start], so the
    budget counts per call of `run`, `iterate` or `resume`.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> Optimizer(
        ...     Sphere(), step_rule=FixedStep(1e-9), max_time=1e-3, max_steps=10**9
        ... ).run([1.0]).status.name
        'MAX_TIME'
    """

    max_time: float = attrs.field(validator=_validators.positive)
    """The wall-time budget in seconds."""

    _deadline: float = attrs.field(default=math.inf, init=False, repr=False)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self._deadline = time.monotonic() + self.max_time

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if time.monotonic() < self._deadline:
            return None
        return Stop(
            Status.MAX_TIME,
            f"ran out of max_time={self.max_time:g} s after {info.step} steps",
        )


@attrs.frozen
class MaxGrowth(Callback):
    """Stop with `DIVERGED` once the objective is far worse than at the start.

    The run diverges when the minimized function ($f$, or $-f$ in ascent) exceeds
    its starting value by more than `max_growth * (1 + |start|)`.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> result = Optimizer(Sphere(), step_rule=FixedStep(10.0)).run([-3.0, 4.0])
        >>> result.status.name, result.steps
        ('DIVERGED', 3)
    """

    max_growth: float = attrs.field(validator=_validators.positive)
    """How many times its starting size the objective may worsen by."""

    sign: float = attrs.field(default=1.0, kw_only=True)
    """`+1` in descent, `-1` in ascent (the mode's sign)."""

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        start = self.sign * info.run_state.start_value
        loss = self.sign * info.value
        if not loss > start + self.max_growth * (1.0 + abs(start)):
            return None
        return Stop(
            Status.DIVERGED,
            f"the objective grew from {info.run_state.start_value:.6g} to "
            f"{info.value:.6g} in {info.step} steps (more than "
            f"max_growth={self.max_growth:g} times its starting size): the run is "
            "diverging; the learning rate is likely too large",
        )


def diagnose(state: RunState, *, sign: float, max_steps: int) -> tuple[str, str]:
    """Explain a run that used up its steps, if it went wrong.

    Args:
        state: The run's state at its last step.
        sign: `+1` in descent, `-1` in ascent.
        max_steps: The step budget.

    Returns:
        A clause to append to the message (or `""`) and the diagnosis:
        `"oscillating"` (the objective failed to improve in at least half of the
        steps: the learning rate is likely too large), `"stalled"` (it improved by
        less than 1% of its size: the learning rate may be too small) or `""`.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> state = (
        ...     Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=10)
        ...     .run([3.0, 2.0])
        ...     .run_state
        ... )
        >>> diagnose(state, sign=1.0, max_steps=10)[1]
        'oscillating'
    """
    if max_steps == 0:
        return "", ""
    stalls = state.non_improving_steps
    if stalls * 2 >= max_steps:
        return (
            f"; the objective failed to improve in {stalls} of {max_steps} steps: the "
            "iterates oscillate, so the learning rate is likely too large"
        ), "oscillating"
    start, loss = sign * state.start_value, sign * state.value
    scale = max(abs(start), abs(loss))
    improvement = start - loss
    if scale > 0.0 and improvement < 1e-2 * scale:
        return (
            f"; progress was tiny (the objective improved by "
            f"{100 * improvement / scale:.2g}% of its size): the learning rate may be "
            "too small"
        ), "stalled"
    return "", ""
