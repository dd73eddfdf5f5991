"""Every exception class of `optim`: run failures, bad checkpoints, bad usage."""

from __future__ import annotations

import importlib.util
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


class CheckpointError(ValueError):
    """A checkpoint file cannot be used: unreadable, or from another configuration.

    Raised by [`load_checkpoint`][optim.checkpoint.load_checkpoint] and by
    resuming a run from a checkpoint; the message names the file or the part of
    the configuration that differs. It is a `ValueError`, and importable from
    `optim.checkpoint` and `optim` too.

    Examples:
        >>> from optim import FixedStep, Optimizer, load_checkpoint
        >>> from optim.problems import Sphere
        >>> issubclass(CheckpointError, ValueError)
        True
        >>> optimizer = Optimizer(Sphere(), step_rule=FixedStep(0.1))
        >>> try:
        ...     load_checkpoint("missing.npz", optimizer)
        ... except CheckpointError as error:
        ...     print(str(error).split(":")[0])
        cannot read checkpoint 'missing.npz'
    """


class UsageError(ValueError):
    """Bad command-line input for the `optim` command.

    The command reports it in one line on standard error and exits with status 2.
    Functions of [`optim.registry`][optim.registry] raise plain `ValueError`s; the
    command line turns them into this error.

    Examples:
        >>> from optim.cli import main
        >>> issubclass(UsageError, ValueError)
        True
        >>> main(["run", "sphere", "--max-steps", "-1", "--learning-rate", "0.1"])
        2
    """


DISTRIBUTION = "optim-gradient"
"""The name `optim` is installed under from the package index (`pip install ...`).

The import name and the command stay `optim`; the distribution has its own name
because `optim` on the package index is an unrelated project."""


class MissingExtraError(ImportError):
    """An optional feature was used without the extra that provides it.

    The message is one line naming the extra and the command that installs it.

    Examples:
        >>> print(MissingExtraError("plot", "optim.plot"))
        optim.plot needs the optional extra 'plot': pip install "optim-gradient[plot]"
    """

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional extra {extra!r}: "
            f'pip install "{DISTRIBUTION}[{extra}]"'
        )
        self.extra = extra
        """The extra to install."""


def require_extra(extra: str, module: str, feature: str) -> None:
    """Raise [`MissingExtraError`][optim.errors.MissingExtraError] without `module`.

    Checks without importing `module`, so that a command can refuse an option
    whose extra is missing before it does any work.

    Args:
        extra: The extra that installs `module`, such as `"plot"`.
        module: The top-level module the feature imports, such as `"matplotlib"`.
        feature: What needs it, for the message (`"optim.plot"`, `"--plot"`).

    Raises:
        MissingExtraError: If `module` cannot be found.

    Examples:
        >>> require_extra("plot", "numpy", "--plot")
        >>> require_extra("plot", "no_such_module_here", "--plot")
        Traceback (most recent call last):
        ...
        optim.errors.MissingExtraError: --plot needs the optional extra 'plot': ...
    """
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(extra, feature)
