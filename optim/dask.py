"""Objectives whose data are Dask arrays: value and gradient summed over partitions.

Needs the `distributed` extra (`pip install "optim-gradient[distributed]"`);
importing this module imports Dask.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import numpy.typing as npt

from optim._arrays import as_scalar
from optim._types import Array, override
from optim.errors import MissingExtraError
from optim.fingerprint import describe
from optim.objective import Objective, _value_of_pair

try:
    import dask as _dask_module
    import dask.array as da
except ImportError:  # pragma: no cover - the extra is installed for the tests
    raise MissingExtraError("distributed", "optim.dask") from None

_dask: Any = _dask_module  # partly typed: `delayed`, `persist`, `compute` are not

__all__ = ["PartitionedObjective"]

FAN_IN = 4
"""How many partial results one task of the tree reduction adds up."""

PairFunction = Callable[..., tuple[Any, Any]]
"""`value_and_gradient(x, *blocks) -> (value, gradient)` of one partition."""

ValueFunction = Callable[..., Any]
"""`value(x, *blocks) -> value` of one partition."""


class PartitionedObjective(Objective):
    r"""An objective summed over the row partitions of Dask arrays.

    The data stay where they are computed: on the workers of a Dask cluster
    (`client`), or, with `client=None`, in memory through Dask's default
    scheduler. For each partition $p$ (the $p$-th row chunk of every array) you
    write `value_and_gradient(x, *blocks)`, returning $f_p(x)$ and
    $\nabla f_p(x)$; the objective is their sum,

    $$f(x) = \sum_p f_p(x), \qquad \nabla f(x) = \sum_p \nabla f_p(x).$$

    For a mean over all $m$ rows, divide by $m$ inside the function
    ([`rows`][optim.dask.PartitionedObjective.rows] is $m$); a penalty such as
    $\frac{\lambda}{2}\|x\|^2$ is added once when each partition adds its share
    $\frac{\lambda}{2}\|x\|^2 \cdot m_p / m$ ($m_p$ rows in the partition).

    The blocks are persisted once, when the objective is made (on the workers
    with a client). Each evaluation sends the point once (with a client:
    `client.scatter(x, broadcast=True)`), runs one task per partition and adds
    the partial results in a tree reduction of fan-in
    [`FAN_IN`][optim.dask.FAN_IN], in a fixed order (the same point gives the
    same bits). Only the sums come back. A stack of points (the perturbed points
    of a finite-difference estimator, through
    [`values`][optim.objective.Objective.values] and
    [`map_values`][optim.objective.Objective.map_values]) is one pass over the
    data too; a value alone (an Armijo trial) is a value-only pass when you give
    `value(x, *blocks)`, else the value of a pair pass. A finite-difference
    estimator's `executor` is not used: the tasks run where the data are.

    Never modify `x` or the blocks in your functions: tasks on one worker share
    them. With a client, a failure of the cluster (the client closed, the
    scheduler gone, a task's workers lost) raises a `ConnectionError` naming the
    cluster; a run then ends `FAILED` with its last good iterate, and continues
    from its checkpoint on a new cluster. A worker lost in the middle of an
    evaluation costs a recomputation of its blocks (from their lineage); the
    results then agree to rounding (a rebuilt block may sit at another alignment
    in memory, which can change the last bit of a BLAS product).

    Args:
        value_and_gradient: The function of one partition,
            `value_and_gradient(x, *blocks) -> (value, gradient)`, a real
            scalar and an array shaped like `x`; defined at module level when it
            runs on a cluster of processes.
        *arrays: Dask arrays with the same row chunks (chunked along axis 0 only;
            other axes are merged into one chunk). A Dask DataFrame's
            `.to_dask_array(lengths=True)` is one.
        value: The value of one partition, `value(x, *blocks) -> value`, when
            it is cheaper than the pair; `None` takes the pair's value.
        client: A `distributed.Client`, or `None` for Dask's default scheduler.

    Raises:
        TypeError: If a function is not callable, an array is not a Dask array,
            or `client` is not a `distributed.Client`.
        ValueError: If no array is given, or the arrays' row chunks differ or are
            unknown, naming the argument.

    Examples:
        >>> import dask.array as da
        >>> import numpy as np
        >>> def squares(x, a, b):
        ...     r = a @ x - b
        ...     return float(r @ r), 2.0 * (a.T @ r)
        >>> a = da.from_array(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), chunks=2)
        >>> b = da.from_array(np.array([1.0, 2.0, 3.0]), chunks=2)
        >>> objective = PartitionedObjective(squares, a, b)
        >>> objective.partitions, objective.rows
        (2, 3)
        >>> objective.value_and_gradient(np.zeros(2))
        (14.0, array([ -8., -10.]))

        The least-squares solution, with any step rule:

        >>> from optim import LBFGS, Optimizer, StopOnZeroGradient
        >>> result = Optimizer(
        ...     objective, step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-10)]
        ... ).run(np.zeros(2))
        >>> np.round(result.x, 8)
        array([1., 2.])
    """

    __slots__ = (
        "__weakref__",
        "_address",
        "_arrays",
        "_blocks",
        "_client",
        "_pair",
        "_value",
    )

    def __new__(
        cls, *args: Any, value: ValueFunction | None = None, **kwargs: Any
    ) -> PartitionedObjective:
        """Without `value`, make the kind whose value is derived from the pair."""
        if cls is PartitionedObjective and value is None and args:
            cls = _PairOnly
        return super().__new__(cls)

    def __init__(
        self,
        value_and_gradient: PairFunction,
        *arrays: Any,
        value: ValueFunction | None = None,
        client: Any = None,
    ) -> None:
        if not callable(value_and_gradient):
            raise TypeError(
                "value_and_gradient must be callable, got "
                f"{type(value_and_gradient).__name__}"
            )
        if value is not None and not callable(value):
            raise TypeError(
                f"value must be callable or None, got {type(value).__name__}"
            )
        _check_client(client)
        self._pair = value_and_gradient
        self._value = value
        self._client = client
        self._arrays = _checked_arrays(arrays)
        self._address = None if client is None else _address_of(client)
        self._blocks = self._persist()

    # --- what it is ------------------------------------------------------------

    @property
    def arrays(self) -> tuple[Any, ...]:
        """The Dask arrays, as given (before persisting and merging column chunks)."""
        return self._arrays

    @property
    def client(self) -> Any:
        """The `distributed.Client` the tasks run on, or `None`."""
        return self._client

    @property
    def partitions(self) -> int:
        """How many partitions (row chunks) there are: one task each per pass."""
        return len(self._arrays[0].chunks[0])

    @property
    def rows(self) -> int:
        """The total number of rows $m$ (divide by it for a mean)."""
        return int(self._arrays[0].shape[0])

    @property
    @override
    def has_gradient(self) -> bool:
        return True

    def fingerprint(self) -> dict[str, Any]:
        """Identify the objective for checkpoints: its functions and arrays' layout.

        The functions as [`describe`][optim.fingerprint.describe] gives them
        (module and qualified name; a `functools.partial`'s arguments too); each
        array by its Dask name
        (deterministic for the same data loaded the same way), shape, chunks
        and dtype. The data are not read, and the cluster takes no part: a run
        continues from its checkpoint on another cluster.

        Returns:
            Plain data: `value_and_gradient`, `value` (or `None`) and `arrays`.

        Examples:
            >>> import dask.array as da
            >>> import numpy as np
            >>> def loss(x, a):
            ...     return float(np.sum(a @ x)), a.sum(axis=0)
            >>> a = da.from_array(np.ones((4, 2)), chunks=2, name="ones")
            >>> PartitionedObjective(loss, a).fingerprint()["arrays"]
            [{'name': 'ones', 'shape': [4, 2], 'chunks': [[2, 2], [2]], 'dtype': '<f8'}]
        """
        return {
            "value_and_gradient": describe(self._pair),
            "value": describe(self._value),
            "arrays": [
                {
                    "name": array.name,
                    "shape": [int(n) for n in array.shape],
                    "chunks": [[int(n) for n in axis] for axis in array.chunks],
                    "dtype": array.dtype.str,
                }
                for array in self._arrays
            ],
        }

    def __repr__(self) -> str:
        names = ", ".join(
            f"dask.array<{array.name}, shape={array.shape}>" for array in self._arrays
        )
        value = "" if self._value is None else f", value={_function_name(self._value)}"
        cluster = "" if self._address is None else f", client=<{self._address}>"
        return (
            f"PartitionedObjective({_function_name(self._pair)}, {names}{value}"
            f"{cluster})"
        )

    def __getstate__(self) -> Any:
        if self._client is not None:
            raise TypeError(
                "a PartitionedObjective with a client cannot be pickled: it runs "
                "its own tasks on the cluster; give the estimator no executor"
            )
        return (None, {name: getattr(self, name) for name in _STATE})

    # --- evaluations -----------------------------------------------------------

    @override
    def value(self, x: Array) -> float:
        if self._value is None:
            return self.value_and_gradient(x)[0]
        return float(self._values(np.asarray(x)[np.newaxis])[0])

    @override
    def gradient(self, x: Array) -> Array:
        return self.value_and_gradient(x)[1]

    @override
    def value_and_gradient(self, x: Array) -> tuple[float, Array]:
        x = np.asarray(x)
        task = functools.partial(_pair_task, self._pair)
        value, gradient = self._run(task, _add_pairs, x)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return value, gradient.astype(dtype, copy=False)

    @override
    def values(self, xs: Array) -> Array:
        return self._values(np.asarray(xs))

    @override
    def map_values(
        self,
        batches: Sequence[npt.NDArray[Any]],
        executor: Executor | None = None,
    ) -> list[npt.NDArray[Any]]:
        """Evaluate several stacks of points in one pass over the data.

        The stacks are joined, sent once and evaluated by one task per
        partition; `executor` is not used (the tasks run where the data are).

        Args:
            batches: Stacks of points, each shaped `(k, *x.shape)`.
            executor: Ignored.

        Returns:
            One array of values per batch, in order.
        """
        if not batches:
            return []
        values = self._values(np.concatenate([np.asarray(b) for b in batches]))
        bounds = np.cumsum([len(batch) for batch in batches])[:-1]
        return list(np.split(values, bounds))

    def _values(self, xs: npt.NDArray[Any]) -> Array:
        task = functools.partial(_values_task, self._value, self._pair)
        values: Array = self._run(task, _add_arrays, xs)
        return values

    # --- the cluster -----------------------------------------------------------

    def _persist(self) -> list[tuple[Any, ...]]:
        """Persist the blocks; return, per partition, one handle per array."""
        merged = [
            array.rechunk({axis: -1 for axis in range(1, array.ndim)})
            for array in self._arrays
        ]
        delayed = [list(array.to_delayed().ravel()) for array in merged]
        flat = [block for blocks in delayed for block in blocks]
        if self._client is None:
            held = list(_dask.persist(*flat))
        else:
            held = self._guarded(lambda: self._client.compute(flat))
        count = self.partitions
        per_array = [held[i * count : (i + 1) * count] for i in range(len(merged))]
        return list(zip(*per_array, strict=True))

    def _run(self, task: Callable[..., Any], add: Callable[..., Any], x: Any) -> Any:
        """Run `task(x, *blocks)` on every partition and add the results up."""
        if self._client is None:
            point = _dask.delayed(x)
            parts = [_dask.delayed(task, pure=False)(point, *b) for b in self._blocks]
            while len(parts) > 1:
                parts = [
                    _dask.delayed(add, pure=False)(*parts[i : i + FAN_IN])
                    for i in range(0, len(parts), FAN_IN)
                ]
            (result,) = _dask.compute(parts[0])
            return result
        return self._guarded(lambda: self._run_on_cluster(task, add, x))

    def _run_on_cluster(
        self, task: Callable[..., Any], add: Callable[..., Any], x: Any
    ) -> Any:
        client = self._client
        point = client.scatter(x, broadcast=True, hash=False)  # a fresh key: no race
        # with the release of an earlier scatter of the same point
        parts = [client.submit(task, point, *b, pure=False) for b in self._blocks]
        while len(parts) > 1:
            parts = [
                client.submit(add, *parts[i : i + FAN_IN], pure=False)
                for i in range(0, len(parts), FAN_IN)
            ]
        return parts[0].result()

    def _guarded(self, work: Callable[[], Any]) -> Any:
        """Do `work` on the cluster; a failure of the cluster names the cluster."""
        client = self._client
        if client.status != "running":
            raise ConnectionError(
                f"the Dask cluster at {self._address} is not reachable: its client "
                f"is {client.status}"
            )
        try:
            return work()
        except _CLUSTER_FAILURES as error:
            raise ConnectionError(
                f"the Dask cluster at {self._address} failed: {type(error).__name__}: "
                f"{error} (client {client.status})"
            ) from error
        except Exception as error:
            if client.status != "running":
                raise ConnectionError(
                    f"the Dask cluster at {self._address} is not reachable: "
                    f"{type(error).__name__}: {error} (client {client.status})"
                ) from error
            raise


_STATE = ("_address", "_arrays", "_blocks", "_client", "_pair", "_value")
"""The slots a pickle (without a client) carries."""


class _PairOnly(PartitionedObjective):
    """A partitioned objective without `value`: a value costs a pair pass.

    Its `value` is the base's derived one, so that the run keeps the gradient a
    trial value comes with (see `optim.objective.value_is_derived`).
    """

    __slots__ = ()

    value = _value_of_pair


_PairOnly.__name__ = "PartitionedObjective"  # how messages name it (not qualname)


def _cluster_failures() -> tuple[type[BaseException], ...]:
    """Distributed's own errors: a user's `OSError` in a task is not among them."""
    from concurrent.futures import CancelledError

    try:
        from distributed.client import ClosedClientError
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - dask without distributed
        return (CancelledError,)
    return (CancelledError, ClosedClientError, CommClosedError, KilledWorker)


_CLUSTER_FAILURES = _cluster_failures()
"""Exceptions that mean the cluster (not the user's function) failed."""


def _check_client(client: Any) -> None:
    if client is None:
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the extra installs it
        raise MissingExtraError(
            "distributed", "PartitionedObjective(client=...)"
        ) from None
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a distributed.Client or None, got {type(client).__name__}"
        )


def _address_of(client: Any) -> str:
    scheduler = getattr(client, "scheduler", None)
    return str(getattr(scheduler, "address", None) or "an unknown address")


def _checked_arrays(arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arrays, checked: Dask arrays with the same, known row chunks."""
    if not arrays:
        raise ValueError("PartitionedObjective needs at least one Dask array")
    for index, array in enumerate(arrays):
        where = f"arrays[{index}]"
        if not isinstance(array, da.Array):
            raise TypeError(
                f"{where} must be a dask.array.Array, got {type(array).__name__}; "
                "wrap data in memory with dask.array.from_array(data, chunks=...)"
            )
        if array.ndim == 0:
            raise ValueError(f"{where} is 0-dimensional: it has no rows to partition")
        if any(math.isnan(n) for n in array.chunks[0]):
            raise ValueError(
                f"{where} has unknown row chunk sizes; compute them first (a "
                "DataFrame's .to_dask_array(lengths=True), or "
                "array.compute_chunk_sizes())"
            )
    first = arrays[0].chunks[0]
    for index, array in enumerate(arrays[1:], start=1):
        if array.chunks[0] != first:
            raise ValueError(
                f"arrays[{index}] has row chunks {_short(array.chunks[0])}, but "
                f"arrays[0] has {_short(first)}: every array needs the same row "
                f"chunks (rechunk it with .rechunk({{0: arrays[0].chunks[0]}}))"
            )
    return tuple(arrays)


def _short(chunks: tuple[int, ...]) -> str:
    text = f"{len(chunks)} chunks {tuple(int(n) for n in chunks)}"
    return text if len(text) <= 80 else text[:77] + "...)"


def _function_name(function: Callable[..., Any]) -> str:
    function = getattr(function, "func", function)  # a functools.partial's
    module = getattr(function, "__module__", None) or "?"
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


# --- the tasks (module level: they travel to the workers) ------------------------


def _pair_task(
    function: PairFunction, x: npt.NDArray[Any], *blocks: Any
) -> tuple[float, Array]:
    """One partition's value and gradient, checked."""
    name = f"function {_function_name(function)}"
    out = function(x, *blocks)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{name} returned {type(out).__name__}, expected a (value, gradient) pair"
        )
    gradient = np.asarray(out[1], dtype=np.float64)
    if gradient.shape != np.shape(x):
        raise ValueError(
            f"{name} returned a gradient of shape {gradient.shape}, expected "
            f"{np.shape(x)} (the point's)"
        )
    return as_scalar(out[0], name=name), gradient


def _values_task(
    value: ValueFunction | None,
    pair: PairFunction,
    xs: npt.NDArray[Any],
    *blocks: Any,
) -> npt.NDArray[Any]:
    """One partition's values at a stack of points."""
    if value is None:
        function: Callable[..., Any] = lambda x, *b: pair(x, *b)[0]  # noqa: E731
        name = f"function {_function_name(pair)}"
    else:
        function, name = value, f"function {_function_name(value)}"
    if np.iscomplexobj(xs):  # the complex step: keep complex values
        return np.array([complex(function(x, *blocks)) for x in xs])
    return np.array([as_scalar(function(x, *blocks), name=name) for x in xs])


def _add_pairs(*pairs: tuple[float, Array]) -> tuple[float, Array]:
    """The sum of partial `(value, gradient)` pairs, in order."""
    value, gradient = pairs[0][0], pairs[0][1].copy()
    for other_value, other_gradient in pairs[1:]:
        value += other_value
        gradient += other_gradient
    return value, gradient


def _add_arrays(*arrays: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The sum of partial value arrays, in order."""
    total = arrays[0].copy()
    for other in arrays[1:]:
        total += other
    return total
