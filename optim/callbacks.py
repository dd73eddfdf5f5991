"""Callbacks: observe each step, log, stop a run (recording is in `optim.history`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import attrs
import numpy as np

from optim import _validators
from optim._types import Array, override
from optim.result import Result, Status, StepInfo, Stop

if TYPE_CHECKING:
    from optim.run import RunContext


class Callback:
    """Base class for callbacks that need more than the per-step hook.

    A plain function `f(info) -> bool | Stop | None` is a callback too; subclass
    this class when a callback must prepare at the start of a run or finish at its
    end. Each hook does nothing by default.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> class CountSteps(Callback):
        ...     def on_start(self, context, x0):
        ...         self.count = 0
        ...
        ...     def on_step(self, info):
        ...         self.count += 1
        >>> counter = CountSteps()
        >>> _ = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[counter], max_steps=5
        ... ).run([3.0, 2.0])
        >>> counter.count
        6
    """

    stop_test: ClassVar[bool] = False
    """Whether `on_step` is a pure stop test: it only looks at the step's record
    and has no side effects. A run resumed from a saved state asks the stop tests
    (and no other callback) about that state again, so that a run that had ended
    stays ended and a claim made at that step is confirmed again."""

    def on_start(self, context: RunContext, x0: Array) -> None:
        """Called once before the first evaluation.

        Args:
            context: The run's configuration (rule, estimator, mode, budget).
            x0: The starting point (a private copy; do not modify it).
        """

    def on_step(self, info: StepInfo) -> bool | Stop | None:
        """Called at every step, the starting point included (step 0).

        Args:
            info: The current point, value, gradient and counters.

        Returns:
            `True` or a [`Stop`][optim.result.Stop] to end the run after this step
                (every callback still runs on this step); `None` or `False` to go on.
        """
        return None

    def on_end(self, result: Result) -> str | None:
        """Called once with the final result.

        Args:
            result: The run's result.

        Returns:
            `None`, or a note that the optimizer appends to the result's `message`
                (for example a [`Checkpoint`][optim.checkpoint.Checkpoint] whose
                saves failed); later callbacks and the caller see the noted result.
        """
        return None


StepCallback: TypeAlias = Callable[[StepInfo], bool | Stop | None]
"""A plain per-step callback function."""

CallbackLike: TypeAlias = Callback | StepCallback
"""What `Optimizer(callbacks=...)` accepts: `Callback` instances or plain functions."""


@attrs.frozen
class StopOnZeroGradient(Callback):
    """Stop with status `CONVERGED` once the gradient norm is at most `tol`.

    Under a constraint the norm is that of the projected gradient
    ([`StepInfo.projected_gradient`][optim.result.StepInfo.projected_gradient]),
    scipy's `pgtol` test: a run that ends on a bound with a non-zero gradient
    converges.

    Started at a stationary point, the run stops at step 0. With an inexact
    estimator the claim is confirmed, in the same norm, by an independent estimate
    (see [`Stop.gradient_tol`][optim.result.Stop.gradient_tol]): a second
    difference step first, Richardson extrapolation only when that cannot tell. A
    point whose gradient is below what the run's deterministic estimator can
    resolve ends `CONVERGED` with a message saying that `tol` is below that floor;
    one whose gradient is lost in a random estimator's noise ends
    [`Status.NOISE_FLOOR`][optim.result.Status].

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> result = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.1), callbacks=[StopOnZeroGradient(1e-8)]
        ... ).run([3.0, 2.0])
        >>> result.status.name, result.gradient_norm <= 1e-8
        ('CONVERGED', True)
    """

    stop_test: ClassVar[bool] = True

    tol: float = attrs.field(default=1e-6, validator=_validators.non_negative)
    """Largest gradient norm that counts as zero."""

    norm: float = attrs.field(default=2.0, kw_only=True)
    """Order of the norm, as in `numpy.linalg.norm` (`2`, `1` or `numpy.inf`)."""

    @norm.validator
    def _check_norm(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value not in (1.0, 2.0, np.inf):
            raise ValueError(f"norm must be 1, 2 or numpy.inf, got {value!r}")

    @override
    def on_step(self, info: StepInfo) -> Stop | None:
        if self.norm == 2.0:
            size = info.gradient_norm
        else:
            gradient = info.projected_gradient
            if self.norm == np.inf and type(gradient) is np.ndarray and gradient.size:
                # What numpy.linalg.norm computes for ord=inf, without its checks.
                size = float(np.maximum.reduce(np.abs(gradient), axis=None))
            else:
                size = float(np.linalg.norm(gradient.reshape(-1), ord=self.norm))
        if size > self.tol:
            return None
        return Stop(
            Status.CONVERGED,
            f"gradient norm {size:.3g} <= tol {self.tol:.3g} at step {info.step}",
            gradient_tol=self.tol,
            gradient_ord=self.norm,
        )


def _default_logger() -> logging.Logger:
    return logging.getLogger("optim")


@attrs.frozen
class LogProgress(Callback):
    """Log the start, every `every`-th step and the end of a run through `logging`.

    Records go to the `"optim"` logger by default at level `INFO`; configure
    logging in your application to see them (the library never configures it).

    Examples:
        >>> import logging, sys
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> logger = logging.getLogger("example")
        >>> logger.addHandler(logging.StreamHandler(sys.stdout))
        >>> logger.setLevel(logging.INFO)
        >>> _ = Optimizer(
        ...     Sphere(),
        ...     step_rule=FixedStep(0.25),
        ...     callbacks=[LogProgress(every=1, logger=logger)],
        ...     max_steps=1,
        ... ).run([1.0, 0.0])
        start: descent from x0 of shape (2,) with FixedStep(learning_rate=0.25)
        step 0: value=1 gradient_norm=2
        step 1: value=0.25 gradient_norm=1
        end: max_steps after 1 steps, value=0.25: reached max_steps=1 ...
    """

    every: int = attrs.field(default=1, validator=_validators.positive_count)
    """Log every `every`-th step (step 0 is always logged)."""

    logger: logging.Logger = attrs.field(factory=_default_logger, kw_only=True)
    """Where records go (default: `logging.getLogger("optim")`)."""

    level: int = attrs.field(default=logging.INFO, kw_only=True)
    """The logging level of the records."""

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self.logger.log(
            self.level,
            "start: %s from x0 of shape %s with %r",
            context.mode.value,
            x0.shape,
            context.step_rule,
        )

    @override
    def on_step(self, info: StepInfo) -> None:
        if info.step % self.every == 0:
            self.logger.log(
                self.level,
                "step %d: value=%.6g gradient_norm=%.3g",
                info.step,
                info.value,
                info.gradient_norm,
            )

    @override
    def on_end(self, result: Result) -> None:
        self.logger.log(
            self.level,
            "end: %s after %d steps, value=%.6g: %s",
            result.status.value,
            result.steps,
            result.value,
            result.message,
        )
