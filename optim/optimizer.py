"""The `Optimizer`: the one loop that combines objective, estimator and step rule."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any

import attrs
import numpy as np

from optim import _validators
from optim._arrays import as_start_point
from optim._types import Array, ArrayLike
from optim.callbacks import Callback, CallbackLike
from optim.errors import OptimizationError
from optim.evaluator import Evaluator
from optim.gradients import AnalyticGradient, CentralDifference, GradientEstimator
from optim.mode import Mode, to_mode
from optim.objective import FunctionObjective, Objective, _check_sendable
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import StepRule

_StartHook = Callable[["Optimizer", Array], None]
_StepHook = Callable[[StepInfo], bool | Stop | None]
_EndHook = Callable[[Result], None]


def _to_objective(objective: Objective | Callable[[Array], Any]) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if callable(objective):
        return FunctionObjective(objective)
    raise TypeError(
        f"objective must be an Objective or a callable, got {type(objective).__name__}"
    )


def _to_callbacks(callbacks: Iterable[CallbackLike]) -> tuple[CallbackLike, ...]:
    if isinstance(callbacks, Callback) or callable(callbacks):
        return (callbacks,)
    result = tuple(callbacks)
    for callback in result:
        if not isinstance(callback, Callback) and not callable(callback):
            raise TypeError(
                "callbacks must be Callback instances or functions, got "
                f"{type(callback).__name__}"
            )
    return result


def _instance_of(kind: type, *, optional: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (value is None and optional) or isinstance(value, kind):
            return
        raise TypeError(
            f"{attribute.name} must be a {kind.__name__} instance, got "
            f"{type(value).__name__}"
        )

    return check


def _norm(array: Array) -> float:
    return math.sqrt(np.vdot(array, array))


def _error_norm(error: Array | None) -> float | None:
    return None if error is None else _norm(error)


@attrs.frozen
class Optimizer:
    """Minimize or maximize an objective with a gradient estimator and a step rule.

    The optimizer is immutable configuration; each
    [`run`][optim.optimizer.Optimizer.run] (or
    [`iterate`][optim.optimizer.Optimizer.iterate]) starts from a private copy of
    `x0`. At each step it evaluates the value and gradient, hands a record to the
    callbacks, asks the step rule for a displacement and moves. It stops when a
    callback says so, after `max_steps` updates, when a budget runs out, or when the
    run diverges: a non-finite value or gradient (the result then holds the last
    finite iterate), or an objective that has worsened by more than `max_growth`
    times its starting magnitude.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer, StopOnZeroGradient
        >>> from optim.problems import Sphere
        >>> optimizer = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[StopOnZeroGradient(1e-8)]
        ... )
        >>> result = optimizer.run(np.array([3.0, 2.0]))
        >>> result.status.name, np.round(result.x, 8)
        ('CONVERGED', array([0., 0.]))

        Ascent maximizes; values stay in the user's sign:

        >>> hill = lambda x: -((x[0] - 1) ** 2) - (x[1] + 2) ** 2
        >>> result = Optimizer(hill, step_rule=FixedStep(0.1), mode="ascent").run(
        ...     [0, 0]
        ... )
        >>> np.round(result.x, 6), float(round(result.value, 12))
        (array([ 1., -2.]), -0.0)
    """

    objective: Objective = attrs.field(converter=_to_objective)
    """What to optimize; a plain function is wrapped in a
    [`FunctionObjective`][optim.objective.FunctionObjective]."""

    step_rule: StepRule[Any] = attrs.field(
        kw_only=True, validator=_instance_of(StepRule)
    )
    """How a gradient becomes a step."""

    estimator: GradientEstimator | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_instance_of(GradientEstimator, optional=True),
    )
    """How gradients are obtained; `None` picks
    [`AnalyticGradient`][optim.gradients.AnalyticGradient] when the objective has a
    gradient and [`CentralDifference`][optim.gradients.CentralDifference] otherwise."""

    mode: Mode = attrs.field(default=Mode.DESCENT, kw_only=True, converter=to_mode)
    """`"descent"` minimizes, `"ascent"` maximizes."""

    callbacks: tuple[CallbackLike, ...] = attrs.field(
        default=(), kw_only=True, converter=_to_callbacks
    )
    """Called in order at every step; see [`Callback`][optim.callbacks.Callback]."""

    max_steps: int = attrs.field(
        default=1000, kw_only=True, validator=_validators.count
    )
    """Most updates a run applies (status `MAX_STEPS`)."""

    max_evaluations: int | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_count
    )
    """Objective-evaluation budget (status `MAX_EVALUATIONS`), checked between
    steps; `None` for no budget."""

    max_time: float | None = attrs.field(
        default=None, kw_only=True, validator=_validators.optional_positive
    )
    """Wall-time budget in seconds for one call of `run` or `resume` (status
    `MAX_TIME`), checked between steps; `None` for no budget."""

    max_growth: float | None = attrs.field(
        default=1e6, kw_only=True, validator=_validators.optional_positive
    )
    """Divergence test: the run ends `DIVERGED` once the objective is worse than at
    the start by more than `max_growth * (1 + |f(x0)|)`. `None` switches it off."""

    errors: str = attrs.field(
        default="raise",
        kw_only=True,
        validator=attrs.validators.in_(("raise", "diverge")),
    )
    """What an exception from the objective, estimator or step rule does in the
    middle of a run: `"raise"` raises an
    [`OptimizationError`][optim.errors.OptimizationError] carrying the step and a
    result with the last good iterate; `"diverge"` ends the run `DIVERGED` with that
    iterate instead."""

    @estimator.validator
    def _check_estimator(
        self, attribute: attrs.Attribute[Any], value: GradientEstimator | None
    ) -> None:
        executor = getattr(value, "executor", None)
        if executor is not None:  # refuse what cannot reach the workers, up front
            _check_sendable(self.objective, executor)
        if isinstance(value, AnalyticGradient) and not self.objective.has_gradient:
            raise ValueError(
                "estimator is AnalyticGradient() but the objective "
                f"{type(self.objective).__name__} has no analytic gradient; use "
                "estimator=None or a finite-difference estimator"
            )

    @property
    def gradient_estimator(self) -> GradientEstimator:
        """The estimator a run uses (resolves `estimator=None`)."""
        if self.estimator is not None:
            return self.estimator
        if self.objective.has_gradient:
            return AnalyticGradient()
        return CentralDifference()

    def run(self, x0: ArrayLike) -> Result:
        """Optimize from `x0` and return the result.

        Ctrl-C (`KeyboardInterrupt`) ends the run cleanly with status `INTERRUPTED`
        and the best point so far. numpy's overflow and invalid-value warnings are
        silenced during the run: what they would say is in the status and message.

        Args:
            x0: Starting point, an array of any shape (integers are treated as
                floats); it is copied, never modified.

        Returns:
            The final point and value, counters, status and message.

        Raises:
            TypeError: If `x0` is not a real numeric array.
            ValueError: If `x0` is empty or non-finite, or the objective's value or
                gradient at `x0` is not finite.
            OptimizationError: If something raised in the middle of the run (with
                `errors="raise"`); it holds the result so far.

        Examples:
            >>> import numpy as np
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=3).run(
            ...     [3.0, 2.0]
            ... ).x
            array([-3., -2.])
        """
        return _drain(self.iterate(x0))

    def iterate(self, x0: ArrayLike) -> Generator[StepInfo, None, Result]:
        """Optimize step by step, yielding a [`StepInfo`][optim.result.StepInfo] a step.

        This is the loop behind [`run`][optim.optimizer.Optimizer.run]: callbacks run
        before each record is yielded, and the generator returns the
        [`Result`][optim.result.Result] (as `StopIteration.value`). Stop early by
        leaving the loop.

        Args:
            x0: Starting point; copied, never modified.

        Yields:
            One record per step, the starting point (step 0) first.

        Returns:
            The result, when the run ends by itself.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25))
            >>> for info in optimizer.iterate([1.0, 0.0]):
            ...     if info.value < 0.01:
            ...         break
            >>> info.step, info.value
            (4, 0.00390625)
        """
        x = as_start_point(x0)
        evaluator = Evaluator(self.objective, self.gradient_estimator, self.mode)
        starts, steps, ends = self._hooks()
        for start in starts:
            start(self, x)
        try:
            value, gradient, error = evaluator._evaluate(x)
        except Exception as failure:
            failure.add_note(
                f"optim: raised while evaluating the objective at x0 (shape {x.shape})"
            )
            raise
        gradient_norm = _norm(gradient)
        if not (math.isfinite(value) and math.isfinite(gradient_norm)):
            raise ValueError(
                f"the objective's value ({value}) and gradient norm ({gradient_norm}) "
                "at x0 must be finite"
            )
        first = StepInfo(
            0,
            x,
            value,
            gradient,
            gradient_norm,
            _error_norm(error),
            evaluator.evaluations,
            evaluator.gradient_evaluations,
            self.step_rule.init(x),
            x,
            value,
            0,
            0,
            value,
        )
        return (yield from self._loop(first, evaluator, steps, ends, announce=True))

    def resume_from(self, info: StepInfo) -> Generator[StepInfo, None, Result]:
        """Continue a run from a saved `StepInfo`, step by step.

        The record's step is not announced again: the first record yielded is the
        next step. Counters continue from the record's. With the same configuration,
        the continued run takes exactly the steps the uninterrupted run would have
        taken. [`Checkpoint`][optim.checkpoint.Checkpoint] files are loaded with
        [`Optimizer.resume`][optim.optimizer.Optimizer.resume].

        Args:
            info: The state to continue from.

        Yields:
            One record per step after `info.step`.

        Returns:
            The result, when the run ends by itself.

        Examples:
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.25), max_steps=3)
            >>> for info in optimizer.iterate([8.0]):
            ...     if info.step == 1:
            ...         break
            >>> [float(later.x[0]) for later in optimizer.resume_from(info)]
            [2.0, 1.0]
        """
        evaluator = Evaluator(self.objective, self.gradient_estimator, self.mode)
        evaluator._counted.evaluations = info.evaluations
        evaluator._counted.gradient_evaluations = info.gradient_evaluations
        starts, steps, ends = self._hooks()
        for start in starts:
            start(self, info.x)
        return (yield from self._loop(info, evaluator, steps, ends, announce=False))

    def resume(self, path: str | os.PathLike[str]) -> Result:
        """Continue a run from a checkpoint file and return the result.

        The optimizer's configuration (objective type, step rule, estimator and
        mode) must match the checkpoint's; the budgets and callbacks may differ
        (raise `max_steps` to continue a run that used them up).

        Args:
            path: A file written by [`Checkpoint`][optim.checkpoint.Checkpoint] or
                [`save_checkpoint`][optim.checkpoint.save_checkpoint].

        Returns:
            The result, as if the run had never stopped.

        Raises:
            CheckpointError: If the file is unreadable or from another
                configuration.

        Examples:
            >>> import tempfile, pathlib
            >>> from optim import Checkpoint, FixedStep
            >>> from optim.problems import Sphere
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
            >>> optimizer = Optimizer(
            ...     Sphere(), step_rule=FixedStep(0.25), callbacks=[Checkpoint(path)]
            ... )
            >>> attrs.evolve(optimizer, max_steps=2).run([8.0]).x
            array([2.])
            >>> attrs.evolve(optimizer, max_steps=3).resume(path).x
            array([1.])
        """
        from optim.checkpoint import load_checkpoint

        return _drain(self.resume_from(load_checkpoint(path, self)))

    def _loop(
        self,
        info: StepInfo,
        evaluator: Evaluator,
        step_hooks: tuple[_StepHook, ...],
        end_hooks: tuple[_EndHook, ...],
        *,
        announce: bool,
    ) -> Generator[StepInfo, None, Result]:
        """The one loop: announce a step, check the stopping tests, take a step."""
        rule = self.step_rule
        counted = evaluator._counted
        max_steps = self.max_steps
        max_evaluations = self.max_evaluations
        deadline = None if self.max_time is None else time.monotonic() + self.max_time
        step, x, value, gradient = info.step, info.x, info.value, info.gradient
        gradient_norm, state = info.gradient_norm, info.state
        best_x, best_value, best_step = info.best_x, info.best_value, info.best_step
        stalls, start_value = info.non_improving_steps, info.start_value
        error_norm = info.gradient_error
        loss, descent_gradient = evaluator._orient(value, gradient)
        best_loss = evaluator._orient_value(best_value)
        start_loss = evaluator._orient_value(start_value)
        growth_limit = (
            math.inf
            if self.max_growth is None
            else start_loss + self.max_growth * (1.0 + abs(start_loss))
        )
        stop: Stop | None = None
        diagnosis = ""
        failure: Exception | None = None
        failed_step = -1
        try:
            while True:
                if announce:
                    for hook in step_hooks:
                        try:
                            answer = hook(info)
                        except Exception as error:
                            failure, failed_step = error, step
                            raise _CallbackFailed(_name(hook)) from error
                        if answer and stop is None:
                            stop = _as_stop(answer, hook, step)
                    yield info
                announce = True
                if stop is not None:
                    status, message = stop.status, stop.message
                    break
                if step >= max_steps:
                    status = Status.MAX_STEPS
                    message, diagnosis = _max_steps_message(
                        max_steps, gradient_norm, start_loss, loss, stalls
                    )
                    break
                if max_evaluations is not None and counted.evaluations >= (
                    max_evaluations
                ):
                    status = Status.MAX_EVALUATIONS
                    message = (
                        f"used up max_evaluations={max_evaluations} objective "
                        f"evaluations ({counted.evaluations}) in {step} steps"
                    )
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    status = Status.MAX_TIME
                    message = (
                        f"ran out of max_time={self.max_time:g} s after {step} steps"
                    )
                    break

                try:
                    delta, new_state = rule.update(
                        descent_gradient, state, x=x, value=loss, evaluator=evaluator
                    )
                    # A non-finite step shows up in the value or gradient at the new
                    # point; checking the step as well would cost a pass over it.
                    new_x = x + delta
                    new_value, new_gradient, new_error = evaluator._evaluate(new_x)
                except Exception as error:  # the run's result must survive it
                    failure, failed_step = error, step + 1
                    status = Status.FAILED
                    message = (
                        f"step {step + 1} raised {error!r}; the result is the last "
                        f"good iterate (step {step})"
                    )
                    break
                new_gradient_norm = _norm(new_gradient)
                if not (math.isfinite(new_value) and math.isfinite(new_gradient_norm)):
                    status = Status.DIVERGED
                    message = (
                        f"step {step + 1} produced a non-finite value or gradient; the "
                        f"result is the last finite iterate (step {step}); the "
                        "learning rate is likely too large"
                    )
                    break
                step += 1
                x, value, gradient, state = new_x, new_value, new_gradient, new_state
                gradient_norm, error_norm = new_gradient_norm, _error_norm(new_error)
                loss, descent_gradient = evaluator._orient(value, gradient)
                if loss < best_loss:
                    best_loss, best_x, best_value, best_step = loss, x, value, step
                else:
                    stalls += 1
                info = StepInfo(
                    step,
                    x,
                    value,
                    gradient,
                    gradient_norm,
                    error_norm,
                    counted.evaluations,
                    counted.gradient_evaluations,
                    state,
                    best_x,
                    best_value,
                    best_step,
                    stalls,
                    start_value,
                )
                if loss > growth_limit:
                    status = Status.DIVERGED
                    message = (
                        f"the objective grew from {start_value:.6g} to {value:.6g} in "
                        f"{step} steps (more than max_growth={self.max_growth:g} "
                        "times its starting size): the run is diverging; the learning "
                        "rate is likely too large"
                    )
                    break
        except _CallbackFailed as error:
            status = Status.FAILED
            message = (
                f"callback {error} raised {failure!r} at step {step}; the result is "
                f"that step's iterate"
            )
        except KeyboardInterrupt:
            status = Status.INTERRUPTED
            message = (
                f"interrupted (KeyboardInterrupt) after {step} steps; the result is "
                f"the last complete iterate, and best_x the best point (step "
                f"{best_step})"
            )

        last_step: StepInfo | None = info  # what a resumed run continues from
        if not np.isfinite(x).all():
            # Only an objective that is finite at non-finite points gets here.
            last_step = None
            status = Status.DIVERGED
            message = (
                "the iterates became non-finite although the objective stayed finite "
                "there; the result is the best finite iterate"
            )
            step, x, value, gradient = best_step, best_x, best_value, best_x * np.nan
            gradient_norm = math.nan
        step_failed = status is Status.FAILED and failed_step > step
        if step_failed and self.errors == "diverge":
            status = Status.DIVERGED
        result = Result(
            x=x,
            value=value,
            gradient=gradient,
            gradient_norm=gradient_norm,
            steps=step,
            evaluations=counted.evaluations,
            gradient_evaluations=counted.gradient_evaluations,
            status=status,
            message=message,
            best_x=best_x,
            best_value=best_value,
            mode=self.mode,
            diagnosis=diagnosis,
            last_step=last_step,
        )
        for end in end_hooks:
            end(result)
        if status is Status.FAILED:
            raise OptimizationError(
                message, step=failed_step, result=result
            ) from failure
        return result

    def _hooks(
        self,
    ) -> tuple[tuple[_StartHook, ...], tuple[_StepHook, ...], tuple[_EndHook, ...]]:
        starts: list[_StartHook] = []
        steps: list[_StepHook] = []
        ends: list[_EndHook] = []
        for callback in self.callbacks:
            if isinstance(callback, Callback):
                starts.append(callback.on_start)
                steps.append(callback.on_step)
                ends.append(callback.on_end)
            else:
                steps.append(callback)
        return tuple(starts), tuple(steps), tuple(ends)


class _CallbackFailed(Exception):
    """Internal: a callback raised; carries the callback's name."""


