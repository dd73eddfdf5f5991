"""Gradient estimators: exact, finite-difference, complex-step, extrapolated, random."""

from __future__ import annotations

import abc
import copy
import math
import numbers
import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, ClassVar, Self, TypeAlias

import attrs
import numpy as np
import numpy.typing as npt

from optim import _validators, backend
from optim._arrays import as_float_array, checked_values, float_dtype, run_dtype
from optim._types import Array, ArrayLike, override
from optim.objective import Objective

_EPS = float(np.finfo(np.float64).eps)

_BATCH_BYTES = 2**20
"""Default `max_batch_bytes`: the largest stack of points built at once."""

_COMPLEX_STEP = 1e-20
"""Relative imaginary step of `ComplexStep`."""

_ROUNDING_SAFETY = 10.0
"""Safety factor on the rounding part of the error estimates: one computed value
of `f` is taken to be off by `10 eps |f|`."""

_CENTRAL_TRUNCATION = 100.0
"""Safety factor on the truncation part of the central and complex-step error
estimates, `100 h^2 |g_i| / (6 L_i^2)` (calibrated on the problem library)."""

_ONE_SIDED_TRUNCATION = 30.0
"""Safety factor on the truncation part of the one-sided error estimates,
`30 h |g_i| / (2 L_i)` (calibrated on the problem library)."""


def _xp(x: Any) -> Any:
    """`x`'s array namespace: numpy for numpy arrays, numbers and lists."""
    if type(x) is np.ndarray:  # the hot path: one identity test
        return np
    return backend.namespace(x) if backend.is_foreign(x) else np


_as_float = as_float_array
"""`x` as a float32 or float64 array of its own library (numpy: as before)."""

_run_dtype = float_dtype
"""The dtype of `x`'s gradient: float32 stays float32, everything else float64."""


def _eps(x: Array) -> float:
    """The machine epsilon of the run's dtype: float32's for a float32 point."""
    xp = _xp(x)
    if xp is np and x.dtype == np.float64:
        return _EPS
    return float(xp.finfo(_run_dtype(x)).eps)


def _is_float64(x: Array) -> bool:
    """Whether `x` is float64 (in any library)."""
    return bool(x.dtype == _xp(x).float64)


def _flat(x: Array) -> Array:
    """`x` as a vector (a view where the library allows)."""
    xp = _xp(x)
    return x.reshape(-1) if xp is np else xp.reshape(x, (-1,))


def _shaped(array: Array, shape: tuple[int, ...]) -> Array:
    """`array` reshaped (numpy: the method, the fast spelling)."""
    if type(array) is np.ndarray:
        return array.reshape(shape)
    shaped: Array = _xp(array).reshape(array, shape)
    return shaped


def _numpy_only(x: Array, estimator: object) -> None:
    """Refuse another library's `x` in an estimator that computes in numpy only."""
    backend.numpy_only(
        x,
        type(estimator).__name__,
        instead="ForwardDifference, CentralDifference or AnalyticGradient",
    )


def _at_least_one(array: Array) -> Array:
    """`max(1, array)` elementwise (numpy: `numpy.maximum(1.0, array)`, as ever)."""
    xp = _xp(array)
    if xp is np:
        return np.maximum(1.0, array)
    return xp.clip(array, min=1.0)  # type: ignore[no-any-return]


def _in_dtype(
    x: Array, value: float, gradient: Array, error: Array | None
) -> tuple[float, Array, Array | None]:
    """The estimator's output with the gradient and error in `x`'s dtype."""
    dtype = _run_dtype(x)
    if _xp(x) is not np:
        gradient = backend.astype(gradient, dtype, copy=False)
        if error is not None:
            error = backend.astype(error, dtype, copy=False)
        return value, gradient, error
    return (
        value,
        gradient.astype(dtype, copy=False),
        None if error is None else error.astype(dtype, copy=False),
    )


def _value_error(
    values: npt.NDArray[Any], noise: float | None, eps: float = _EPS
) -> Array:
    """Absolute error of computed values: rounding `10 eps |f|`, plus `noise`.

    `eps` is that of the points' dtype: an objective handed float32 points is
    taken to compute in float32.
    """
    rounding: Array = _ROUNDING_SAFETY * eps * _xp(values).abs(values)
    return rounding if noise is None else rounding + noise


def _truncation(flat: Array, gradient: Array, h: Array, order: int) -> Array:
    """Truncation proxy `c h^order |g_i| / ((order + 1)! L_i^order)`.

    `L_i = max(1, |x_i|)`: derivatives are assumed to change on the step rule's
    length scale, so the unknown derivative of order `order + 1` is taken to be
    about `|g_i| / L_i^order` (a proxy, hence the safety factor `c`).
    """
    xp = _xp(flat)
    ratio: Array = h * xp.abs(gradient) / _at_least_one(xp.abs(flat)) ** order
    if order == 1:
        return _ONE_SIDED_TRUNCATION / 2.0 * ratio
    return _CENTRAL_TRUNCATION / 6.0 * h * ratio


Box: TypeAlias = tuple[Array, Array]
"""A box `(lower, upper)` of float64 arrays shaped like `x`; entries may be
infinite."""


def _extra(rng: np.random.Generator | None, bounds: Box | None) -> dict[str, Any]:
    """The optional keywords to forward: `rng` and `bounds`, each only if given."""
    extra: dict[str, Any] = {}
    if rng is not None:
        extra["rng"] = rng
    if bounds is not None:
        extra["bounds"] = bounds
    return extra


def _box(x: Array, bounds: Box | None) -> tuple[Array, Array] | None:
    """The bounds as flat arrays of `x`'s dtype, or `None` without a box.

    For a float32 `x` the bounds are rounded inward, so that every float32 point
    in the rounded box is in the box.
    """
    if bounds is None:
        return None
    if backend.is_foreign(x):
        raise TypeError(
            f"bounds: finite differences in a box need a numpy x for now, got an "
            f"array of {backend.library(x)}; pass numpy.asarray(x)"
        )
    lower, upper = (
        np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape).reshape(-1)
        for b in bounds
    )
    dtype = run_dtype(x.dtype)
    if dtype == np.float64:
        return lower, upper
    low, high = lower.astype(dtype), upper.astype(dtype)
    low = np.where(low < lower, np.nextafter(low, dtype.type(np.inf)), low)
    high = np.where(high > upper, np.nextafter(high, dtype.type(-np.inf)), high)
    return low.astype(dtype, copy=False), high.astype(dtype, copy=False)


def _room(flat: Array, box: tuple[Array, Array]) -> tuple[Array, Array]:
    """How far each coordinate may move down and up inside the box (>= 0)."""
    below: Array = np.maximum(flat - box[0], 0.0)
    above: Array = np.maximum(box[1] - flat, 0.0)
    return below, above


def _inside(targets: Array, box: tuple[Array, Array] | None) -> Array:
    """Clip target coordinates into the box (rounding may overshoot by an ulp)."""
    if box is None:
        return targets
    clipped: Array = np.clip(targets, box[0], box[1])
    return clipped


def _three_point(
    f0: float | Array, f1: Array, f2: Array, a: Array, b: Array
) -> tuple[Array, tuple[Array, Array, Array]]:
    """Derivative at 0 of the parabola through `(0, f0)`, `(a, f1)`, `(b, f2)`.

    Returns the derivative and the weights `(c0, c1, c2)` of the three values
    (for the rounding error). Central differences are `b = -a` (then `c0 = 0`);
    one-sided three-point differences `b = 2a`. Coordinates with `a = b = 0` (a
    zero-width box) get derivative 0 and weights 0.
    """
    dead = (a == 0.0) | (b == 0.0) | (a == b)
    a = np.where(dead, 1.0, a)
    b = np.where(dead, 2.0, b)
    c1 = np.where(dead, 0.0, b / (a * (b - a)))
    c2 = np.where(dead, 0.0, -a / (b * (b - a)))
    c0 = -(c1 + c2)
    with np.errstate(invalid="ignore"):
        derivative = np.where(dead, 0.0, c0 * f0 + c1 * f1 + c2 * f2)
    return derivative, (c0, c1, c2)


