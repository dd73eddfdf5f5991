"""Conversions and checks for the arrays that cross the public API."""

import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from optim import backend
from optim._types import Array, ArrayLike
from optim.backend import is_foreign, refuse_foreign, to_host

RUN_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
"""The dtypes a run computes in: float32 stays float32, everything else is float64."""


def run_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """The dtype a run computes in for points of `dtype`: float32 or float64.

    Examples:
        >>> run_dtype(np.float32), run_dtype(np.int64), run_dtype(np.float16)
        (dtype('float32'), dtype('float64'), dtype('float64'))
    """
    if dtype is RUN_DTYPES[0]:  # the common case, without a conversion
        return RUN_DTYPES[0]
    dtype = np.dtype(dtype)
    return dtype if dtype == RUN_DTYPES[1] else RUN_DTYPES[0]


def float_dtype(x: Any) -> Any:
    """The dtype a run computes in for the array `x`, in `x`'s own library.

    numpy's [`run_dtype`][optim._arrays.run_dtype] for a numpy array; another
    library's float32 or float64 otherwise.

    Examples:
        >>> import array_api_strict as xps
        >>> float_dtype(np.arange(2)), float_dtype(xps.ones(1, dtype=xps.float32))
        (dtype('float64'), array_api_strict.float32)
    """
    if type(x) is np.ndarray:
        return run_dtype(x.dtype)
    xp = backend.namespace_of(x)
    if xp is np:
        return run_dtype(np.result_type(x))
    return xp.float32 if x.dtype == xp.float32 else xp.float64


def machine_eps(x: Any) -> float:
    """The machine epsilon of the run's dtype for `x` (float32's for float32).

    Examples:
        >>> import array_api_strict as xps
        >>> machine_eps(np.zeros(1)) == float(np.finfo(np.float64).eps)
        True
        >>> machine_eps(xps.zeros(1, dtype=xps.float32)) == float(
        ...     np.finfo(np.float32).eps
        ... )
        True
    """
    if type(x) is np.ndarray:  # the hot path (line searches): no finfo
        dtype = x.dtype
        if dtype is RUN_DTYPES[0]:
            return _EPS[0]
        if dtype is RUN_DTYPES[1]:
            return _EPS[1]
    xp = backend.namespace_of(x)
    if xp is np:
        return float(np.finfo(run_dtype(np.result_type(x))).eps)
    return float(xp.finfo(float_dtype(x)).eps)


_EPS = tuple(float(np.finfo(dtype).eps) for dtype in RUN_DTYPES)
"""The machine epsilons of `RUN_DTYPES`, in their order."""


def host_dtype(x: Any) -> np.dtype[Any]:
    """The numpy dtype of the run's dtype for `x`: what its host copies hold.

    Examples:
        >>> import array_api_strict as xps
        >>> host_dtype(xps.ones(1, dtype=xps.float32)), host_dtype(np.arange(2))
        (dtype('float32'), dtype('float64'))
    """
    dtype = float_dtype(x)
    if isinstance(dtype, np.dtype):
        return dtype
    return RUN_DTYPES[1] if dtype == backend.namespace(x).float32 else RUN_DTYPES[0]


def full_for(x0: Any, fill: float = 0.0) -> Any:
    """An array shaped like `x0` filled with `fill`, in the run's dtype for `x0`.

    In `x0`'s library and on its device: how a rule makes its initial state.

    Examples:
        >>> import array_api_strict as xps
        >>> full_for(np.arange(2)), full_for(xps.ones(1, dtype=xps.float32), 0.5)
        (array([0., 0.]), Array([0.5], dtype=array_api_strict.float32))
    """
    xp = backend.namespace_of(x0)
    if xp is np:
        return np.full(np.shape(x0), fill, dtype=run_dtype(np.result_type(x0)))
    return xp.full(x0.shape, fill, dtype=float_dtype(x0), device=backend.device(x0))


def cast_like(x: Any, like: Any, *, copy: bool = False) -> Any:
    """`x` in the dtype of the array `like` (of the same library), copied if asked.

    Examples:
        >>> cast_like([1, 2], np.zeros(1, dtype=np.float32))
        array([1., 2.], dtype=float32)
    """
    xp = backend.namespace_of(like)
    if xp is np:
        if copy:
            return np.array(x, dtype=np.result_type(like))
        return np.asarray(x, dtype=np.result_type(like))
    return backend.astype(x, like.dtype, copy=copy)


def _is_real(x: Any, xp: Any) -> bool:
    """Whether another library's array `x` holds real numbers (or booleans)."""
    return bool(xp.isdtype(x.dtype, ("bool", "integral", "real floating")))


