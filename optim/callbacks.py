"""Callbacks: observe each step, log, record history, stop a run."""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

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

    def on_end(self, result: Result) -> None:
        """Called once with the final result.

        Args:
            result: The run's result.
        """


StepCallback: TypeAlias = Callable[[StepInfo], bool | Stop | None]
"""A plain per-step callback function."""

CallbackLike: TypeAlias = Callback | StepCallback
"""What `Optimizer(callbacks=...)` accepts: `Callback` instances or plain functions."""


@attrs.frozen
class StopOnZeroGradient(Callback):
    """Stop with status `CONVERGED` once the gradient norm is at most `tol`.

    Started at a stationary point, the run stops at step 0. If the estimator
    reports an error estimate ([`StepInfo.gradient_error`][optim.result.StepInfo])
    larger than `tol`, a small gradient proves nothing: the run then stops with
    [`Status.NOISE_FLOOR`][optim.result.Status] instead, and a message saying that
    the estimator's noise floor was reached.

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
            size = float(np.linalg.norm(info.gradient.reshape(-1), ord=self.norm))
        if size > self.tol:
            return None
        if info.gradient_error is not None and info.gradient_error > self.tol:
            return Stop(
                Status.NOISE_FLOOR,
                f"gradient norm {size:.3g} <= tol {self.tol:.3g} at step {info.step}, "
                f"but the estimator's error estimate {info.gradient_error:.3g} exceeds "
                "tol: the run reached the estimator's noise floor, so the gradient is "
                "not known to be zero (use a more accurate estimator or a larger tol)",
            )
        return Stop(
            Status.CONVERGED,
            f"gradient norm {size:.3g} <= tol {self.tol:.3g} at step {info.step}",
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


@attrs.define
class History(Callback):
    """Record the point, value, gradient norm and step size at every step.

    Each run starts a fresh record. The properties return numpy arrays, ready to
    plot or export.

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> history = History()
        >>> _ = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.25), callbacks=[history], max_steps=2
        ... ).run([1.0, 0.0])
        >>> history.values
        array([1.    , 0.25  , 0.0625])
        >>> history.step_sizes
        array([0.  , 0.5 , 0.25])
    """

    _infos: list[StepInfo] = attrs.field(factory=list, init=False, repr=False)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self._infos = []

    @override
    def on_step(self, info: StepInfo) -> None:
        self._infos.append(info)

    def __len__(self) -> int:
        return len(self._infos)

    @property
    def steps(self) -> np.ndarray:
        """Step numbers, shape `(k,)`."""
        return np.array([info.step for info in self._infos], dtype=np.int64)

    @property
    def x(self) -> Array:
        """Points, shape `(k, *x0.shape)`."""
        return np.array([info.x for info in self._infos], dtype=np.float64)

    @property
    def values(self) -> Array:
        """Objective values, shape `(k,)`."""
        return np.array([info.value for info in self._infos], dtype=np.float64)

    @property
    def gradient_norms(self) -> Array:
        """Gradient norms, shape `(k,)`."""
        return np.array([info.gradient_norm for info in self._infos], dtype=np.float64)

    @property
    def step_sizes(self) -> Array:
        """Distance moved to reach each point (`0` for the start), shape `(k,)`."""
        x = self.x.reshape(len(self._infos), -1)
        sizes = np.zeros(len(x), dtype=np.float64)
        if len(x) > 1:
            sizes[1:] = np.linalg.norm(np.diff(x, axis=0), axis=1)
        return sizes

    def as_dict(self, *, points: bool = True) -> dict[str, np.ndarray]:
        """Return the record as columns: a dict of equal-length 1-D arrays.

        `pandas.DataFrame(history.as_dict())` makes a table of it. Coordinates of
        the point become the columns `x[0]`, `x[1]`, ... (flattened in C order).

        Args:
            points: Include the point's coordinates (leave them out for large `x`).

        Returns:
            Columns `step`, `value`, `gradient_norm`, `step_size` and, with
            `points`, one column per coordinate.

        Examples:
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> history = History()
            >>> _ = Optimizer(
            ...     Sphere(),
            ...     step_rule=FixedStep(0.25),
            ...     callbacks=[history],
            ...     max_steps=1,
            ... ).run([1.0, 0.0])
            >>> history.as_dict()["x[0]"]
            array([1. , 0.5])
        """
        columns: dict[str, np.ndarray] = {
            "step": self.steps,
            "value": self.values,
            "gradient_norm": self.gradient_norms,
            "step_size": self.step_sizes,
        }
        if points and self._infos:
            flat = self.x.reshape(len(self._infos), -1)
            for i in range(flat.shape[1]):
                columns[f"x[{i}]"] = flat[:, i]
        return columns

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the record to a `.csv` or `.json` file (chosen by the extension).

        CSV has a header row and one row per step, with the columns of
        [`as_dict`][optim.callbacks.History.as_dict]; JSON is an object of lists
        with the same keys. Floats are written with full precision (`repr`).

        Args:
            path: The file; its suffix must be `.csv` or `.json`.

        Raises:
            ValueError: For any other suffix (naming `path`).

        Examples:
            >>> import pathlib, tempfile
            >>> from optim import FixedStep, Optimizer
            >>> from optim.problems import Sphere
            >>> history = History()
            >>> _ = Optimizer(
            ...     Sphere(),
            ...     step_rule=FixedStep(0.25),
            ...     callbacks=[history],
            ...     max_steps=1,
            ... ).run([1.0])
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.csv"
            >>> history.write(path)
            >>> print(path.read_text())
            step,value,gradient_norm,step_size,x[0]
            0,1.0,2.0,0.0,1.0
            1,0.25,1.0,0.5,0.5
            <BLANKLINE>
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ValueError(f"path must end in .csv or .json, got {str(path)!r}")
        columns = {key: column.tolist() for key, column in self.as_dict().items()}
        if suffix == ".json":
            target.write_text(json.dumps(columns))
            return
        with target.open("w", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(zip(*columns.values(), strict=True))
