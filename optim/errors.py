"""Exceptions raised by the optimizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optim.result import Result


class OptimizationError(RuntimeError):
    """A run failed in the middle; nothing is lost.

    Raised (from the original exception, available as `__cause__`) when the
    objective, the gradient estimator, the step rule or a callback raises during a
    run. It carries the step that failed and a [`Result`][optim.result.Result] with
    status `FAILED` that holds the last good iterate and the best point so far.
    No array of the caller's is modified.

    Examples:
        >>> import numpy as np
        >>> from optim import FixedStep, Optimizer
        >>> def fragile(x):
        ...     if x[0] < 1.0:
        ...         raise ValueError("simulation crashed")
        ...     return float(x[0] ** 2)
        >>> try:
        ...     Optimizer(fragile, step_rule=FixedStep(0.25)).run([4.0])
        ... except OptimizationError as error:
        ...     print(error.step, error.result.x, repr(error.__cause__))
        2 [2.] ValueError('simulation crashed')
    """

    def __init__(self, message: str, *, step: int, result: Result) -> None:
        super().__init__(message)
        self.step = step
        """The step that failed (the last good iterate is step `step - 1`)."""
        self.result = result
        """The run's result up to the failure, with status `FAILED`."""