def _drain(steps: Generator[StepInfo, None, Result]) -> Result:
    """Run a step generator to its end and return its result.

    A `KeyboardInterrupt` that lands between two steps is handed to the generator,
    which ends the run cleanly.
    """
    # Overflow on the way to divergence is reported through the status and
    # message, so numpy's floating-point warnings would only be noise here.
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            try:
                try:
                    next(steps)
                except KeyboardInterrupt:
                    steps.throw(KeyboardInterrupt())
            except StopIteration as finished:
                result: Result = finished.value
                return result


def _as_stop(answer: object, hook: Callable[..., object], step: int) -> Stop:
    if isinstance(answer, Stop):
        return answer
    return Stop(Status.STOPPED, f"stopped by callback {_name(hook)} at step {step}")


def _name(hook: Callable[..., object]) -> str:
    owner = getattr(hook, "__self__", None)
    if owner is not None:
        return type(owner).__name__
    return getattr(hook, "__qualname__", repr(hook))


def _max_steps_message(
    max_steps: int, gradient_norm: float, start_loss: float, loss: float, stalls: int
) -> tuple[str, str]:
    """Explain a run that used up its steps, and diagnose it if it went wrong."""
    message = f"reached max_steps={max_steps} with gradient norm {gradient_norm:.3g}"
    if max_steps == 0:
        return message, ""
    if stalls * 2 >= max_steps:
        return (
            f"{message}; the objective failed to improve in {stalls} of {max_steps} "
            "steps: the iterates oscillate, so the learning rate is likely too large"
        ), "oscillating"
    scale = max(abs(start_loss), abs(loss))
    improvement = start_loss - loss
    if scale > 0.0 and improvement < 1e-2 * scale:
        return (
            f"{message}; progress was tiny (the objective improved by "
            f"{100 * improvement / scale:.2g}% of its size): the learning rate may be "
            "too small"
        ), "stalled"
    return message, ""