def _one_sided_fit(
    flat: Array, h: Array, box: tuple[Array, Array]
) -> tuple[Array, Array]:
    """The offsets `(a, 2a)` or `(h, -h)` of three-point differences in the box.

    As `scipy.optimize.approx_derivative` does with bounds: central differences
    where `x +- h` fits; otherwise a one-sided three-point difference on the side
    with more room, its step shrunk to fit; or central differences with a step
    shrunk to the nearer bound when that is no shorter than the one-sided step.
    """
    below, above = _room(flat, box)
    central = (below >= h) & (above >= h)
    forward = above >= below
    one_sided = np.minimum(h, np.where(forward, above, below) / 2.0)
    nearest = np.minimum(below, above)
    shrunk = ~central & (one_sided <= nearest)
    central_step = np.where(central, h, nearest)
    use_central = central | shrunk
    sign = np.where(forward, 1.0, -1.0)
    a = np.where(use_central, central_step, sign * one_sided)
    b = np.where(use_central, -central_step, 2.0 * sign * one_sided)
    return a, b


class GradientEstimator(abc.ABC):
    """How the gradient of an [`Objective`][optim.objective.Objective] is obtained.

    Subclasses implement [`estimate`][optim.gradients.GradientEstimator.estimate].
    Estimators are stateless configuration: they never modify `x` and evaluate the
    objective only through its public methods, so the optimizer can count every
    evaluation they make.

    Examples:
        A one-sided estimator written from scratch:

        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> class CrudeForward(GradientEstimator):
        ...     def estimate(self, objective, x):
        ...         fx = objective.value(x)
        ...         steps = np.eye(x.size).reshape(x.size, *x.shape) * 1e-6
        ...         return (objective.values(x + steps) - fx).reshape(x.shape) / 1e-6
        >>> sphere = FunctionObjective(lambda x: x[0] ** 2 + x[1] ** 2)
        >>> np.round(CrudeForward().estimate(sphere, np.array([3.0, 2.0])), 4)
        array([6., 4.])
    """

    __slots__ = ()

    @abc.abstractmethod
    def estimate(self, objective: Objective, x: Array) -> Array:
        """Return the gradient of `objective` at `x`.

        In a run with a [`Bounds`][optim.projections.Bounds] constraint the
        optimizer also passes the keyword `bounds=(lower, upper)` (see
        [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]),
        and a random estimator gets `rng=`: write
        `def estimate(self, objective, x, *, bounds=None)` so that the estimator
        works in every run, and evaluate no point outside a box it is given.

        Args:
            objective: The function to differentiate.
            x: The point, an array of any shape in the run's dtype (float64, or
                float32 in a float32 run); never modified.

        Returns:
            The gradient, shaped like `x`.
        """

    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[Array, Array | None]:
        """Return the gradient and, if the estimator knows it, an error estimate.

        The default returns `None` for the error; estimators that can estimate
        their error override this method (all of this module's, except
        `AnalyticGradient`: differences, complex step, extrapolation, sampling).

        Args:
            objective: The function to differentiate.
            x: The point; never modified.
            rng: The run's random stream, passed only to random estimators (those
                whose [`random_stream`][optim.gradients.GradientEstimator.random_stream]
                is not `None`).
            bounds: The run's box `(lower, upper)`, float64 arrays shaped like `x`
                (entries may be infinite) with `lower <= x <= upper`, passed only
                when the run has a box. An estimator given it never evaluates a
                point outside the box. The default forwards it to `estimate` (as
                the keyword `bounds`) only when it is not `None`, so an estimator
                whose `estimate` has no such keyword works in runs without a box.

        Returns:
            The pair `(gradient, error)`, where `error` is shaped like `x` or `None`.
        """
        if bounds is None:
            return self.estimate(objective, x), None
        estimate: Any = self.estimate
        return estimate(objective, x, bounds=bounds), None

    def random_stream(self) -> np.random.Generator | None:
        """Return a new random stream for a run, or `None` if none is needed.

        Deterministic estimators need none (the default). A random estimator, such
        as [`SPSA`][optim.gradients.SPSA], returns a generator made from its seed:
        the optimizer calls this once when a run starts, passes the generator to
        every estimate of the run, and keeps its state in the run's
        [`RunState`][optim.run.RunState], so the same configuration run twice
        draws the same numbers and a resumed run continues the same stream. The
        estimator itself stays stateless configuration.

        Returns:
            A new `numpy.random.Generator`, or `None`.

        Examples:
            >>> CentralDifference().random_stream() is None
            True
            >>> SPSA(rng=3).random_stream().integers(10, size=3)
            array([8, 0, 1])
        """
        return None

    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[float, Array, Array | None]:
        """Return the objective's value at `x` with the gradient and its error.

        This is what the optimizer calls once per step. The default spends one
        extra evaluation on the value; estimators that evaluate `f(x)` anyway
        override it to share that evaluation.

        Args:
            objective: The function to differentiate.
            x: The point; never modified.
            rng: The run's random stream (random estimators only).
            bounds: The run's box (runs with a box only); see
                [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error].
                Forwarded, like `rng`, only when it is not `None`.

        Returns:
            The triple `(value, gradient, error)`.
        """
        value = objective.value(x)
        gradient, error = self.estimate_with_error(objective, x, **_extra(rng, bounds))
        return value, gradient, error


@attrs.frozen
class AnalyticGradient(GradientEstimator):
    """The objective's own closed-form [`gradient`][optim.objective.Objective.gradient].

    Costs one gradient call per estimate (one value and one gradient call, or one
    `value_and_gradient` call, per optimizer step); exact up to the objective's own
    rounding.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> AnalyticGradient().estimate(Sphere(), np.array([3.0, 2.0]))
        array([6., 4.])
    """

    @override
    def estimate(self, objective: Objective, x: Array) -> Array:
        return objective.gradient(x)

    @override
    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[float, Array, Array | None]:
        value, gradient = objective.value_and_gradient(x)
        return value, gradient, None


def _to_step(value: float | ArrayLike | None) -> float | Array | None:
    """Convert a `step` argument: `None`, a positive float, or an array of them."""
    if value is None:
        return None
    if isinstance(value, bool | str | bytes):
        raise TypeError(
            f"step must be None, a positive number or an array of them, got "
            f"{type(value).__name__} {value!r}"
        )
    if isinstance(value, numbers.Real):
        number = float(value)
        if not (math.isfinite(number) and number > 0.0):
            raise ValueError(f"step must be finite and > 0, got {value!r}")
        return number
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"step must be None, a positive number or an array of them, got "
            f"{type(value).__name__}"
        ) from error
    if array.ndim == 0:
        return _to_step(float(array))
    if array.size == 0 or not (np.isfinite(array).all() and (array > 0.0).all()):
        raise ValueError(f"step must hold finite values > 0, got {array!r}")
    array.setflags(write=False)
    return array


def _to_seed(value: int | None) -> int:
    """Convert an `rng` argument into a seed: `None` draws fresh entropy once."""
    if value is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)
        return entropy
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"rng must be an integer seed >= 0 or None, got {type(value).__name__}: "
            "the run makes its own random stream from the seed, so that the same "
            "configuration repeats exactly"
        )
    if value < 0:
        raise ValueError(f"rng must be an integer seed >= 0, got {value!r}")
    return int(value)