def as_float_array(x: ArrayLike, *, name: str = "x") -> Array:
    """Return `x` as a float64 or float32 array (integers and booleans: float64).

    A float64 or float32 array is returned as is (no copy); callers never write
    into it. Other real dtypes (integers, booleans, float16, long double) become
    float64. An array of another library (PyTorch, CuPy, JAX, array-api-strict)
    stays in its library and on its device.

    Raises:
        TypeError: If `x` is not real and numeric (strings, objects, complex).

    Examples:
        >>> import array_api_strict as xps
        >>> as_float_array([1, 2])
        array([1., 2.])
        >>> as_float_array(xps.asarray([1, 2]))
        Array([1., 2.], dtype=array_api_strict.float64)
    """
    if isinstance(x, np.ndarray) and x.dtype in RUN_DTYPES:
        return x
    if is_foreign(x):
        xp = backend.namespace(x)
        if not _is_real(x, xp):
            raise TypeError(
                f"{name} must be a real numeric array, got dtype {x.dtype} "  # type: ignore[union-attr]
                f"({type(x).__name__})"
            )
        return backend.astype(x, float_dtype(x), copy=False)  # type: ignore[no-any-return]
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {array.dtype} "
            f"({type(x).__name__})"
        )
    return array.astype(run_dtype(array.dtype))


def as_start_point(
    x0: ArrayLike, *, name: str = "x0", keep_library: bool = False
) -> Array:
    """Return a private float64 (or float32) copy of a starting point, after checks.

    A float32 `x0` gives a float32 copy: the run computes in float32. Anything else
    real (integers, booleans, float16) gives float64.

    An array of another library (PyTorch, CuPy, JAX, array-api-strict, ...) is
    refused before any work, unless `keep_library`: then the copy is an array of
    that library, on the device of `x0` (for a caller that computes in it).

    Raises:
        TypeError: If `x0` is not real and numeric, or is an array of another
            library than numpy (naming the library and the device) and
            `keep_library` is false.
        ValueError: If `x0` is empty or contains NaN or infinity.

    Examples:
        >>> import array_api_strict as xps
        >>> as_start_point([1, 2])
        array([1., 2.])
        >>> as_start_point(xps.asarray([1, 2]), keep_library=True)
        Array([1., 2.], dtype=array_api_strict.float64)
    """
    if keep_library and type(x0) is not np.ndarray and is_foreign(x0):
        foreign: Array = _foreign_start(x0, name)
        return foreign
    refuse_foreign(x0, name=name)
    array = as_float_array(x0, name=name)
    x = np.array(array, dtype=array.dtype, copy=True)
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {x!r}")
    return x


def _foreign_start(x0: Any, name: str) -> Any:
    """`as_start_point` for another library's array: a checked copy in it."""
    xp = backend.namespace(x0)
    start = backend.copy(as_float_array(x0, name=name))
    if backend.size(start) == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(start.shape)}")
    if not bool(xp.all(xp.isfinite(start))):
        raise ValueError(f"{name} must be finite, got {start!r}")
    return start


def as_scalar(value: object, *, name: str = "objective value") -> float:
    """Convert what an objective returned into a Python float.

    Accepted: a Python or numpy real number, or a 0-d array of one. NaN and
    infinity pass through: deciding what they mean is the optimizer's job.

    Raises:
        TypeError: If `value` is None, a string, a list or otherwise not a real
            number, naming `name` and what came back.
        ValueError: If `value` is an array with one or more dimensions.
    """
    if isinstance(value, float):  # float and numpy.float64, the common cases
        return float(value)
    if is_foreign(value):  # a 0-d array of another library: one host crossing
        return _foreign_scalar(value, name)
    array = _one_number(value, name)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} returned {_describe(value)}, but an objective value must be a "
            "real scalar (a Python or numpy number, or a 0-d array)"
        )
    return float(array)


def _foreign_scalar(value: Any, name: str) -> float:
    """Another library's 0-d real array as a Python float, after checks."""
    xp = backend.namespace(value)
    if tuple(value.shape) != ():
        raise ValueError(
            f"{name} returned {_describe(value)}, but an objective value must be a "
            "scalar (a 0-d value)"
        )
    if not _is_real(value, xp):
        raise TypeError(
            f"{name} returned {_describe(value)}, but an objective value must be a "
            "real scalar (a Python or numpy number, or a 0-d array)"
        )
    return float(value)


