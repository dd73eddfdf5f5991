"""Many runs at once: the same optimizer from several starts, on any executor."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import numpy as np

from optim._arrays import as_start_point
from optim._types import ArrayLike
from optim.errors import OptimizationError
from optim.mode import Mode
from optim.objective import _check_sendable
from optim.optimizer import Optimizer
from optim.result import Result, Status
from optim.tree import flatten, is_structured

__all__ = ["map_runs", "multistart"]

_logger = logging.getLogger("optim")

T = TypeVar("T")
R = TypeVar("R")


def map_runs(
    function: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: Executor | None,
    failed: Callable[[T, BaseException], R],
) -> list[R]:
    """Apply `function` to every item, on `executor` or here, in input order.

    One item's failure never loses the others: whatever `function` raises for an
    item (or the executor raises for it, such as a worker that died) becomes
    `failed(item, error)` in its place.

    Args:
        function: What to run for each item; sent to the executor's workers.
        items: The inputs.
        executor: Any `concurrent.futures.Executor` (a process pool, Dask's
            `Client.get_executor()`, ...), or `None` to run here, one after another.
        failed: Makes the stand-in result of an item whose run raised.

    Returns:
        One result per item, in the order of `items`.

    Examples:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as pool:
        ...     map_runs(
        ...         lambda n: 10 // n, [1, 0, 5], executor=pool, failed=lambda n, e: -1
        ...     )
        [10, -1, 2]
    """
    if executor is None:
        results = []
        for item in items:
            try:
                results.append(function(item))
            except Exception as error:
                results.append(failed(item, error))
        return results
    futures: list[Future[R]] = [executor.submit(function, item) for item in items]
    results = []
    for item, future in zip(items, futures, strict=True):
        try:
            results.append(future.result())
        except Exception as error:  # the run, or its worker, failed
            _logger.warning("a run on %s failed: %r", type(executor).__name__, error)
            results.append(failed(item, error))
    return results


def multistart(
    optimizer: Optimizer,
    starts: Iterable[ArrayLike | Any],
    *,
    executor: Executor | None = None,
) -> list[Result]:
    """Run `optimizer` from every start, possibly in parallel; results in order.

    Each run is exactly the run `optimizer.run(start)` would make here (a random
    estimator draws from its own seed in every run), so the results are bit for
    bit those of the sequential runs, whatever the executor. A run that fails
    (an [`OptimizationError`][optim.errors.OptimizationError], or a worker that
    died) is reported in its own result, with status `FAILED`, and never loses the
    others. Pick the best with `min(results, key=lambda r: r.value)` (or `max` in
    ascent).

    Note that a `ProcessPoolExecutor` whose worker dies breaks as a whole (the runs
    still queued on it fail too); Dask reschedules them on other workers.

    A start may be a structure of arrays (a dict of weights and biases, say), as
    for [`Optimizer.run`][optim.optimizer.Optimizer.run]: its result's `params`
    hold the final point in that structure.

    Args:
        optimizer: The configured optimizer; sent to the workers, so it must be
            picklable for a process or Dask executor (checked before any run).
        starts: The starting points: arrays, or structures of arrays (each
            start may have its own layout).
        executor: Where to run (`None`: here, one after another).

    Returns:
        One [`Result`][optim.result.Result] per start, in the order of `starts`.

    Raises:
        TypeError: If the optimizer cannot be sent to the executor's workers, or a
            start (or a leaf of one) is not real and numeric; the message names
            the start (`starts[2]`).
        ValueError: If a start is empty or not finite, or a structure has no
            leaves.

    Examples:
        >>> from optim import LBFGS, StopOnZeroGradient
        >>> from optim.problems import Himmelblau
        >>> optimizer = Optimizer(
        ...     Himmelblau(), step_rule=LBFGS(), callbacks=[StopOnZeroGradient(1e-8)]
        ... )
        >>> results = multistart(optimizer, [[4.0, 4.0], [-4.0, 4.0]])
        >>> [r.status.name for r in results], [r.x.round(3) for r in results]
        (['CONVERGED', 'CONVERGED'], [array([3., 2.]), array([-2.805,  3.131])])

        Structured starts, as `Optimizer.run` takes them:

        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> def loss(p):
        ...     return float(np.sum((p["w"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2)
        >>> def gradient(p):
        ...     return {"w": 2.0 * (p["w"] - 1.0), "b": 2.0 * (p["b"] + 2.0)}
        >>> optimizer = Optimizer(
        ...     FunctionObjective(loss, gradient),
        ...     step_rule=LBFGS(),
        ...     callbacks=[StopOnZeroGradient(1e-10)],
        ... )
        >>> starts = [{"w": np.zeros(2), "b": 0.0}, {"w": np.full(2, 5.0), "b": 3.0}]
        >>> [
        ...     {k: np.round(v, 8).tolist() for k, v in r.params.items()}
        ...     for r in multistart(optimizer, starts)
        ... ]
        [{'w': [1.0, 1.0], 'b': -2.0}, {'w': [1.0, 1.0], 'b': -2.0}]
    """
    points = [_start(start, index) for index, start in enumerate(starts)]
    if executor is not None:
        _check_sendable(optimizer.objective, executor)
    return map_runs(
        _Run(optimizer),
        points,
        executor=executor,
        failed=lambda start, error: _failed(optimizer.mode, start, error),
    )


def _start(start: Any, index: int) -> Any:
    """A private, checked copy of one start: an array, or a structure of arrays."""
    name = f"starts[{index}]"
    if not is_structured(start):
        return as_start_point(start, name=name)
    try:
        vector, spec = flatten(start)
    except (TypeError, ValueError) as error:
        message = str(error).replace("x0", name, 1)
        raise type(error)(message) from None
    as_start_point(vector, name=name)  # finite, not empty
    return spec.unflatten(vector)  # new arrays of the same layout


class _Run:
    """A picklable `optimizer.run` that returns a failed run's result too."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer

    def __call__(self, start: Any) -> Result:
        try:
            return self.optimizer.run(start)
        except OptimizationError as error:
            return error.result


def _failed(mode: Mode, start: Any, error: BaseException) -> Result:
    """The result of a run that produced none (its worker died, say)."""
    x, spec = (start, None) if not is_structured(start) else flatten(start)
    return Result(
        x=x,
        value=math.nan,
        gradient=np.full_like(x, math.nan),
        gradient_norm=math.nan,
        steps=0,
        evaluations=0,
        gradient_evaluations=0,
        status=Status.FAILED,
        message=f"the run produced no result: {error!r}",
        best_x=x,
        best_value=math.nan,
        mode=mode,
        spec=spec,
    )
