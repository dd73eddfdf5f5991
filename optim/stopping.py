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
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import machine_eps
from optim._types import Array, override
from optim.callbacks import Callback
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
    Richardson,
)
from optim.result import Status, StepInfo, Stop
from optim.run import RunContext, RunRecord

if TYPE_CHECKING:
    from optim.evaluator import Evaluator
    from optim.projections import Projection

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
    "gradient_mismatch",
    "second_step",
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

    stop_test: ClassVar[bool] = True

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

    stop_test: ClassVar[bool] = True

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

    stop_test: ClassVar[bool] = True

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

    stop_test: ClassVar[bool] = True

    max_growth: float = attrs.field(validator=_validators.positive)
    """How many times its starting size the objective may worsen by."""

    sign: float = attrs.field(default=1.0, kw_only=True)
    """`+1` in descent, `-1` in ascent (the mode's sign)."""

    advice: str = attrs.field(default="", kw_only=True)
    """What to try, appended to the message (see [`advice`][optim.stopping.advice])."""

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        start = self.sign * info.start_value
        loss = self.sign * info.value
        if not loss > start + self.max_growth * (1.0 + abs(start)):
            return None
        moved = "grew" if self.sign > 0 else "fell"
        return Stop(
            Status.DIVERGED,
            f"the objective {moved} from {info.start_value:.6g} to "
            f"{info.value:.6g} in {info.step} steps (more than "
            f"max_growth={self.max_growth:g} times its starting size): the run is "
            f"diverging{'; ' + self.advice if self.advice else ''}",
        )


@attrs.frozen
class ZeroGradient(Callback):
    """Stop with `CONVERGED` when the gradient is exactly zero: a stationary point.

    Always on: no step rule can move from there. With an inexact estimator (an
    estimate of exactly zero, with an error estimate) the optimizer checks the
    claim by an independent estimate before it ends the run (see
    [`Stop.gradient_tol`][optim.result.Stop.gradient_tol]): confirmed, or below
    what the estimator can resolve, the run ends `CONVERGED`; a random estimate
    that cannot tell ends it `NOISE_FLOOR`.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> result = Optimizer(Sphere(), step_rule=FixedStep(0.5)).run([3.0, 2.0])
        >>> result.status.name, result.steps, result.message
        ('CONVERGED', 1, 'the gradient is exactly zero at step 1: a stationary point')
    """

    stop_test: ClassVar[bool] = True

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if info.gradient_norm != 0.0:
            return None
        if info.gradient_error:  # an estimate of zero, below its own resolution
            return Stop(
                Status.CONVERGED,
                f"the estimated gradient is exactly zero at step {info.step} (error "
                f"estimate {info.gradient_error:.3g})",
                gradient_tol=0.0,  # checked by an independent estimate
            )
        return Stop(
            Status.CONVERGED,
            f"the gradient is exactly zero at step {info.step}: a stationary point",
            gradient_tol=0.0,
        )


def confirming_estimator(estimator: GradientEstimator) -> GradientEstimator | None:
    """The estimator that confirms a small gradient at the end of a run, if any.

    An exact gradient ([`AnalyticGradient`][optim.gradients.AnalyticGradient]) and
    complex steps (accurate to rounding) need no confirmation (`None`); a random
    estimate is checked by [`second_step`][optim.stopping.second_step] only. Any
    other is confirmed by Richardson extrapolation, whose error estimate bounds its
    error, when the cheap [`second_step`][optim.stopping.second_step] check cannot
    tell.

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
        >>> confirming_estimator(SPSA(samples=4, rng=1)) is None
        True
    """
    if isinstance(estimator, AnalyticGradient | ComplexStep | SPSA):
        return None
    options = {
        name: getattr(estimator, name)
        for name in ("max_batch_bytes", "batch_size", "executor")
        if hasattr(estimator, name)
    }
    return Richardson(**options)


