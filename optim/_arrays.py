"""Conversions and checks for the arrays that cross the public API."""

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

    NaN and infinity pass through: deciding what they mean is the optimizer's job.

    Raises:
        TypeError: If `value` is None, a string or otherwise not a real number.
        ValueError: If `value` is an array with more than one element.
    """
    if isinstance(value, float):  # float and numpy.float64, the common cases
        return float(value)
    array = _one_number(value, name)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real scalar, got dtype {array.dtype}")
    return float(array.reshape(()))


def _one_number(value: object, name: str) -> npt.NDArray[Any]:
    """`value` as an array of one element, refusing None and strings."""
    if value is None or isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a real scalar, got {type(value).__name__}")
    array = np.asarray(value)
    if array.ndim != 0 and array.size != 1:
        raise ValueError(
            f"{name} must be a scalar, got an array of shape {array.shape}"
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
    """Return `gradient` as a float64 array shaped like `x`.

    Raises:
        TypeError: If the gradient is not real and numeric.
        ValueError: If its shape differs from the shape of `x`.
    """
    if (
        type(gradient) is np.ndarray
        and gradient.dtype == np.float64
        and gradient.shape == x.shape
    ):
        return gradient
    g = as_float_array(gradient, name=name)  # type: ignore[arg-type]
    if g.shape != x.shape:
        raise ValueError(f"{name} must have the shape of x {x.shape}, got {g.shape}")
    return g