def _describe(value: object) -> str:
    """A short description of what came back, for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if is_foreign(value):
        return (
            f"an array of {backend.library(value)} of shape "
            f"{tuple(value.shape)} and dtype {value.dtype}"  # type: ignore[attr-defined]
        )
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _one_number(value: object, name: str) -> npt.NDArray[Any]:
    """`value` as a 0-d array, refusing None, strings, sequences and arrays."""
    if value is None or isinstance(value, str | bytes | list | tuple | dict | set):
        raise TypeError(
            f"{name} returned {_describe(value)}, but an objective value must be a "
            "real scalar (a Python or numpy number, or a 0-d array)"
        )
    array = np.asarray(value)
    if array.ndim != 0:
        raise ValueError(
            f"{name} returned {_describe(array)}, but an objective value must be a "
            "scalar (a 0-d value)"
        )
    return array


def as_complex_scalar(value: object, *, name: str = "objective value") -> complex:
    """Convert what an objective returned for a complex point into a Python complex.

    Used only on the complex-step path; the normal path keeps the real check of
    `as_scalar`.

    Raises:
        TypeError: If `value` is None, a string or otherwise not a number.
        ValueError: If `value` is an array with more than one element.
    """
    array = _one_number(value, name)
    if array.dtype.kind != "c":
        raise TypeError(
            f"{name} must be complex for a complex point, got dtype {array.dtype}: "
            "the function drops the imaginary part (abs, comparisons, float(...)), "
            "so complex-step differentiation cannot work on it"
        )
    return complex(array.reshape(()))


def checked_values(values: object, points: npt.NDArray[Any], *, name: str) -> Any:
    """Return the values of a stack of `points` as a 1-d array, after checking it.

    Real points give a float64 array; complex points (the complex-step path) give a
    complex128 array. The values of another array library's points (real) come
    back to the host: one scalar per point.

    Raises:
        TypeError: If the values are not numeric, or complex for real points.
        ValueError: If there is not exactly one value per point.
    """
    foreign = is_foreign(points)  # another library's points: real, never complex
    array = to_host(values) if is_foreign(values) else np.asarray(values)
    complex_points = False if foreign else np.iscomplexobj(points)
    if complex_points and array.dtype.kind != "c":
        raise TypeError(
            f"{name} must be complex for complex points, got dtype {array.dtype}: "
            "the objective drops the imaginary part, so complex-step "
            "differentiation cannot work on it"
        )
    if not complex_points and array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be real numbers for real points, got dtype {array.dtype}"
        )
    count = points.shape[0] if foreign else len(points)
    if array.shape != (count,):
        raise ValueError(
            f"{name} must have shape ({count},) for {count} points, got {array.shape}"
        )
    return array.astype(np.complex128 if complex_points else np.float64, copy=False)


def check_gradient_shape(
    gradient: object, x: Array, *, name: str, copy: bool = True
) -> Array:
    """Return `gradient` in `x`'s dtype, checked to be shaped like x.

    A gradient of another dtype is cast to `x`'s (a float64 gradient in a float32
    run becomes float32: the run stays in its dtype). By default the result is a
    private copy: an objective may write its next gradient into the same buffer
    while a step rule keeps earlier gradients (L-BFGS's pairs). With
    `copy=False` a gradient already of the right type, dtype and shape is
    returned as it is (O(1)).

    Raises:
        TypeError: If the gradient is not real and numeric.
        ValueError: If its shape differs from the shape of `x`.
    """
    if type(x) is not np.ndarray and is_foreign(x):
        checked: Array = _foreign_gradient(gradient, x, name=name, copy=copy)
        return checked
    if (
        type(gradient) is np.ndarray
        and gradient.dtype == run_dtype(x.dtype)
        and gradient.shape == x.shape
    ):
        return gradient.copy() if copy else gradient
    if gradient is None or isinstance(gradient, str | bytes | dict | set):
        raise TypeError(
            f"{name} returned {_describe(gradient)}, expected an array of shape "
            f"{x.shape}"
        )
    array = to_host(gradient) if is_foreign(gradient) else np.asarray(gradient)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} returned {_describe(array)}, expected a real array of shape "
            f"{x.shape}"
        )
    if array.shape != x.shape:
        raise ValueError(
            f"{name} returned {_describe(array)}, expected an array of shape "
            f"{x.shape} (the shape of x)"
        )
    return np.array(array, dtype=run_dtype(x.dtype), copy=True)


def in_library_of(value: Any, like: Any) -> Any:
    """`value` as an array of `like`'s library and device: moved once if it is not.

    What an objective returns for a point is put where the point is: a numpy
    gradient for a PyTorch point is moved to the point's device (one transfer), a
    JAX gradient for a numpy point comes to the host. An array of the right
    library is returned as it is.

    Examples:
        >>> import array_api_strict as xps
        >>> in_library_of(np.array([1.0]), xps.zeros(1))
        Array([1.], dtype=array_api_strict.float64)
        >>> in_library_of(xps.ones(1), np.zeros(1))
        array([1.])
    """
    if type(value) is np.ndarray and type(like) is np.ndarray:  # the hot path
        return value
    xp = backend.namespace_of(like)
    if backend.namespace_of(value) is xp:
        return value
    host = to_host(value) if is_foreign(value) else np.asarray(value)
    return host if xp is np else backend.from_host(host, like=like)


def _foreign_gradient(gradient: Any, x: Any, *, name: str, copy: bool) -> Any:
    """`check_gradient_shape` for another library's `x`: the gradient in its library.

    A gradient of another library (a numpy array for a PyTorch point, say) is
    moved to `x`'s library and device, once.
    """
    xp = backend.namespace(x)
    if not is_foreign(gradient) or backend.namespace(gradient) is not xp:
        host = in_library_of(gradient, np.empty(0))
        if host.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} returned {_describe(host)}, expected a real array of shape "
                f"{tuple(x.shape)}"
            )
        gradient, copy = backend.from_host(host, like=x), False
    if gradient is None or not _is_real(gradient, xp):
        raise TypeError(
            f"{name} returned {_describe(gradient)}, expected a real array of shape "
            f"{tuple(x.shape)}"
        )
    if tuple(gradient.shape) != tuple(x.shape):
        raise ValueError(
            f"{name} returned {_describe(gradient)}, expected an array of shape "
            f"{tuple(x.shape)} (the shape of x)"
        )
    dtype = float_dtype(x)
    if gradient.dtype != dtype:
        return backend.astype(gradient, dtype)
    return backend.copy(gradient) if copy else gradient


def check_like_x(value: object, x: Array, *, name: str, what: str) -> Array:
    """Return `value` in `x`'s dtype, checked to be a real float array shaped like `x`.

    O(1): only the type, dtype and shape are looked at (no copy of an array of
    `x`'s dtype; another float dtype is cast to `x`'s). Used on what plug-ins
    return: a rule's step, an estimator's gradient.

    For a 0-d `x`, a numpy floating-point scalar is accepted too and becomes a
    0-d array: numpy's arithmetic on 0-d arrays gives scalars
    (`-0.1 * np.array(2.0)` is `np.float64(-0.2)`), so a plug-in written for
    arrays returns them without doing anything wrong.

    Raises:
        TypeError: If `value` is not a real floating-point array (or, for a 0-d
            `x`, a numpy floating-point scalar).
        ValueError: If its shape differs from the shape of `x`.

    Examples:
        >>> x = np.array(1.0, dtype=np.float32)
        >>> check_like_x(np.float64(0.5), x, name="Rule.update", what="a step")
        array(0.5, dtype=float32)
        >>> check_like_x(0.5, x, name="Rule.update", what="a step")
        Traceback (most recent call last):
        ...
        TypeError: Rule.update returned a step that is float 0.5, expected a real ...
    """
    if type(x) is not np.ndarray and is_foreign(x):
        same_kind: Array = _foreign_like_x(value, x, name=name, what=what)
        return same_kind
    dtype = run_dtype(x.dtype)
    if type(value) is np.ndarray and value.dtype == dtype:
        if value.shape == x.shape:
            return value
    elif isinstance(value, np.floating) and x.shape == ():
        return np.asarray(value, dtype=dtype)
    elif not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise TypeError(
            f"{name} returned {what} that is {_describe(value)}, expected a real "
            f"floating-point array of shape {x.shape}"
        )
    if value.shape != x.shape:
        raise ValueError(
            f"{name} returned {what} of shape {value.shape}, expected shape "
            f"{x.shape} (the shape of x)"
        )
    return value.astype(dtype, copy=False)


def _foreign_like_x(value: Any, x: Any, *, name: str, what: str) -> Any:
    """`check_like_x` for another library's `x`: `value` must be of its library."""
    xp = backend.namespace(x)
    if (
        not is_foreign(value)
        or backend.namespace(value) is not xp
        or not xp.isdtype(value.dtype, "real floating")
    ):
        raise TypeError(
            f"{name} returned {what} that is {_describe(value)}, expected a real "
            f"floating-point array of {backend.library(x)} of shape {tuple(x.shape)}"
        )
    if tuple(value.shape) != tuple(x.shape):
        raise ValueError(
            f"{name} returned {what} of shape {tuple(value.shape)}, expected shape "
            f"{tuple(x.shape)} (the shape of x)"
        )
    return backend.astype(value, float_dtype(x), copy=False)


def displacement(x: Array, step: float, direction: Array) -> Array:
    """`step * direction` as an array of `x`'s dtype, the run's (0-d for a 0-d `x`).

    How a line search builds its displacement: a direction of another dtype (a
    float64 one in a float32 run) must not make the trial point float64, and a
    0-d direction must not leave a numpy scalar.

    Examples:
        >>> x = np.zeros(2, dtype=np.float32)
        >>> displacement(x, 0.5, np.array([1.0, -2.0]))
        array([ 0.5, -1. ], dtype=float32)
        >>> displacement(np.array(0.0), 0.5, np.array(3.0))
        array(1.5)
    """
    if type(x) is not np.ndarray and is_foreign(x):
        return backend.astype(step * direction, float_dtype(x), copy=False)  # type: ignore[no-any-return]
    delta: Array = np.asarray(step * direction, dtype=run_dtype(x.dtype))
    return delta


class _Projects(Protocol):
    """What `moved` needs of a constraint (a `Projection`, without importing it)."""

    def project(self, x: Array) -> Array:
        """The point of the set nearest to `x`."""
        ...  # pragma: no cover


def moved(x: Array, delta: Array, constraint: _Projects | None = None) -> Array:
    """The point `x + delta`, projected onto `constraint`, as an array of `x`'s dtype.

    Line searches build their trial points with it, and an iterate built the same
    way from the same `delta` is the very same point (so what was evaluated there
    is reused). numpy's 0-d arithmetic gives scalars; the point is always an
    array (0-d for a 0-d `x`).

    Examples:
        >>> from optim.projections import Bounds
        >>> moved(np.array(1.0), np.array(2.5))
        array(3.5)
        >>> x = np.array([0.5, 0.5], dtype=np.float32)
        >>> moved(x, np.array([1.0, -0.25], dtype=np.float32), Bounds(0.0, 0.7))
        array([0.7 , 0.25], dtype=float32)
    """
    if type(x) is not np.ndarray and is_foreign(x):
        kind = float_dtype(x)
        trial: Array = backend.astype(x + delta, kind, copy=False)
        if constraint is not None:
            trial = backend.astype(constraint.project(trial), kind, copy=False)
        return trial
    dtype = run_dtype(x.dtype)
    point: Array = np.asarray(x + delta, dtype=dtype)
    if constraint is not None:
        point = np.asarray(constraint.project(point), dtype=dtype)
    return point


def clip_as(x: Array, lower: Array, upper: Array, dtype: np.dtype[Any]) -> Array:
    """`x` clipped to `[lower, upper]` and cast to `dtype`, still inside the box.

    Casting a float64 bound to float32 may round it outward by an ulp; such
    entries are moved one float32 ulp back inside (unless the box is narrower
    than that: then the nearest representable value is kept).

    Examples:
        >>> x = np.array([0.0, 1.0], dtype=np.float32)
        >>> clip_as(x, np.array([0.1, 0.0]), np.array([0.2, 0.1]), x.dtype) <= [
        ...     0.2,
        ...     0.1,
        ... ]
        array([ True,  True])
        >>> clip_as(np.array(2.0), np.array(0.0), np.array(1.0), np.dtype(np.float64))
        array(1.)
    """
    clipped = np.asarray(np.clip(x, lower, upper))  # 0-d: an array, not a scalar
    if clipped.dtype == dtype:
        return clipped
    cast = clipped.astype(dtype)
    low, high = cast < lower, cast > upper
    if low.any() or high.any():
        cast = np.where(low, np.nextafter(cast, dtype.type(np.inf)), cast)
        cast = np.where(high, np.nextafter(cast, dtype.type(-np.inf)), cast)
    result: Array = cast.astype(dtype, copy=False)
    return result


def ratio(numerator: float, denominator: float, default: float) -> float:
    """`numerator / denominator`, or `default` when that is not a finite number.

    Guards the divisions by norms and curvatures that underflow to zero (or to a
    subnormal whose reciprocal overflows) near the limit of floating point.

    Examples:
        >>> ratio(1.0, 4.0, 0.0), ratio(1.0, 0.0, 0.0), ratio(1.0, 5e-324, 1.0)
        (0.25, 0.0, 1.0)
    """
    if denominator == 0.0:
        return default
    result = numerator / denominator
    return result if math.isfinite(result) else default