def second_step(estimator: GradientEstimator, x: Array) -> GradientEstimator | None:
    r"""The cheap, independent check of a small gradient: the same scheme, another step.

    For forward, backward and central differences with the automatic step, the
    same differences with a step 4 times (one-sided) or 2 times (central) larger:
    their truncation error differs, so the difference between the two estimates
    bounds the run's error (`n` evaluations, where Richardson extrapolation costs
    about `26 n`). For [`SPSA`][optim.gradients.SPSA], a fresh estimate of at least
    32 samples with a perturbation 4 times larger, so that it does not share the
    run's truncation bias. `None` for other estimators (exact ones need no check).

    Args:
        estimator: The run's estimator.
        x: The point.

    Returns:
        The checking estimator, or `None`.

    Examples:
        >>> import numpy as np
        >>> from optim import ForwardDifference
        >>> check = second_step(ForwardDifference(), np.array([0.5, -3.0]))
        >>> bool(np.allclose(check.step / np.sqrt(np.finfo(float).eps), [4.0, 12.0]))
        True
    """
    eps = machine_eps(x)
    # The steps are the estimator's configuration, a host array: another
    # library's point crosses once, at this boundary.
    scale = np.maximum(1.0, np.abs(backend.to_host(x)))
    if isinstance(estimator, SPSA):
        step = estimator.step
        wider = 4.0 * (eps ** (1.0 / 3.0) * scale if step is None else step)
        return attrs.evolve(
            estimator, samples=max(32, 4 * estimator.samples), step=wider
        )
    exact_type = type(estimator) in (
        ForwardDifference,
        BackwardDifference,
        CentralDifference,
    )
    if not exact_type or getattr(estimator, "step", 0.0) is not None:
        return None  # a user's subclass, or a step the user chose: no guess
    if isinstance(estimator, ForwardDifference | BackwardDifference):
        return attrs.evolve(estimator, step=4.0 * eps**0.5 * scale)
    if isinstance(estimator, CentralDifference):
        return attrs.evolve(estimator, step=2.0 * eps ** (1.0 / 3.0) * scale)
    return None


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
    state: RunRecord, *, sign: float, max_steps: int, rule: Any = None
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


def at_rounding_level(state: RunRecord) -> bool:
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
    x = state.x
    scale = max(1.0, math.sqrt(backend.vdot(x, x)))
    eps = _EPS if type(x) is np.ndarray and x.dtype == np.float64 else machine_eps(x)
    return state.gradient_norm * scale <= 1e3 * eps * max(1.0, abs(state.value))


