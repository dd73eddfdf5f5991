"""`History`: a cheap record of a run's path, ready to plot or export."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim import _validators, backend
from optim._arrays import host_dtype, run_dtype
from optim._types import Array, override
from optim.callbacks import Callback
from optim.result import Result, StepInfo

if TYPE_CHECKING:
    from optim.run import RunContext

__all__ = ["History"]


@attrs.define
class History(Callback):
    """Record the point, value, gradient norm and step size at every step.

    Each run starts a fresh record. Only what is recorded is kept: a private
    copy of the point (never a reference to an array someone could modify; a
    numpy copy on the host for a point of another array library), the
    value, the gradient norm and the step size, as Python lists that grow in
    amortized constant time; the points are copied into one block, made for
    the whole run when its length is known (else doubled as it fills) and
    reused by the next run. Gradients, step-rule states and the per-step
    [`StepInfo`][optim.result.StepInfo] records are not kept. The step size is
    the distance from the previous step's point, computed when the step is
    recorded, so it is right whichever points are kept: when points are not all
    kept, the last one is held until the next step (the run's own array, which
    the engine never writes into while it is held, and which `History` lets go
    at the run's end; a point shown by any other caller is copied). A run in
    another array library has its step sizes measured there, on its device:
    only kept points cross to the host.

    For long runs in many variables, keep the point every `keep_x_every`-th
    step only (steps `0, k, 2k, ...`), or never (`0` or `None`): the values,
    gradient norms and step sizes are still recorded at every step.

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

        Keeping every second point:

        >>> sparse = History(keep_x_every=2)
        >>> _ = Optimizer(
        ...     Sphere(), step_rule=FixedStep(0.25), callbacks=[sparse], max_steps=3
        ... ).run([1.0, 0.0])
        >>> sparse.x_steps, sparse.x
        (array([0, 2]), array([[1.  , 0.  ],
               [0.25, 0.  ]]))
        >>> sparse.step_sizes
        array([0.   , 0.5  , 0.25 , 0.125])
    """

    keep_x_every: int | None = attrs.field(
        default=1, validator=_validators.optional_count
    )
    """Keep the point at steps `0, k, 2k, ...` for `k = keep_x_every`; `1` (the
    default) keeps every point, `0` or `None` none."""

    _steps: list[int] = attrs.field(factory=list, init=False, repr=False)
    _values: list[float] = attrs.field(factory=list, init=False, repr=False)
    _norms: list[float] = attrs.field(factory=list, init=False, repr=False)
    _sizes: list[float] = attrs.field(factory=list, init=False, repr=False)
    _block: Array | None = attrs.field(default=None, init=False, repr=False)
    _point_steps: list[int] = attrs.field(factory=list, init=False, repr=False)
    _shape: tuple[int, ...] = attrs.field(default=(), init=False, repr=False)
    _dtype: np.dtype[Any] = attrs.field(
        default=np.dtype(np.float64), init=False, repr=False
    )
    _previous: Array | None = attrs.field(default=None, init=False, repr=False)
    _difference: Array | None = attrs.field(default=None, init=False, repr=False)
    _own: Array | None = attrs.field(default=None, init=False, repr=False)
    _spec: Any = attrs.field(default=None, init=False, repr=False)

    @override
    def on_start(self, context: RunContext, x0: Array) -> None:
        self._steps, self._values, self._norms, self._sizes = [], [], [], []
        if backend.is_foreign(x0):  # (known without a copy to the host)
            shape, dtype = tuple(x0.shape), host_dtype(x0)
        else:
            shape, dtype = np.shape(x0), run_dtype(np.result_type(x0))  # the run's
        block = self._block
        if block is not None and (block.shape[1:] != shape or block.dtype != dtype):
            block = None
        self._shape, self._dtype = shape, dtype
        # The block of the last run is reused (its memory is already mapped: `x`
        # hands out copies); a new one holds the whole run if that is known and
        # not too large, so that it never has to grow.
        rows = self._rows_for(getattr(context, "max_steps", None))
        if rows and (block is None or len(block) < rows):
            block = np.empty((rows, *shape), dtype=dtype)
        self._block, self._point_steps = block, []  # a row per kept point
        self._previous = None
        self._spec = getattr(getattr(context, "objective", None), "spec", None)

    @override
    def on_step(self, info: StepInfo) -> None:
        x, step, every = info.x, info.step, self.keep_x_every
        if every == 1:
            # Every point is kept: the step sizes come from them when asked for.
            self._keep(x, step)
        else:
            self._sizes.append(self._step_size(x, type(info) is StepInfo))
            if every and step % every == 0:
                self._keep(x, step)
        self._steps.append(step)
        self._values.append(float(info.value))
        self._norms.append(float(info.gradient_norm))

    @override
    def on_end(self, result: Result) -> None:
        # The last point was held only to measure the next step from it.
        self._previous = None

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps: every field, the block cut to its filled rows."""
        state = {
            field.name: getattr(self, field.name) for field in attrs.fields(History)
        }
        if self._block is not None:
            state["_block"] = self._block[: len(self._point_steps)].copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore what `__getstate__` kept (a field since removed is ignored)."""
        names = {field.name for field in attrs.fields(History)}
        for name, value in state.items():
            if name in names:
                object.__setattr__(self, name, value)

    def _rows_for(self, max_steps: int | None) -> int:
        """How many points a run of `max_steps` keeps, if known and at most 64 MB."""
        every = self.keep_x_every
        if not every or max_steps is None:
            return 0
        rows = max_steps // every + 1
        size = max(1, int(np.prod(self._shape))) * self._dtype.itemsize
        return rows if rows * size <= 1 << 26 else 0

    def _keep(self, x: Array, step: int) -> None:
        """Copy `x` into the next row of a preallocated block that doubles as it fills.

        One copy per kept point and no allocation per step (amortized): a long
        run's history costs about what copying its points costs.
        """
        block, rows = self._block, len(self._point_steps)
        if block is None or rows == len(block):
            grown = np.empty((max(16, 2 * rows), *self._shape), dtype=self._dtype)
            if block is not None:
                grown[:rows] = block
            self._block = block = grown
        # a view of the row, also for a 0-d point
        np.copyto(block[rows, ...], x if type(x) is np.ndarray else _host(x))
        self._point_steps.append(step)

    @property
    def _points(self) -> Array:
        """The kept points (a view of the block's filled rows)."""
        if self._block is None:
            return np.empty((0, *self._shape), dtype=self._dtype)
        return self._block[: len(self._point_steps)]

    def _step_size(self, x: Array, engine: bool) -> float:
        """Distance from the previous step's point.

        The engine's point (`engine`: shown by a
        [`StepInfo`][optim.result.StepInfo]) is held as it is, not copied: the
        engine never writes into a point anyone holds, and holding only the
        last one lets it reuse its buffers as before. Another library's point
        is measured in that library, on its device (one number crosses to the
        host). A point from elsewhere (a caller may reuse its array in place)
        is copied into a private buffer on the host.
        """
        previous = self._previous
        if engine and backend.is_foreign(x):
            self._previous = x
            if type(previous) is not type(x) or previous.shape != x.shape:
                return 0.0  # the first point (or one of another kind)
            moved = x - previous
            return math.sqrt(backend.vdot(moved, moved))
        x = _host(x)
        size = 0.0
        if previous is not None and previous.shape == np.shape(x):
            if backend.is_foreign(previous):
                previous = _host(previous)
            difference = self._difference
            if difference is None or difference.shape != previous.shape:
                difference = self._difference = np.empty_like(previous)
            np.subtract(x, previous, out=difference)
            flat = difference.reshape(-1)
            size = math.sqrt(float(flat @ flat))
        if engine and type(x) is np.ndarray:
            self._previous = x  # no copy: see above
        else:
            own = self._own
            if own is None or own.shape != np.shape(x):
                own = self._own = np.empty(np.shape(x), dtype=self._dtype)
            np.copyto(own, x)  # our own buffer: no allocation per step
            self._previous = own
        return size

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> np.ndarray:
        """Step numbers, shape `(k,)`."""
        return np.array(self._steps, dtype=np.int64)

    @property
    def x(self) -> Array:
        """The kept points, shape `(m, *x0.shape)`, at the steps `x_steps`.

        In the run's dtype: float32 for a float32 run.

        With the default `keep_x_every=1`, one point per step (`m == len(self)`);
        with `keep_x_every=0` or `None`, an empty array of shape `(0, *x0.shape)`.
        """
        return self._points.copy()

    @property
    def params(self) -> list[Any]:
        """The kept points in the structure of `x0` (a dict of arrays, say).

        For an array `x0`, the rows of [`x`][optim.history.History.x].

        Examples:
            >>> import numpy as np
            >>> from optim import FixedStep, Optimizer
            >>> history = History()
            >>> _ = Optimizer(
            ...     lambda p: float(p["a"] ** 2 + np.sum(p["b"] ** 2)),
            ...     step_rule=FixedStep(0.25),
            ...     callbacks=[history],
            ...     max_steps=1,
            ... ).run({"a": 1.0, "b": np.ones(2)})
            >>> [float(p["a"]) for p in history.params]
            [1.0, 0.5]
        """
        if self._spec is None:
            return list(self.x)
        return [self._spec.unflatten(point) for point in self.x]

    @property
    def x_steps(self) -> np.ndarray:
        """The step numbers of the points in `x`, shape `(m,)`."""
        return np.array(self._point_steps, dtype=np.int64)

    @property
    def values(self) -> Array:
        """Objective values, shape `(k,)`."""
        return np.array(self._values, dtype=np.float64)

    @property
    def gradient_norms(self) -> Array:
        """Gradient norms, shape `(k,)`."""
        return np.array(self._norms, dtype=np.float64)

    @property
    def step_sizes(self) -> Array:
        """Distance moved to reach each point (`0` for the start), shape `(k,)`."""
        if self.keep_x_every != 1:
            return np.array(self._sizes, dtype=np.float64)
        points = self._points
        sizes = np.zeros(len(points), dtype=np.float64)
        for k in range(1, len(points)):
            difference = (points[k] - points[k - 1]).reshape(-1)
            sizes[k] = math.sqrt(float(difference @ difference))
        return sizes

    def as_dict(self, *, points: bool = True) -> dict[str, np.ndarray]:
        """Return the record as columns: a dict of equal-length 1-D arrays.

        `pandas.DataFrame(history.as_dict())` makes a table of it. Coordinates of
        the point become the columns `x[0]`, `x[1]`, ... (flattened in C order);
        at steps whose point was not kept (see `keep_x_every`) they are NaN, and
        with `keep_x_every=0` or `None` there are no such columns.

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
        if points and self._point_steps:
            kept = self.x.reshape(len(self._points), -1)
            if len(self._points) == len(self._steps):
                flat = kept
            else:
                flat = np.full((len(self._steps), kept.shape[1]), np.nan)
                flat[np.searchsorted(self.steps, self.x_steps)] = kept
            for i in range(flat.shape[1]):
                columns[f"x[{i}]"] = flat[:, i]
        return columns

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the record to a `.csv` or `.json` file (chosen by the extension).

        CSV has a header row and one row per step, with the columns of
        [`as_dict`][optim.history.History.as_dict]; JSON is an object of lists
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


def _host(x: Any) -> Any:
    """A point as numpy: another library's point is copied to the host.

    `History` keeps host copies, so that a run on a GPU keeps its history in
    main memory (one transfer per kept point); a numpy point is used as it is.
    """
    return backend.to_host(x) if backend.is_foreign(x) else x
