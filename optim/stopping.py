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
from typing import Any

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.callbacks import Callback
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    ComplexStep,
    GradientEstimator,
    Richardson,
)
from optim.result import Status, StepInfo, Stop
from optim.run import RunContext, RunState

__all__ = [
    "MaxEvaluations",
    "MaxGrowth",
    "MaxSteps",
    "MaxTime",
    "ZeroGradient",
    "advice",
    "at_rounding_level",
    "confirming_estimator",
    "diagnose",
]

_EPS = float(np.finfo(np.float64).eps)


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
        >>> print(result.message.split("; ")[-1])
        the learning rate is likely too large (FixedStep's learning_rate=10.0)
    """

    max_growth: float = attrs.field(validator=_validators.positive)
    """How many times its starting size the objective may worsen by."""

    sign: float = attrs.field(default=1.0, kw_only=True)
    """`+1` in descent, `-1` in ascent (the mode's sign)."""

    advice: str = attrs.field(default="", kw_only=True)
    """What to try, appended to the message (see [`advice`][optim.stopping.advice])."""

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
            f"diverging{'; ' + self.advice if self.advice else ''}",
        )


@attrs.frozen
class ZeroGradient(Callback):
    """Stop with `CONVERGED` when the gradient is exactly zero: a stationary point.

    Always on: no step rule can move from there. An estimate of exactly zero with
    an error estimate is below the estimator's resolution: the run ends
    `NOISE_FLOOR`. Otherwise, with an inexact estimator, the optimizer confirms the
    claim before it ends the run (see
    [`Stop.gradient_tol`][optim.result.Stop.gradient_tol]).

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> result = Optimizer(Sphere(), step_rule=FixedStep(0.5)).run([3.0, 2.0])
        >>> result.status.name, result.steps, result.message
        ('CONVERGED', 1, 'the gradient is exactly zero at step 1: a stationary point')
    """

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if info.gradient_norm != 0.0:
            return None
        if info.gradient_error:  # an estimate of zero, below its own resolution
            return Stop(
                Status.NOISE_FLOOR,
                f"the estimated gradient is exactly zero at step {info.step}, below "
                f"the estimator's resolution (error estimate {info.gradient_error:.3g}"
                "): the gradient is not known to be zero",
            )
        return Stop(
            Status.CONVERGED,
            f"the gradient is exactly zero at step {info.step}: a stationary point",
            gradient_tol=0.0,
        )


def confirming_estimator(estimator: GradientEstimator) -> GradientEstimator | None:
    """The estimator that confirms a small gradient at the end of a run, if any.

    An exact gradient ([`AnalyticGradient`][optim.gradients.AnalyticGradient]) and
    complex steps (accurate to rounding) need no confirmation (`None`). A random
    estimate is confirmed by a fresh one of at least 32 samples, drawn from a
    stream independent of the run's; any other by Richardson extrapolation, whose
    error estimate bounds its error.

    Args:
        estimator: The run's estimator.

    Returns:
        The confirming estimator, or `None`.

    Examples:
        >>> from optim import SPSA, AnalyticGradient, CentralDifference
        >>> confirming_estimator(AnalyticGradient()) is None
        True
        >>> type(confirming_estimator(CentralDifference())).__name__
        'Richardson'
        >>> confirming_estimator(SPSA(samples=4, rng=1)).samples
        32
    """
    if isinstance(estimator, AnalyticGradient | ComplexStep):
        return None
    if isinstance(estimator, SPSA):
        return attrs.evolve(estimator, samples=max(32, 4 * estimator.samples))
    options = {
        name: getattr(estimator, name)
        for name in ("max_batch_bytes", "batch_size", "executor")
        if hasattr(estimator, name)
    }
    return Richardson(**options)


def advice(rule: Any, problem: str) -> str:
    """What to try when a run went wrong, naming only what the rule has.

    Args:
        rule: The step rule (a [`Chain`][optim.transforms.Chain] is looked into).
        problem: `"too large"` (oscillating or diverging steps) or `"too small"`
            (steps that barely move).

    Returns:
        A clause of advice: about the learning rate for rules that have one (naming
            the parameter and its value), about the line search or the gradient for
            line-search rules, and about the steps otherwise.

    Examples:
        >>> from optim import LBFGS, Adam
        >>> advice(Adam(0.5), "too large")
        "the learning rate is likely too large (Adam's learning_rate=0.5)"
        >>> advice(LBFGS(), "too large")[:43]
        'the line search could not control the steps'
    """
    inner = getattr(rule, "rule", None)
    if inner is not None and hasattr(rule, "before"):  # a Chain: its own rule
        return advice(inner, problem)
    verdict = f"is likely {problem}" if problem == "too large" else f"may be {problem}"
    if hasattr(rule, "learning_rate"):
        return (
            f"the learning rate {verdict} ({type(rule).__name__}'s "
            f"learning_rate={rule.learning_rate!r})"
        )
    if getattr(rule, "evaluates_trial_points", False):
        return (
            "the line search could not control the steps: check the gradient with "
            "optim.check_gradient, or try another search"
        )
    return f"the steps of {type(rule).__name__} {verdict.replace('is', 'are')}"


def diagnose(
    state: RunState, *, sign: float, max_steps: int, rule: Any = None
) -> tuple[str, str]:
    """Explain a run that used up its steps, if it went wrong.

    Args:
        state: The run's state at its last step.
        sign: `+1` in descent, `-1` in ascent.
        max_steps: The step budget.
        rule: The step rule, for advice that names only what it has (see
            [`advice`][optim.stopping.advice]).

    Returns:
        A clause to append to the message (or `""`) and the diagnosis:
            `"oscillating"` (the objective failed to improve in at least half of the
            steps: the steps are likely too large), `"stalled"` (it improved by less
            than 1% of its size: the steps may be too small) or `""`. A run whose
            gradient is at the level of floating-point rounding is at a stationary
            point, whatever its values did: it gets no advice about its steps.

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
    if at_rounding_level(state):
        return (
            "; the gradient is at the level of floating-point rounding: the run is at "
            "a stationary point (add a convergence test such as StopOnZeroGradient "
            "to stop there)"
        ), ""
    stalls = state.non_improving_steps
    if stalls * 2 >= max_steps:
        return (
            f"; the objective failed to improve in {stalls} of {max_steps} steps: the "
            f"iterates oscillate, so {advice(rule, 'too large')}"
        ), "oscillating"
    start, loss = sign * state.start_value, sign * state.value
    scale = max(abs(start), abs(loss))
    improvement = start - loss
    if scale > 0.0 and improvement < 1e-2 * scale:
        return (
            f"; progress was tiny (the objective improved by "
            f"{100 * improvement / scale:.2g}% of its size): "
            f"{advice(rule, 'too small')}"
        ), "stalled"
    return "", ""


def at_rounding_level(state: RunState) -> bool:
    r"""Whether the gradient is as small as rounding makes it: a stationary point.

    True when $\|g\| \cdot \max(1, \|x\|) \le 10^{3} \epsilon \max(1, |f|)$,
    so that no step along it can change $f$ by more than its rounding error
    ($\epsilon$ of the run's dtype: float32's in a float32 run).

    Args:
        state: A run's state.

    Returns:
        Whether the gradient is negligible at the scale of `x` and `f`.

    Examples:
        >>> from optim import Adam, Optimizer
        >>> from optim.problems import Sphere
        >>> state = Optimizer(Sphere(), step_rule=Adam(0.1)).run([1.0]).run_state
        >>> at_rounding_level(state), state.gradient_norm < 1e-12
        (True, True)
    """
    scale = max(1.0, math.sqrt(float(np.vdot(state.x, state.x))))
    eps = _EPS if state.x.dtype == np.float64 else float(np.finfo(state.x.dtype).eps)
    return state.gradient_norm * scale <= 1e3 * eps * max(1.0, abs(state.value))