def gradient_mismatch(
    state: RunRecord, evaluator: Evaluator, constraint: Projection | None = None
) -> str:
    r"""Say so if small steps along the gradient disagree with the objective's values.

    Steps $-t g$ of shrinking length (a factor of 10 apart, $10^{0}$ down to
    $10^{-16}$) are scaled per coordinate: each moves no coordinate $x_i$ by
    more than that fraction of $\max(|x_i|, s)$, where
    $s = \sqrt{\epsilon} \max(1, \|x\|_\infty)$ stands in for coordinates at or
    near 0, so that the steps become small on badly scaled problems too. Each
    should lower the minimized function by about its predicted change
    $t \|g\|^2$; a step is resolvable when that is well above the rounding error
    of $f$ ($10^3 \epsilon \max(1, |f|)$). For a correct gradient the ratio of
    observed to predicted change tends to 1 as the steps shrink: curvature
    moves it in proportion to $t$ and rounding in proportion to $1/t$, so
    neither keeps it steady. The gradient is blamed (a sign or scale error in
    `gradient()`) only when, at resolvable steps, the ratio settles (steady
    within 20% over three successive steps) more than a factor of 2 away from
    1; three successive steps within a factor of 2 clear it, and so does
    running out of resolvable steps. Costs at most 17 evaluations, three when
    the values agree at once. Under a constraint the trial points are projected onto it,
    and the predicted change is $g^\top (x - P(x - t g))$.

    Args:
        state: The run's state at its last point.
        evaluator: The run's evaluations (values in the minimization convention).
        constraint: The run's constraint, or `None`.

    Returns:
        A clause blaming the gradient, or `""` when the values agree with it (or
            cannot tell).

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, FunctionObjective, Optimizer
        >>> wrong = FunctionObjective(lambda x: float(x @ x), lambda x: -2.0 * x)
        >>> result = Optimizer(wrong, step_rule=FixedStep(0.1)).run([3.0, 2.0])
        >>> result.diagnosis, "sign or scale error" in result.message
        ('gradient_mismatch', True)
    """
    norm = _norm(state.gradient)
    if not (state.gradient_norm > 0.0 and math.isfinite(norm)):
        return ""
    loss, gradient = evaluator.minimized(state.value, state.gradient)
    x = state.x
    eps = machine_eps(x)  # float32's in a float32 run
    floor = 1e3 * eps * max(1.0, abs(loss))
    xp = backend.namespace_of(x)
    if xp is not np:  # another library's arrays: no buffers, the same steps
        size = xp.maximum(xp.abs(x), eps**0.5 * max(1.0, float(xp.max(xp.abs(x)))))
        reach = float(xp.max(xp.abs(gradient) / size))
        if not (math.isfinite(reach) and reach > 0.0):
            return ""
        return _mismatch(x, gradient, loss, reach, floor, evaluator, constraint, None)
    # Two work arrays, reused: the probe adds two n-vectors to a run's memory.
    work = np.abs(x, out=np.empty_like(x))
    other = np.abs(gradient, out=np.empty_like(gradient))
    typical = max(1.0, float(np.max(work, initial=0.0)))
    scale = np.maximum(work, eps**0.5 * typical, out=work)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = float(np.max(np.divide(other, scale, out=other)))
    if not (math.isfinite(reach) and reach > 0.0):
        return ""
    try:
        return _mismatch(
            x, gradient, loss, reach, floor, evaluator, constraint, (work, other)
        )
    finally:
        evaluator.forget()  # its last trial point is a work array


def _mismatch(
    x: Array,
    gradient: Array,
    loss: float,
    reach: float,
    floor: float,
    evaluator: Evaluator,
    constraint: Projection | None,
    buffers: tuple[Array, Array] | None,
) -> str:
    """The steps of `gradient_mismatch`, computed in two work arrays (if given)."""
    ratios: list[float] = []
    for k in range(_LEVELS):
        t = 10.0**-k / reach
        if buffers is None:
            point = x - gradient * t
        else:
            point = np.subtract(
                x, np.multiply(gradient, t, out=buffers[0]), out=buffers[0]
            )
        if constraint is not None:
            point = constraint.project(point)
        if buffers is None:
            predicted = backend.vdot(gradient, x - point)
        else:
            change = np.subtract(x, point, out=buffers[1])
            predicted = float(np.vdot(gradient, change))
        if not predicted > floor:
            break
        try:
            trial = evaluator.value(point)
        except Exception:
            return ""
        ratio = (loss - trial) / predicted
        ratios.append(ratio)
        if len(ratios) >= 3 and all(0.5 <= r <= 2.0 for r in ratios[-3:]):
            return ""  # the values agree with the gradient at three steps in a row
        if len(ratios) >= 3 and _steady(ratios[-3:]) and not 0.5 <= ratio <= 2.0:
            return (
                "the gradient disagrees with the objective's values: small steps "
                f"along -gradient changed the objective by {ratio:.3g} times the "
                "predicted amount, steadily as they shrank (a sign or scale error "
                "in gradient()?); check it with optim.check_gradient"
            )
    return ""


_LEVELS = 17
"""How many step lengths the mismatch probe tries at most ($10^0$ to $10^{-16}$
of each coordinate's scale)."""


def _steady(ratios: list[float]) -> bool:
    """Whether successive ratios agree within 20% of their size: a true limit."""
    size = max(abs(r) for r in ratios)
    return math.isfinite(size) and max(ratios) - min(ratios) <= 0.2 * size


def _norm(array: Array) -> float:
    return math.sqrt(backend.vdot(array, array))
