"""The `Optimizer`: the one loop that combines objective, estimator and step rule."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from typing import Any

import attrs
import numpy as np

from optim import _validators
from optim._arrays import as_start_point
from optim._types import Array, ArrayLike
from optim.callbacks import Callback, CallbackLike
from optim.evaluator import Evaluator
from optim.gradients import AnalyticGradient, CentralDifference, GradientEstimator
from optim.mode import Mode, to_mode
from optim.objective import FunctionObjective, Objective
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import StepRule

_Hooks = tuple[
    tuple[Callable[["Optimizer", Array], None], ...],
    tuple[Callable[[StepInfo], bool | Stop | None], ...],
    tuple[Callable[[Result], None], ...],
]


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


@attrs.frozen
class Optimizer:
    """Minimize or maximize an objective with a gradient estimator and a step rule.

    The optimizer is immutable configuration; each
    [`run`][optim.optimizer.Optimizer.run] (or
    [`iterate`][optim.optimizer.Optimizer.iterate]) starts from a private copy of
    `x0`. At each step it evaluates the value and gradient, hands a record to the
    callbacks, asks the step rule for a displacement and moves. It stops when a
    callback says so, after `max_steps` updates, or when the run diverges: a
    non-finite value, gradient or point (the result then holds the last finite
    iterate), or an objective that has worsened by more than `max_growth` times its
    starting magnitude.

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
        >>> np.round(result.x, 6), round(result.value, 12)
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
    """Most updates a run applies."""

    max_growth: float | None = attrs.field(
        default=1e6, kw_only=True, validator=_validators.optional_positive
    )
    """Divergence test: the run ends `DIVERGED` once the objective is worse than at
    the start by more than `max_growth * (1 + |f(x0)|)`. `None` switches it off."""

    @estimator.validator
    def _check_estimator(
        self, attribute: attrs.Attribute[Any], value: GradientEstimator | None
    ) -> None:
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

        Args:
            x0: Starting point, an array of any shape (integers are treated as
                floats); it is copied, never modified.

        Returns:
            The final point and value, counters, status and message.

        Raises:
            TypeError: If `x0` is not a real numeric array.
            ValueError: If `x0` is empty or non-finite, or the objective's value at
                `x0` is not a finite scalar.

        Examples:
            >>> import numpy as np
            >>> from optim import FixedStep
            >>> from optim.problems import Sphere
            >>> Optimizer(Sphere(), step_rule=FixedStep(1.0), max_steps=3).run(
            ...     [3.0, 2.0]
            ... ).x
            array([-3., -2.])
        """
        steps = self.iterate(x0)
        # Overflow on the way to divergence is reported through the status and
        # message, so numpy's floating-point warnings would only be noise here.
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                try:
                    next(steps)
                except StopIteration as finished:
                    result: Result = finished.value
                    return result

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
        starts, step_hooks, ends = self._hooks()
        evaluator = Evaluator(self.objective, self.gradient_estimator, self.mode)
        rule = self.step_rule
        for start in starts:
            start(self, x)

        value, gradient, error = evaluator._evaluate(x)
        gradient_norm = _norm(gradient)
        if not (math.isfinite(value) and math.isfinite(gradient_norm)):
            raise ValueError(
                f"the objective's value ({value}) and gradient norm ({gradient_norm}) "
                "at x0 must be finite"
            )
        loss, descent_gradient = evaluator._orient(value, gradient)
        state = rule.init(x)
        start_loss = best_loss = loss
        growth_limit = (
            math.inf
            if self.max_growth is None
            else start_loss + self.max_growth * (1.0 + abs(start_loss))
        )
        start_value = best_value = value
        best_x = x
        stalls = 0
        step = 0
        stop: Stop | None = None
        counted = evaluator._counted
        max_steps = self.max_steps
        while True:
            info = StepInfo(
                step,
                x,
                value,
                gradient,
                gradient_norm,
                None if error is None else _norm(error),
                counted.evaluations,
                counted.gradient_evaluations,
            )
            for hook in step_hooks:
                answer = hook(info)
                if answer and stop is None:
                    stop = (
                        answer
                        if isinstance(answer, Stop)
                        else Stop(
                            Status.STOPPED,
                            f"stopped by callback {_name(hook)} at step {step}",
                        )
                    )
            yield info
            if stop is not None:
                status, message = stop.status, stop.message
                break
            if step >= max_steps:
                status = Status.MAX_STEPS
                message = _max_steps_message(
                    max_steps, gradient_norm, start_loss, loss, stalls
                )
                break

            delta, state = rule.update(
                descent_gradient, state, x=x, value=loss, evaluator=evaluator
            )
            step += 1
            if math.isfinite(np.vdot(delta, delta)):
                new_x = x + delta
                new_value, new_gradient, new_error = evaluator._evaluate(new_x)
                new_gradient_norm = _norm(new_gradient)
            else:
                new_value = new_gradient_norm = math.nan
            if not (math.isfinite(new_value) and math.isfinite(new_gradient_norm)):
                status = Status.DIVERGED
                message = (
                    f"step {step} produced a non-finite value, gradient or point; "
                    f"the result is the last finite iterate (step {step - 1}); the "
                    "learning rate is likely too large"
                )
                step -= 1
                break
            x, value, gradient, error = new_x, new_value, new_gradient, new_error
            gradient_norm = new_gradient_norm
            loss, descent_gradient = evaluator._orient(value, gradient)
            if loss < best_loss:
                best_loss, best_x, best_value = loss, x, value
            else:
                stalls += 1
            if loss > growth_limit:
                status = Status.DIVERGED
                message = (
                    f"the objective grew from {start_value:.6g} to "
                    f"{value:.6g} in {step} steps (more than max_growth="
                    f"{self.max_growth:g} times its starting size): the run is "
                    "diverging; the learning rate is likely too large"
                )
                break

        result = Result(
            x=x,
            value=value,
            gradient=gradient,
            gradient_norm=gradient_norm,
            steps=step,
            evaluations=evaluator.evaluations,
            gradient_evaluations=evaluator.gradient_evaluations,
            status=status,
            message=message,
            best_x=best_x,
            best_value=best_value,
            mode=self.mode,
        )
        for end in ends:
            end(result)
        return result

    def _hooks(self) -> _Hooks:
        starts: list[Callable[[Optimizer, Array], None]] = []
        steps: list[Callable[[StepInfo], bool | Stop | None]] = []
        ends: list[Callable[[Result], None]] = []
        for callback in self.callbacks:
            if isinstance(callback, Callback):
                starts.append(callback.on_start)
                steps.append(callback.on_step)
                ends.append(callback.on_end)
            else:
                steps.append(callback)
        return tuple(starts), tuple(steps), tuple(ends)


def _name(hook: Callable[..., object]) -> str:
    owner = getattr(hook, "__self__", None)
    if owner is not None:
        return type(owner).__name__
    return getattr(hook, "__qualname__", repr(hook))


def _max_steps_message(
    max_steps: int, gradient_norm: float, start_loss: float, loss: float, stalls: int
) -> str:
    message = f"reached max_steps={max_steps} with gradient norm {gradient_norm:.3g}"
    if max_steps == 0:
        return message
    if stalls * 2 >= max_steps:
        return (
            f"{message}; the objective failed to improve in {stalls} of {max_steps} "
            "steps: the iterates oscillate, so the learning rate is likely too large"
        )
    scale = max(abs(start_loss), abs(loss))
    improvement = start_loss - loss
    if scale > 0.0 and improvement < 1e-2 * scale:
        return (
            f"{message}; progress was tiny (the objective improved by "
            f"{100 * improvement / scale:.2g}% of its size): the learning rate may be "
            "too small"
        )
    return message
