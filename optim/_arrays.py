"""Conversions and checks for the arrays that cross the public API."""

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from optim._types import Array, ArrayLike


def as_float_array(x: ArrayLike, *, name: str = "x") -> Array:
    """Return `x` as a float64 array (integers and booleans become floats).

    A float64 array is returned as is (no copy); callers never write into it.

    Raises:
        TypeError: If `x` is not real and numeric (strings, objects, complex).
    """
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return x
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array, got dtype {array.dtype} "
            f"({type(x).__name__})"
        )
    return array.astype(np.float64)


def as_start_point(x0: ArrayLike, *, name: str = "x0") -> Array:
    """Return a private float64 copy of a starting point, after checking it.

    Raises:
        TypeError: If `x0` is not real and numeric.
        ValueError: If `x0` is empty or contains NaN or infinity.
    """
    x = np.array(as_float_array(x0, name=name), dtype=np.float64, copy=True)
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {x!r}")
    return x


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
    array = _one_number(value, name)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} returned {_describe(value)}, but an objective value must be a "
            "real scalar (a Python or numpy number, or a 0-d array)"
        )
    return float(array)


def _describe(value: object) -> str:
    """A short description of what came back, for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
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
    complex128 array.

    Raises:
        TypeError: If the values are not numeric, or complex for real points.
        ValueError: If there is not exactly one value per point.
    """
    array = np.asarray(values)
    complex_points = np.iscomplexobj(points)
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
    if array.shape != (len(points),):
        raise ValueError(
            f"{name} must have shape ({len(points)},) for {len(points)} points, "
            f"got {array.shape}"
        )
    return array.astype(np.complex128 if complex_points else np.float64, copy=False)


def check_gradient_shape(gradient: object, x: Array, *, name: str) -> Array:
    """Return a private float64 copy of `gradient`, checked to be shaped like `x`.

    The copy matters: an objective may write its next gradient into the same
    buffer, and a step rule keeps earlier gradients (L-BFGS's pairs).

    Raises:
        TypeError: If the gradient is not real and numeric.
        ValueError: If its shape differs from the shape of `x`.
    """
    if (
        type(gradient) is np.ndarray
        and gradient.dtype == np.float64
        and gradient.shape == x.shape
    ):
        return gradient.copy()
    if gradient is None or isinstance(gradient, str | bytes | dict | set):
        raise TypeError(
            f"{name} returned {_describe(gradient)}, expected an array of shape "
            f"{x.shape}"
        )
    array = np.asarray(gradient)
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
    return np.array(array, dtype=np.float64, copy=True)


def check_like_x(value: object, x: Array, *, name: str, what: str) -> Array:
    """Return `value`, checked to be a real floating-point array shaped like `x`.

    O(1): only the type, dtype and shape are looked at (no copy of a float64
    array). Used on what plug-ins return: a rule's step, an estimator's gradient.

    Raises:
        TypeError: If `value` is not a real floating-point array.
        ValueError: If its shape differs from the shape of `x`.
    """
    if type(value) is np.ndarray and value.dtype == np.float64:
        if value.shape == x.shape:
            return value
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
    return value.astype(np.float64, copy=False)


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