def _same_step(a: float | Array | None, b: float | Array | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


_step_eq = attrs.cmp_using(eq=_same_step)
_optional_executor = attrs.validators.optional(attrs.validators.instance_of(Executor))
_optional_non_negative = attrs.validators.optional(_validators.non_negative)


def _coordinate_steps(
    flat: Array, step: float | Array | None, relative: float, shape: tuple[int, ...]
) -> Array:
    """Return the per-coordinate step `h_i` for the flattened point `flat`.

    An absolute `step` (a float, or an array shaped like `x`) is used as given.
    `None` gives the relative step `relative * max(1, |x_i|)`, rounded so that
    `x_i + h_i` is exactly representable and the difference quotient divides by
    the distance actually travelled.
    """
    xp = _xp(flat)
    if step is None:
        h = relative * _at_least_one(xp.abs(flat))
        return (flat + h) - flat
    if isinstance(step, float):
        return _full(flat, step)
    if step.shape not in (shape, (flat.size,)):
        raise ValueError(
            f"step has shape {step.shape}, but x has shape {shape}: per-coordinate "
            "steps must be shaped like x"
        )
    if xp is not np:
        single = flat.dtype == xp.float32
        host = step.reshape(-1).astype(np.float32 if single else np.float64)
        return backend.from_host(host, like=flat)  # type: ignore[no-any-return]
    return step.reshape(-1).astype(flat.dtype, copy=False)


def _full(flat: Array, fill: float) -> Array:
    """A vector like `flat` (library, device, dtype) filled with `fill`."""
    xp = _xp(flat)
    if xp is np:
        return np.full(flat.shape, fill, dtype=flat.dtype)
    device = backend.device(flat)
    full: Array = xp.full(flat.shape, fill, dtype=flat.dtype, device=device)
    return full


def _concat(parts: list[Array]) -> Array:
    """The vectors `parts` one after the other (numpy 1.26: `concatenate`)."""
    xp = _xp(parts[0])
    joined: Array = np.concatenate(parts) if xp is np else xp.concat(parts)
    return joined


def _evaluate(
    objective: Objective,
    x: Array,
    count: int,
    build: Callable[[int, int], npt.NDArray[Any]],
    *,
    dtype: type[np.float64] | type[np.complex128],
    max_batch_bytes: int,
    batch_size: int | None,
    executor: Executor | None,
) -> npt.NDArray[Any]:
    """Evaluate the `count` points `build(start, end)` returns, batch by batch.

    At most `max_batch_bytes` of points exist at once (always at least one point).
    They are cut into batches of `batch_size` points (default: all of them without
    an executor; one batch per CPU with one) and sent through
    [`Objective.map_values`][optim.objective.Objective.map_values]. Each point's
    value is independent of the batching, so every path gives the same result.
    """
    entries = x.size if type(x) is np.ndarray else math.prod(x.shape)  # torch: size()
    group = max(1, max_batch_bytes // (np.dtype(dtype).itemsize * entries))
    if batch_size is not None:
        size = min(batch_size, group)
    elif executor is None:
        size = group
    else:
        size = max(1, math.ceil(min(group, count) / (os.cpu_count() or 1)))
    out = np.empty(count, dtype=dtype)
    for group_start in range(0, count, group):
        group_end = min(group_start + group, count)
        bounds = [
            (start, min(start + size, group_end))
            for start in range(group_start, group_end, size)
        ]
        batches = [build(start, end) for start, end in bounds]
        results = objective.map_values(batches, executor)
        if len(results) != len(batches):
            raise ValueError(
                f"map_values must return one array per batch ({len(batches)}), "
                f"got {len(results)}"
            )
        for (start, end), batch, values in zip(bounds, batches, results, strict=True):
            out[start:end] = checked_values(values, batch, name="objective values")
    return out


def _axis_points(
    x: Array, targets: npt.NDArray[Any]
) -> Callable[[int, int], npt.NDArray[Any]]:
    """Build the points `x` with coordinate `j % n` set to `targets[j]`.

    For `j` in `[start, end)`; a target is `x[j % n] + offset`, computed once.

    Consecutive points move consecutive coordinates, so within a batch the moved
    entries lie on diagonals of the stacked points: each run is one strided slice,
    which is cheaper than fancy indexing.
    """
    if _xp(x) is not np:
        return _axis_points_xp(x, targets)
    real = run_dtype(x.dtype)
    dtype = real if targets.dtype.kind != "c" else np.result_type(real, np.complex64)
    targets = targets.astype(dtype, copy=False)  # points in the run's dtype
    flat = x.reshape(-1).astype(dtype, copy=False)
    n = flat.size

    def build(start: int, end: int) -> npt.NDArray[Any]:
        points = np.repeat(flat[np.newaxis], end - start, axis=0)
        linear = points.reshape(-1)
        j = start
        while j < end:
            coordinate = j % n
            stop = min(end, j + n - coordinate)
            first = (j - start) * n + coordinate
            last = first + (stop - j - 1) * (n + 1)
            linear[first : last + 1 : n + 1] = targets[j:stop]
            j = stop
        return points.reshape(end - start, *x.shape)

    return build


def _axis_points_xp(x: Array, targets: Array) -> Callable[[int, int], Any]:
    """`_axis_points` for another library's (real) `x`: selected, not written.

    Immutable arrays (JAX) take no strided writes: each batch is
    `where(j % n == column, targets[j], x)`, on `x`'s device.
    """
    xp = _xp(x)
    flat = backend.astype(xp.reshape(x, (-1,)), _run_dtype(x), copy=False)
    targets = backend.astype(targets, flat.dtype, copy=False)
    n = flat.shape[0]
    columns = xp.arange(n, device=backend.device(x))

    def build(start: int, end: int) -> Any:
        rows = xp.arange(start, end, device=backend.device(x))
        moved = xp.remainder(rows, n)[:, None] == columns[None, :]
        points = xp.where(moved, targets[start:end, None], flat[None, :])
        return xp.reshape(points, (end - start, *x.shape))

    return build


_BATCH_OPTIONS = ("max_batch_bytes", "batch_size", "executor")
"""The fields of `_BatchedEstimator`, listed last in every estimator."""


def _options_last(
    cls: type, fields: list[attrs.Attribute[Any]]
) -> list[attrs.Attribute[Any]]:
    """Order an estimator's fields: its own first, the shared batch options last."""
    shared = [f for f in fields if f.name in _BATCH_OPTIONS]
    return (
        [f for f in fields if not f.kw_only]
        + [f for f in fields if f.kw_only and f not in shared]
        + shared
    )


@attrs.frozen
class _BatchedEstimator(GradientEstimator):
    """Shared options of the estimators that evaluate batches of perturbed points.

    They decide where and in what portions the points are evaluated, never what is
    computed: every setting gives the same gradient to the last bit, so they take
    no part in `==` (nor in a checkpoint's configuration check).
    """

    max_batch_bytes: int = attrs.field(
        default=_BATCH_BYTES,
        kw_only=True,
        validator=_validators.positive_count,
        eq=False,
    )
    """Memory bound: the most bytes of perturbed points built at once (at least one
    point is always built). Peak memory is about this plus the objective's own
    temporaries."""

    batch_size: int | None = attrs.field(
        default=None,
        kw_only=True,
        validator=_validators.optional_positive_count,
        eq=False,
    )
    """Most points per `values` call; `None` fills `max_batch_bytes`, or with an
    `executor` makes one batch per CPU of this machine."""

    executor: Executor | None = attrs.field(
        default=None, kw_only=True, validator=_optional_executor, eq=False
    )
    """Where batches are evaluated: any `concurrent.futures.Executor`
    (`ProcessPoolExecutor`, Dask's `Client.get_executor()`, ...) or `None` for
    here."""

    def _evaluate(
        self,
        objective: Objective,
        x: Array,
        count: int,
        build: Callable[[int, int], npt.NDArray[Any]],
        dtype: type[np.float64] | type[np.complex128],
    ) -> npt.NDArray[Any]:
        """Evaluate the `count` points `build` makes, with this estimator's options.

        The values come back as one float64 array (on the host: one scalar per
        point crosses); for another library's `x` they are moved to its device
        once.
        """
        values = _evaluate(
            objective,
            x,
            count,
            build,
            dtype=dtype,
            max_batch_bytes=self.max_batch_bytes,
            batch_size=self.batch_size,
            executor=self.executor,
        )
        return values if _xp(x) is np else backend.from_host(values, like=x)


@attrs.frozen
class _Differences(_BatchedEstimator):
    """Difference estimators, whose values give the gradient and its error."""

    @override
    def estimate(
        self, objective: Objective, x: Array, *, bounds: Box | None = None
    ) -> Array:
        return self.estimate_with_error(objective, x, bounds=bounds)[0]

    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[Array, Array | None]:
        x = _as_float(x)
        return _in_dtype(x, *self._with_value(objective, x, _box(x, bounds), None))[1:]

    @override
    def value_and_estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[float, Array, Array | None]:
        x = _as_float(x)
        value = objective.value(x)
        return _in_dtype(x, *self._with_value(objective, x, _box(x, bounds), value))

    @abc.abstractmethod
    def _with_value(
        self,
        objective: Objective,
        x: Array,
        box: tuple[Array, Array] | None,
        value: float | None,
    ) -> tuple[float, Array, Array]:
        """Return `f(x)`, the gradient and its error estimate (shaped like `x`).

        `value` is `f(x)` if known; the estimator evaluates it if it needs it
        and it is `None` (and returns NaN for it if it needs it not).
        """


@attrs.frozen(field_transformer=_options_last)
class CentralDifference(_Differences):
    r"""Central differences: $g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)$.

    Costs `2 n` objective evaluations per gradient (`n = x.size`), and `2 n + 1`
    per optimizer step (the value at `x` is one more call). The points are sent
    in batches through [`Objective.map_values`][optim.objective.Objective.map_values],
    so a vectorized objective takes one call per batch and an `executor` spreads
    the batches over workers. The truncation error is $O(h^2)$.

    Error estimate, per coordinate, from
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]
    and [`value_and_estimate`][optim.gradients.GradientEstimator.value_and_estimate]
    at no extra evaluation (the two give the same), with $f_\pm = f(x \pm h_i
    e_i)$ and the length scale $L_i = \max(1, |x_i|)$ the step rule assumes:

    $$\text{error}_i = \frac{\delta(f_+) + \delta(f_-)}{2 h_i}
      + 100 \cdot \frac{h_i^2}{6} \frac{|g_i|}{L_i^2},
      \qquad \delta(f) = 10 \epsilon |f| + \sigma.$$

    The first term is rounding: each computed value is taken to be off by
    $\delta(f)$, ten times the float64 rounding of $f$ plus the objective's
    `noise` $\sigma$. The second is truncation, $h_i^2 |\partial_i^3 f| / 6$,
    with the third derivative (which three points cannot measure) replaced by
    $|g_i| / L_i^2$: derivatives are assumed to change on the scale $L_i$. The
    factor 100 makes up for that proxy (calibrated on the problem library:
    with the default step the estimate covers the true error in about 99% of
    coordinates, with `step=1e-3` too). It adds nothing at a stationary point,
    where a quadratic model is exact, and is negligible with the default step;
    on a function that oscillates on a scale much shorter than $L_i$, with a
    large `step`, it can underestimate.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/3} \max(1, |x_i|)$
    (about `6e-6` near the origin), the step that balances truncation against
    rounding error for a smooth objective, rounded so that $x_i \pm h_i$ is exact.
    A float is an absolute step used for every coordinate, an array (shaped like
    `x`) one absolute step per coordinate; both are used as given:
    `CentralDifference(step=1e-4)` is the textbook's numerical gradient, bit for bit.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(CentralDifference().estimate(Sphere(), np.array([3.0, 2.0])), 8)
        array([6., 4.])

        Integer points are treated as floats (the textbook's code truncated them):

        >>> CentralDifference(step=1e-4).estimate(Sphere(), np.array([3, 2])).round(6)
        array([6., 4.])

        One absolute step per coordinate:

        >>> steps = np.array([1e-3, 1e-5])
        >>> CentralDifference(step=steps).estimate(Sphere(), np.array([3.0, 2.0]))
        array([6., 4.])

        An error estimate per coordinate, at no extra evaluation; `noise` widens
        it for a noisy objective (here to about $\sigma / h$):

        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> x = np.array([0.5, 1.0])
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> g, error = CentralDifference().estimate_with_error(f, x)
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-8))
        (True, True)
        >>> CentralDifference(noise=1e-10).estimate_with_error(f, x)[1].round(6)
        array([1.7e-05, 1.7e-05])
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute step (a float, or an array shaped like `x`), or `None` for the
    automatic relative step."""

    noise: float | None = attrs.field(
        default=None, kw_only=True, validator=_optional_non_negative
    )
    """Absolute noise of one evaluation of the objective (the most it can be off),
    added to the rounding part of the error estimate; `None` for rounding only.
    The gradient itself does not depend on it."""

    @override
    def _with_value(
        self,
        objective: Objective,
        x: Array,
        box: tuple[Array, Array] | None,
        value: float | None,
    ) -> tuple[float, Array, Array]:
        flat = _flat(x)
        n = flat.shape[0]
        eps = _eps(x)
        h = _coordinate_steps(flat, self.step, eps ** (1.0 / 3.0), x.shape)
        if box is not None:
            return self._in_box(objective, x, h, box, value)
        f = self._evaluate(
            objective,
            x,
            2 * n,
            _axis_points(x, _concat([flat + h, flat - h])),
            np.float64,
        )
        up, down = f[:n], f[n:]
        exact = self.step is not None and _is_float64(x)  # as given
        distance = 2.0 * h if exact else (flat + h) - (flat - h)
        gradient = (up - down) / distance
        xp = _xp(x)
        gradient = np.asarray(gradient) if xp is np else gradient
        noise = self.noise
        rounding = (_value_error(up, noise, eps) + _value_error(down, noise, eps)) / (
            2.0 * h
        )
        error = rounding + _truncation(flat, gradient, h, 2)
        value = math.nan if value is None else value
        return value, _shaped(gradient, x.shape), _shaped(error, x.shape)

    def _in_box(
        self,
        objective: Objective,
        x: Array,
        h: Array,
        box: tuple[Array, Array],
        value: float | None,
    ) -> tuple[float, Array, Array]:
        """Three-point differences that stay in the box (see `_one_sided_fit`)."""
        flat = x.reshape(-1)
        n = flat.size
        a, b = _one_sided_fit(flat, h, box)
        near, far = _inside(flat + a, box), _inside(flat + b, box)
        f = self._evaluate(
            objective,
            x,
            2 * n,
            _axis_points(x, np.concatenate([near, far])),
            np.float64,
        )
        a, b = near - flat, far - flat
        if value is None and bool(np.any(a * b > 0.0)):
            value = objective.value(x)
        f0 = 0.0 if value is None else value  # unused unless a stencil is one-sided
        gradient, (c0, c1, c2) = _three_point(f0, f[:n], f[n:], a, b)
        # Points on both sides: the two-point difference, which needs no f(x) (the
        # parabola's weight of f(x) is zero but for the rounding of a and b).
        central = a * b < 0.0
        width = np.where(central, a - b, 1.0)
        gradient = np.where(central, (f[:n] - f[n:]) / width, gradient)
        c0 = np.where(central, 0.0, c0)
        c1 = np.where(central, 1.0 / width, c1)
        c2 = np.where(central, -1.0 / width, c2)
        noise, eps = self.noise, _eps(x)
        rounding = np.abs(c1) * _value_error(f[:n], noise, eps) + np.abs(
            c2
        ) * _value_error(f[n:], noise, eps)
        rounding = rounding + np.abs(c0) * _value_error(np.asarray(f0), noise, eps)
        error = (
            rounding
            + _CENTRAL_TRUNCATION
            / 6.0
            * np.abs(a * b)
            * np.abs(gradient)
            / np.maximum(1.0, np.abs(flat)) ** 2
        )
        value = math.nan if value is None else value
        return value, gradient.reshape(x.shape), error.reshape(x.shape)


@attrs.frozen(field_transformer=_options_last)
class _OneSided(_Differences):
    """One-sided differences; subclasses choose the side with `_side` (+1 or -1)."""

    _side: ClassVar[float]

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute step (a float, or an array shaped like `x`), or `None` for the
    automatic relative step."""

    noise: float | None = attrs.field(
        default=None, kw_only=True, validator=_optional_non_negative
    )
    """Absolute noise of one evaluation of the objective (the most it can be off),
    added to the rounding part of the error estimate; `None` for rounding only.
    The gradient itself does not depend on it."""

    @override
    def _with_value(
        self,
        objective: Objective,
        x: Array,
        box: tuple[Array, Array] | None,
        value: float | None,
    ) -> tuple[float, Array, Array]:
        if value is None:
            value = objective.value(x)
        gradient, f, h = self._quotients(objective, x, value, box)
        eps = _eps(x)
        xp = _xp(x)
        at_x = _value_error(np.asarray(value), self.noise, eps)
        if xp is not np:
            at_x = float(at_x)  # type: ignore[assignment]  # a Python scalar
        dead = h == 0.0
        safe = xp.where(dead, 1.0, h)
        rounding = (_value_error(f, self.noise, eps) + at_x) / safe
        error = xp.where(dead, 0.0, rounding + _truncation(_flat(x), gradient, h, 1))
        return value, _shaped(gradient, x.shape), _shaped(error, x.shape)

    def _quotients(
        self,
        objective: Objective,
        x: Array,
        value: float,
        box: tuple[Array, Array] | None,
    ) -> tuple[Array, Array, Array]:
        """Return the flat quotients, the values `f(x + side h e_i)` and `|h|`.

        In a box, a coordinate whose step leaves it steps to the other side if
        that fits, and otherwise to the bound with more room (`h = 0` for a
        zero-width box: quotient 0).
        """
        flat = _flat(x)
        xp = _xp(x)
        side = _full(flat, self._side)
        if self.step is None:
            h = _eps(x) ** 0.5 * _at_least_one(xp.abs(flat))
            h = (flat + h) - flat if self._side > 0 else flat - (flat - h)
        else:
            h = _coordinate_steps(flat, self.step, 0.0, x.shape)
        if box is not None:
            below, above = _room(flat, box)
            ahead, behind = (above, below) if self._side > 0 else (below, above)
            flip = (ahead < h) & ((behind >= h) | (behind > ahead))
            side = np.where(flip, -side, side)
            room = np.where(flip, behind, ahead)
            h = np.where(room < h, room, h)
        targets = _inside(flat + side * h, box)
        f = self._evaluate(
            objective, x, flat.shape[0], _axis_points(x, targets), np.float64
        )
        if box is not None:
            h = np.abs(targets - flat)
        dead = h == 0.0
        safe = xp.where(dead, 1.0, h)
        quotients = xp.where(dead, 0.0, side * (f - value) / safe)
        return (np.asarray(quotients) if xp is np else quotients), f, h


@attrs.frozen(field_transformer=_options_last)
class ForwardDifference(_OneSided):
    r"""Forward differences: $g_i = (f(x + h_i e_i) - f(x)) / h_i$.

    Costs `n + 1` objective evaluations per gradient (`n = x.size`), and also
    `n + 1` per optimizer step, where `f(x)` is the step's value and is shared.
    The truncation error is $O(h)$: cheaper than
    [`CentralDifference`][optim.gradients.CentralDifference] but less accurate.
    Batching, `executor` and memory bound work as for `CentralDifference`.

    Error estimate, per coordinate, at no extra evaluation (`estimate_with_error`
    and `value_and_estimate` give the same), with $f_+ = f(x + h_i e_i)$, $L_i =
    \max(1, |x_i|)$ and $\delta(f) = 10 \epsilon |f| + \sigma$ as for
    `CentralDifference`:

    $$\text{error}_i = \frac{\delta(f_+) + \delta(f(x))}{h_i}
      + 30 \cdot \frac{h_i}{2} \frac{|g_i|}{L_i}.$$

    The truncation error is $h_i |\partial_i^2 f| / 2$, and one-sided values
    cannot measure the curvature (that needs $f(x - h_i e_i)$ too); it is
    replaced by $|g_i| / L_i$, with a factor 30 calibrated on the problem
    library. **Near a minimum this proxy vanishes while the curvature does
    not**: there the estimate is rounding only and misses the true error
    $h_i |\partial_i^2 f| / 2$ (for example `6e-6` at Rosenbrock's
    minimizer). Use `CentralDifference` when the error matters there.

    Step choice: `step=None` (default) uses $h_i = \epsilon^{1/2} \max(1, |x_i|)$
    (about `1.5e-8` near the origin), rounded so that $x_i + h_i$ is exact; a float
    or an array shaped like `x` is an absolute step used as given.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(ForwardDifference().estimate(Sphere(), np.array([3.0, 2.0])), 6)
        array([6., 4.])

        With its error estimate:

        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = ForwardDifference().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-6))
        (True, True)
    """

    _side = 1.0


@attrs.frozen(field_transformer=_options_last)
class BackwardDifference(_OneSided):
    r"""Backward differences: $g_i = (f(x) - f(x - h_i e_i)) / h_i$.

    The mirror image of [`ForwardDifference`][optim.gradients.ForwardDifference],
    with the same cost (`n + 1` evaluations per gradient and per optimizer step,
    `f(x)` shared), the same $O(h)$ accuracy, the same error estimate (with
    $f(x - h_i e_i)$ for $f_+$) and the same step rule
    ($h_i = \epsilon^{1/2} \max(1, |x_i|)$, rounded so that $x_i - h_i$ is exact).
    Useful when the objective is undefined just above `x`, at an upper bound.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> np.round(BackwardDifference().estimate(Sphere(), np.array([3.0, 2.0])), 6)
        array([6., 4.])
    """

    _side = -1.0


@attrs.frozen(field_transformer=_options_last)
class ComplexStep(_Differences):
    r"""Complex-step derivatives: $g_i = \operatorname{Im} f(x + i h_i e_i) / h_i$.

    For an objective that is real on real points and *accepts complex input* (it
    is built from analytic operations: `+`, `*`, `/`, `**`, `exp`, `sin`, ...;
    no `abs`, comparisons, `np.real` or casts to float), this gives the gradient
    to machine precision: there is no subtraction, so the step can be tiny and
    the $O(h^2)$ truncation error vanishes.

    The complex points are evaluated through
    [`Objective.map_values`][optim.objective.Objective.map_values] (so through
    [`Objective.values`][optim.objective.Objective.values], which must return
    complex values for complex points; `FunctionObjective` and the default
    `values` do when the function propagates complex numbers). An objective that
    returns real values for complex points raises `TypeError`.

    Costs `n` complex evaluations per gradient, and `n + 1` per optimizer step
    (the value at `x` is one more, real, call).

    Error estimate, per coordinate, at no extra evaluation, with $F = f(x + i h_i
    e_i)$ and $L_i = \max(1, |x_i|)$:

    - rounding: $10 \epsilon (|\operatorname{Im} F| / h_i + |\operatorname{Re} F|
      / L_i)$. There is no subtractive cancellation, so the quotient keeps the
      relative accuracy of $\operatorname{Im} F$; the second term covers
      cancellation *inside* the objective's own derivative (terms of size about
      $|f| / L_i$ summing to a small $g_i$).
    - truncation: $\operatorname{Im} F / h_i = g_i - h_i^2 \partial_i^3 f / 6 +
      O(h_i^4)$, bounded like
      [`CentralDifference`][optim.gradients.CentralDifference]'s by $100 \cdot
      \frac{h_i^2}{6} |g_i| / L_i^2$. With the default step ($h_i = 10^{-20}
      L_i$) this is below $10^{-38} |g_i|$: negligible; it matters only for a
      large user `step`.

    The objective's `noise` cannot be taken into account (a noisy objective does
    not give a usable imaginary part); a real noise added to $f$ leaves the
    imaginary part, and so the estimate, unchanged.

    Step choice: `step=None` (default) uses $h_i = 10^{-20} \max(1, |x_i|)$; a
    float or an array shaped like `x` is used as given.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = ComplexStep().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= 1e-15 * np.abs(exact)))
        True
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-14))
        (True, True)
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute imaginary step (a float, or an array shaped like `x`), or `None`
    for the automatic relative step."""

    def _derivatives(
        self, objective: Objective, x: Array
    ) -> tuple[Array, npt.NDArray[np.complex128], Array]:
        """Return the flat gradient, the values `f(x + i h e_i)` and `h`."""
        flat = x.reshape(-1)
        if self.step is None:
            h = _COMPLEX_STEP * np.maximum(1.0, np.abs(flat))
        else:
            h = _coordinate_steps(flat, self.step, 0.0, x.shape)
        f = self._evaluate(
            objective,
            x,
            flat.size,
            _axis_points(x, flat + 1j * h),
            np.complex128,
        )
        return np.asarray(f.imag / h), f, h

    @override
    def _with_value(
        self,
        objective: Objective,
        x: Array,
        box: tuple[Array, Array] | None,
        value: float | None,
    ) -> tuple[float, Array, Array]:
        _numpy_only(x, self)
        # Only the imaginary part moves: every point evaluated stays in the box.
        gradient, f, h = self._derivatives(objective, x)
        flat = x.reshape(-1)
        eps = _eps(x)
        rounding = _value_error(f.imag, None, eps) / h + _value_error(
            f.real, None, eps
        ) / np.maximum(1.0, np.abs(flat))
        error = rounding + _truncation(flat, gradient, h, 2)
        value = math.nan if value is None else value
        return value, gradient.reshape(x.shape), error.reshape(x.shape)


@attrs.frozen
class _WithError(_BatchedEstimator):
    """Estimators whose work is `estimate_with_error`; `estimate` drops the error."""

    @override
    def estimate(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> Array:
        return self.estimate_with_error(objective, x, **_extra(rng, bounds))[0]

    @abc.abstractmethod
    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[Array, Array | None]: ...


_RATIO = 3.0
"""Ratio of successive steps of `Richardson`."""


def _richardson_offsets(
    flat: Array, top: Array, levels: int, box: tuple[Array, Array] | None
) -> tuple[Array, Array]:
    """Offsets `(a, b)`, shape `(levels, n)`, of `Richardson`'s three-point stencils.

    Without a box, central stencils `(h_k, -h_k)`, `h_k = top / 3^k`. In a box, a
    coordinate whose largest central stencil does not fit shrinks it to the nearer
    bound, unless a one-sided stencil `(h_k, 2 h_k)` toward the farther bound can
    be more than 4 times longer: then it uses that.
    """
    scale = _RATIO ** -np.arange(levels, dtype=flat.dtype)[:, np.newaxis]
    if box is None:
        return top * scale, -top * scale
    below, above = _room(flat, box)
    central = np.minimum(top, np.minimum(below, above))
    forward = above >= below
    one_sided = np.minimum(top, np.where(forward, above, below) / 2.0)
    use_one_sided = 4.0 * central < one_sided
    sign = np.where(forward, 1.0, -1.0)
    a = np.where(use_one_sided, sign * one_sided, central)
    b = np.where(use_one_sided, 2.0 * sign * one_sided, -central)
    return a * scale, b * scale


def _extrapolate(
    differences: Array, rounding: Array, powers: list[Array], terms: int
) -> tuple[Array, Array]:
    """Pick, per coordinate, the extrapolated value with the smallest error estimate.

    `differences[k]` are difference quotients with steps `h / 3^k`, whose error
    is a series in `h^p` for the `powers` `p`; `rounding[k]` bounds their
    rounding errors. Each window of `terms + 1` successive steps is extrapolated
    (Neville's table); its error is estimated, as in Ridders' method, by the
    larger of its distances to the previous order (same steps but the largest)
    and to the previous window, plus the rounding error carried through the
    table. Windows touching a non-finite value are never picked.
    """
    table, carried = differences, rounding
    below = differences
    for j in range(terms):
        factor = _RATIO ** powers[j]
        below = table
        table = (factor * table[1:] - table[:-1]) / (factor - 1.0)
        carried = (factor * carried[1:] + carried[:-1]) / (factor - 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        to_order = np.abs(table - below[1:])
        to_window = np.vstack([to_order[:1], np.abs(table[1:] - table[:-1])])
        to_window = np.where(np.isfinite(to_window), to_window, to_order)
        error = np.maximum(to_order, to_window) + carried
    error = np.where(np.isfinite(error) & np.isfinite(table), error, np.inf)
    best = np.argmin(error, axis=0)
    columns = np.arange(differences.shape[1])
    return table[best, columns], error[best, columns]


@attrs.frozen(field_transformer=_options_last)
class Richardson(_Differences):
    r"""Extrapolated differences with adaptive step choice and an error estimate.

    Central differences $D_k$ are taken with `levels` steps $h_k = h_0 / 3^k$,
    from $h_0 = \max(1, |x_i|)$ (rounded to a power of two) down to about
    $10^{-6} h_0$ with the default 13 levels. Their error is a series in $h^2$,
    and each window of `order / 2` successive steps is extrapolated with
    Richardson's table (Neville's scheme, as in numdifftools),

    $$R_{k,j} = \frac{3^{2j} R_{k+1,j-1} - R_{k,j-1}}{3^{2j} - 1},$$

    cancelling the terms $h^2, \dots, h^{\text{order}-2}$. Per coordinate, the
    window with the **smallest estimated error** is returned (Ridders' method):
    large steps lose to truncation, small ones to rounding, and the choice adapts
    to each coordinate's own scale, which no fixed step can. A window containing a
    non-finite value (a step at which the objective overflows or is undefined) is
    discarded, never used.

    Error estimate, per coordinate, returned by
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]:
    the larger of the chosen value's distance to the lower-order value of the same
    steps and to the neighboring window's value (how much the extrapolation still
    moves), plus the rounding error carried through the table, $10 \epsilon |f|$
    per value. On the Moré-Garbow-Hillstrom problems and the problem library it
    covers the true error in at least 95% of the coordinates where that error is
    above rounding level (`tests/test_richardson.py`).

    Costs `2 n * levels` evaluations per gradient (26 `n` by default; numdifftools'
    default `Gradient` takes `30 n + 1`), and one more per optimizer step.
    Batching, `executor` and memory bound work as for
    [`CentralDifference`][optim.gradients.CentralDifference].

    In a box (`bounds=`), a coordinate whose central stencil would leave the box
    shrinks it to the nearer bound, or, when the other side has more than four
    times the room, switches to one-sided three-point differences
    $(-3 f(x) + 4 f(x + h) - f(x + 2h)) / 2h$ (error series $h^2, h^3, \dots$,
    extrapolated the same way; one more evaluation, of $f(x)$, shared with the
    step's value in a run). A zero-width coordinate gets derivative 0, error 0.

    Step choice: `step=None` (default) starts from $h_0 = \max(1, |x_i|)$ rounded
    to a power of two; a float or an array shaped like `x` is the largest step
    $h_0$, used as given.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> f = FunctionObjective(lambda x: np.exp(x[0]) * np.sin(x[1]))
        >>> g, error = Richardson().estimate_with_error(f, np.array([0.5, 1.0]))
        >>> exact = np.exp(0.5) * np.array([np.sin(1.0), np.cos(1.0)])
        >>> bool(np.all(np.abs(g - exact) <= error)), bool(np.all(error < 1e-11))
        (True, True)

        Steps where the objective is not finite are discarded:

        >>> spike = FunctionObjective(
        ...     lambda x: 1.0 / (1.01 - x[0]) if x[0] < 1.01 else np.inf
        ... )
        >>> g = Richardson().estimate(spike, np.array([0.0]))
        >>> bool(abs(g[0] - 1.0 / 1.01**2) < 1e-9)
        True
    """

    step: float | Array | None = attrs.field(
        default=None, converter=_to_step, eq=_step_eq, hash=False
    )
    """Largest absolute step (a float, or an array shaped like `x`), or `None` for
    the automatic relative step."""

    order: int = attrs.field(default=6, kw_only=True)
    """Even truncation order of each extrapolated value, at least 4 (`order / 2`
    steps per window)."""

    levels: int = attrs.field(default=13, kw_only=True)
    """Number of steps $h_0 / 3^k$; at least `order / 2`. Costs `2 n * levels`
    evaluations."""

    @order.validator
    def _check_order(self, attribute: attrs.Attribute[int], value: int) -> None:
        _validators.count(self, attribute, value)
        if value < 4 or value % 2:
            raise ValueError(f"order must be an even integer >= 4, got {value!r}")

    @levels.validator
    def _check_levels(self, attribute: attrs.Attribute[int], value: int) -> None:
        _validators.count(self, attribute, value)
        if value < self.order // 2:
            raise ValueError(
                f"levels must be at least order / 2 = {self.order // 2}, got {value!r}"
            )

    @override
    def _with_value(
        self,
        objective: Objective,
        x: Array,
        box: tuple[Array, Array] | None,
        value: float | None,
    ) -> tuple[float, Array, Array]:
        """Return `f(x)` (NaN if unknown and unneeded), the gradient and its error."""
        _numpy_only(x, self)
        flat = x.reshape(-1)
        n = flat.size
        if self.step is None:
            top = np.exp2(np.round(np.log2(np.maximum(1.0, np.abs(flat)))))
        else:
            top = _coordinate_steps(flat, self.step, 0.0, x.shape)
        a, b = _richardson_offsets(flat, top, self.levels, box)
        near, far = _inside(flat + a, box), _inside(flat + b, box)
        targets = np.stack([near, far], axis=1).reshape(-1)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            f = self._evaluate(
                objective, x, targets.size, _axis_points(x, targets), np.float64
            ).reshape(self.levels, 2, n)
        a, b = near - flat, far - flat
        one_sided = a[0] * b[0] > 0.0
        if value is None and bool(one_sided.any()):
            value = objective.value(x)
        f0 = math.nan if value is None else value
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            central = (f[:, 0] - f[:, 1]) / (a - b)
            sided, (c0, c1, c2) = _three_point(f0, f[:, 0], f[:, 1], a, b)
            differences = np.where(one_sided, sided, central)
            eps = _eps(x)
            delta = _value_error(f, None, eps)
            rounding = np.where(
                one_sided,
                np.abs(c0) * _value_error(np.asarray(f0), None, eps)
                + np.abs(c1) * delta[:, 0]
                + np.abs(c2) * delta[:, 1],
                (delta[:, 0] + delta[:, 1]) / np.abs(a - b),
            )
        terms = self.order // 2 - 1
        powers = [np.where(one_sided, j + 2.0, 2.0 * j + 2.0) for j in range(terms)]
        gradient, error = _extrapolate(differences, rounding, powers, terms)
        dead = (a[0] == 0.0) & (b[0] == 0.0)
        gradient, error = np.where(dead, 0.0, gradient), np.where(dead, 0.0, error)
        value = math.nan if value is None else value
        return value, gradient.reshape(x.shape), error.reshape(x.shape)


def _spsa_box(
    flat: Array, h: Array, box: tuple[Array, Array] | None
) -> tuple[Array, Array]:
    """SPSA's center and half-width per coordinate, so that `c +- h` is in the box.

    A coordinate closer than `h` to a bound moves its center away from the bound
    (a one-sided difference); one in a box narrower than `2 h` uses the box's
    middle and half its width (0 for a zero-width box).
    """
    if box is None:
        return flat, h
    lower, upper = box
    width = upper - lower
    fits = width >= 2.0 * h
    half = np.where(fits, h, width / 2.0)
    with np.errstate(invalid="ignore"):
        center = np.where(fits, np.clip(flat, lower + half, upper - half), lower + half)
    return center, half


class _KeywordHints:
    """Mixin: a misnamed keyword gets the name that exists (`seed=` -> `rng=`).

    Python's own `TypeError` (`got an unexpected keyword argument 'seed'`) does
    not say what to write instead. The check is in `__new__`, which sees the
    keywords before attrs' `__init__` does; it sits on this base, below the
    class's own `__init__`, so `inspect.signature` still shows the fields.
    """

    __slots__ = ()

    _misnamed: ClassVar[dict[str, str]] = {}
    """Keywords users of other libraries reach for, and what the class calls them."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        """Refuse a misnamed keyword with the name that exists."""
        for wrong, right in cls._misnamed.items():
            if wrong in kwargs:
                raise TypeError(
                    f"{cls.__name__}() got an unexpected keyword argument "
                    f"{wrong!r}; did you mean {right}=?"
                )
        return super().__new__(cls)


@attrs.frozen(field_transformer=_options_last)
class SPSA(_WithError, _KeywordHints):
    r"""Simultaneous-perturbation (SPSA) gradient estimate, averaged over samples.

    Each sample draws a random sign vector $\Delta \in \{-1, 1\}^n$ and uses two
    evaluations, whatever $n$:

    $$\hat g_i = \frac{f(x + h \odot \Delta) - f(x - h \odot \Delta)}{2 h_i \Delta_i}.$$

    It is unbiased up to $O(h^2)$ but noisy (each coordinate picks up the others'
    slopes); `samples` estimates are averaged. Use it when `n` is large and
    evaluations are expensive or noisy, typically with a larger `step`.
    [`estimate_with_error`][optim.gradients.GradientEstimator.estimate_with_error]
    returns the standard error of the mean over samples (`samples >= 2`; `None`
    for one sample), a one-sigma error, not a bound.

    Costs `2 * samples` evaluations per gradient, and one more per optimizer step.
    Perturbations are drawn from the run's random stream (see
    [`random_stream`][optim.gradients.GradientEstimator.random_stream]) in sample
    order, a chunk of samples at a time, and the estimates are accumulated as they
    come: peak extra memory stays within `max_batch_bytes` plus a few `n`-vectors
    however many samples are taken, and results do not depend on batching or
    executor (the same seed draws the same signs); each step draws new ones. The
    standard error takes a second pass over the same signs (drawn again from a
    copy of the stream's state), with no evaluation.

    In a box (`bounds=`), a coordinate closer than $h_i$ to a bound is perturbed
    around a center moved $h_i$ away from it (a one-sided difference, biased by
    about that shift times the curvature, which the error estimate adds as
    $15 |c_i - x_i| |g_i| / L_i$); a coordinate whose box is narrower than $2 h_i$
    uses the box's middle and half its width, and a zero-width one gets 0.
    Called outside a run, each call draws from a new stream seeded with
    `rng`, so it returns the same estimate every time.

    For a point of another array library (PyTorch, CuPy, JAX, array-api-strict,
    without a box), the signs are still drawn from the run's numpy stream on the
    host, in the same order (so a seed gives the same draws, and the same
    estimate to rounding, on every library, and checkpoints keep one stream);
    each chunk of draws is moved to the point's device in one transfer, and
    everything else is computed there.

    Step choice: `step=None` (default) uses the central-difference rule
    $h_i = \epsilon^{1/3} \max(1, |x_i|)$; a float or an array shaped like `x`
    is used as given.

    Examples:
        >>> import numpy as np
        >>> from optim.problems import Sphere
        >>> spsa = SPSA(samples=200, rng=0)
        >>> g, error = spsa.estimate_with_error(Sphere(), np.array([3.0, 2.0]))
        >>> bool(np.all(np.abs(g - [6.0, 4.0]) < 4 * error))
        True
    """

    samples: int = attrs.field(default=1, validator=_validators.positive_count)
    """Number of random perturbations averaged (2 evaluations each)."""

    step: float | Array | None = attrs.field(
        default=None, kw_only=True, converter=_to_step, eq=_step_eq, hash=False
    )
    """Absolute perturbation size (a float, or an array shaped like `x`), or `None`
    for the automatic relative step."""

    rng: int = attrs.field(default=None, kw_only=True, converter=_to_seed)
    """The seed of the random stream each run draws from: an integer >= 0, or
    `None` for fresh entropy drawn once, when the estimator is made (so this
    estimator still repeats itself exactly). A `numpy.random.Generator` is
    refused: it would carry state from one run into the next."""

    _misnamed: ClassVar[dict[str, str]] = {
        "seed": "rng",
        "random_state": "rng",
        "h": "step",
    }

    @override
    def random_stream(self) -> np.random.Generator:
        return np.random.default_rng(self.rng)

    @override
    def estimate_with_error(
        self,
        objective: Objective,
        x: Array,
        *,
        rng: np.random.Generator | None = None,
        bounds: Box | None = None,
    ) -> tuple[Array, Array | None]:
        x = as_float_array(x)
        rng = self.random_stream() if rng is None else rng
        if _xp(x) is not np:
            _box(x, bounds)  # refuses a box for another library's point
            return self._estimate_xp(objective, x, rng)
        flat = x.reshape(-1)
        n, k = flat.size, self.samples
        h = _coordinate_steps(flat, self.step, _eps(x) ** (1.0 / 3.0), x.shape)
        box = _box(x, bounds)
        center, h = _spsa_box(flat, h, box)
        dead = h == 0.0
        h = np.where(dead, 1.0, h)  # any step: the coordinate's estimate is zeroed
        # Budget per sample: its signs (int64), its perturbation and two points.
        chunk = max(1, self.max_batch_bytes // (4 * 8 * n))
        saved = copy.deepcopy(rng.bit_generator.state)
        total = np.zeros(n)
        differences = np.empty(k)
        for start in range(0, k, chunk):
            count = min(chunk, k - start)
            perturbations = rng.integers(0, 2, size=(count, n)).astype(flat.dtype)
            perturbations *= 2.0
            perturbations -= 1.0
            perturbations *= h
            f = self._evaluate(
                objective,
                x,
                2 * count,
                _spsa_points(center, perturbations, box, x),
                np.float64,
            )
            d = f[0::2] - f[1::2]
            differences[start : start + count] = d
            for j in range(count):
                total += d[j] / 2.0 / perturbations[j]
        gradient = np.where(dead, 0.0, total / k)
        if k < 2:
            return gradient.reshape(x.shape).astype(flat.dtype, copy=False), None
        replay = np.random.Generator(type(rng.bit_generator)())
        replay.bit_generator.state = saved
        del total
        squares = np.zeros(n)
        for j in range(k):  # in place: a few n-vectors at most
            deviation = replay.integers(0, 2, size=n).astype(np.float64)
            deviation *= 2.0
            deviation -= 1.0
            deviation *= h
            np.divide(differences[j] / 2.0, deviation, out=deviation)
            deviation -= gradient
            deviation *= deviation
            squares += deviation
        error = np.sqrt(squares / (k - 1)) / math.sqrt(k)
        if box is not None:
            shift = np.abs(center - flat)
            error = error + _ONE_SIDED_TRUNCATION / 2.0 * shift * np.abs(
                gradient
            ) / np.maximum(1.0, np.abs(flat))
        error = np.where(dead, 0.0, error)
        return _in_dtype(x, 0.0, gradient.reshape(x.shape), error.reshape(x.shape))[1:]

    def _estimate_xp(
        self, objective: Objective, x: Array, rng: np.random.Generator
    ) -> tuple[Array, Array | None]:
        """`estimate_with_error` for another library's point, on its device.

        The signs are drawn from the run's numpy stream on the host, exactly as
        for a numpy point (the same stream, the same draws, one checkpointable
        state), and each chunk of them is moved to the device in one transfer;
        the standard error's second pass moves one sign vector per sample.
        """
        xp, flat = _xp(x), _flat(x)
        n, k = flat.shape[0], self.samples
        h = _coordinate_steps(flat, self.step, _eps(x) ** (1.0 / 3.0), x.shape)
        host = np.float32 if flat.dtype == xp.float32 else np.float64
        chunk = max(1, self.max_batch_bytes // (4 * 8 * n))
        saved = copy.deepcopy(rng.bit_generator.state)
        total = xp.zeros_like(flat)
        differences = []
        for start in range(0, k, chunk):
            count = min(chunk, k - start)
            signs: Any = rng.integers(0, 2, size=(count, n)).astype(host)
            signs = signs * 2.0 - 1.0
            perturbations = backend.from_host(signs, like=flat) * h

            def build(begin: int, end: int, p: Any = perturbations) -> Any:
                rows = [
                    p[j // 2, :] * (1.0 if j % 2 == 0 else -1.0) + flat
                    for j in range(begin, end)
                ]
                return xp.reshape(xp.stack(rows), (end - begin, *x.shape))

            f = self._evaluate(objective, x, 2 * count, build, np.float64)
            d = f[0::2] - f[1::2]
            differences.append(d)
            for j in range(count):
                total = total + d[j] / 2.0 / perturbations[j, :]
        gradient = total / k
        if k < 2:
            return _in_dtype(x, 0.0, _shaped(gradient, x.shape), None)[1:]
        replay = np.random.Generator(type(rng.bit_generator)())
        replay.bit_generator.state = saved
        d = _concat(differences)
        squares = xp.zeros_like(flat)
        for j in range(k):
            drawn: Any = replay.integers(0, 2, size=n).astype(np.float64)
            deviation = d[j] / 2.0 / (backend.from_host(drawn * 2.0 - 1.0, like=h) * h)
            spread = deviation - gradient
            # A product, as the numpy path squares: another library's `**` may
            # call a `pow` that rounds the last bit otherwise.
            squares = squares + spread * spread
        error = xp.sqrt(squares / (k - 1)) / math.sqrt(k)
        shaped = _shaped(gradient, x.shape), _shaped(error, x.shape)
        return _in_dtype(x, 0.0, *shaped)[1:]


def _spsa_points(
    center: Array,
    perturbations: Array,
    box: tuple[Array, Array] | None,
    x: Array,
) -> Callable[[int, int], Array]:
    """Build SPSA's points `center + p_j`, `center - p_j` (interleaved) for a chunk."""

    def build(start: int, end: int) -> Array:
        rows = np.arange(start, end)
        side = np.where(rows % 2 == 0, 1.0, -1.0)[:, np.newaxis]
        points: Array = perturbations[rows // 2]
        points *= side
        points += center
        if box is not None:
            points = np.clip(points, box[0], box[1])
        return points.reshape(end - start, *x.shape)

    return build
