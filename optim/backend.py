"""The array-namespace seam: which array library an array belongs to, and crossings.

numpy arrays take a fast path that imports nothing: a numpy-only user needs no
extra. Any other array that follows the Python array API standard (PyTorch, CuPy,
JAX, array-api-strict, ...) is handled through `array-api-compat`, the optional
extra `arrays` (`pip install "optim-gradient[arrays]"`).

The parts of `optim` that are namespace-generic today (the projections and the
gradient estimators when called directly) get their functions from
[`namespace`][optim.backend.namespace]. The optimizer itself still computes in
numpy: [`refuse_foreign`][optim.backend.refuse_foreign] turns another library's
starting point away with one clear line.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

_NO_EXTRA = (
    "an array that is not numpy's needs the optional extra 'arrays': "
    'pip install "optim-gradient[arrays]"'
)
"""`str(MissingExtraError("arrays", ...))`; this module sits below `optim.errors`."""

__all__ = [
    "any_true",
    "array_equal",
    "astype",
    "copy",
    "device",
    "from_host",
    "is_foreign",
    "library",
    "moved",
    "namespace",
    "namespace_of",
    "norm",
    "numpy_only",
    "refuse_foreign",
    "scalar",
    "size",
    "to_host",
    "vdot",
    "zeros",
]

_KNOWN_LIBRARIES = frozenset({"torch", "cupy", "jax", "jaxlib", "array_api_strict"})
"""Array libraries recognized without array-api-compat (to refuse them clearly)."""


# numpy's vdot without its __array_function__ dispatch (a third of its cost at
# small n), for two plain numpy arrays.
NUMPY_VDOT = getattr(np.vdot, "_implementation", np.vdot)
_NOT_FOREIGN = (np.ndarray, np.generic, float, int, list, tuple)


def _compat() -> Any:
    """The `array_api_compat` module, or a one-line error naming the extra."""
    try:
        import array_api_compat
    except ImportError:
        raise ImportError(_NO_EXTRA) from None
    return array_api_compat


def namespace(x: Any) -> Any:
    """The array API namespace of `x`: `numpy` itself for numpy arrays.

    numpy arrays and scalars take a fast path (no import of array-api-compat,
    numpy 1.26 included); any other array gets
    `array_api_compat.array_namespace(x)`, whose functions follow the standard
    for every supported library.

    Args:
        x: An array (numpy, PyTorch, CuPy, JAX, array-api-strict, ...).

    Returns:
        The module whose functions compute on `x`.

    Raises:
        ImportError: If `x` is not numpy's and array-api-compat is not installed
            (one line naming the extra `arrays`; the message of
            [`MissingExtraError`][optim.errors.MissingExtraError], which this
            module sits below).
        TypeError: If `x` is not an array of a supported library.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> namespace(np.zeros(2)) is np
        True
        >>> namespace(xps.zeros(2)).__name__
        'array_api_strict'
    """
    if isinstance(x, np.ndarray | np.generic):
        return np
    return _compat().array_namespace(x)


def namespace_of(x: Any) -> Any:
    """The namespace `x` computes in: numpy for numpy arrays, numbers and lists.

    Unlike [`namespace`][optim.backend.namespace], anything that is not another
    library's array (a Python number, a list, a numpy scalar) is numpy's; a numpy
    array costs one type test.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> namespace_of([1.0, 2.0]) is np, namespace_of(np.ones(2)) is np
        (True, True)
        >>> namespace_of(xps.ones(2)).__name__
        'array_api_strict'
    """
    if type(x) is np.ndarray:  # the hot path: one identity test
        return np
    return namespace(x) if is_foreign(x) else np


def is_foreign(x: object) -> bool:
    """Whether `x` is an array of a library other than numpy.

    Python numbers, lists, tuples and numpy arrays are not foreign; PyTorch,
    CuPy, JAX, Dask and array-api-strict arrays are. Without array-api-compat
    installed, an object with `__array_namespace__` or of a well-known array
    library counts as foreign.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> is_foreign(np.ones(2)), is_foreign([1.0, 2.0]), is_foreign(xps.ones(2))
        (False, False, True)
    """
    if type(x) is np.ndarray or isinstance(x, _NOT_FOREIGN):  # the fast path first
        return False
    try:
        compat = _compat()
    except ImportError:
        root = type(x).__module__.split(".")[0]
        return hasattr(x, "__array_namespace__") or root in _KNOWN_LIBRARIES
    return bool(compat.is_array_api_obj(x))


def library(x: Any) -> str:
    """The short name of the array library `x` belongs to.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> library(np.zeros(1)), library(xps.zeros(1))
        ('numpy', 'array_api_strict')
    """
    if isinstance(x, np.ndarray | np.generic):
        return "numpy"
    try:
        name: str = namespace(x).__name__
    except (ImportError, TypeError):
        name = type(x).__module__
    name = name.removeprefix("array_api_compat.")
    return name.split(".")[0].replace("jaxlib", "jax")


def device(x: Any) -> Any:
    """The device `x` lives on: `"cpu"` for numpy, the library's device otherwise.

    Examples:
        >>> import numpy as np
        >>> device(np.zeros(2))
        'cpu'
    """
    if isinstance(x, np.ndarray | np.generic):
        return "cpu"
    return _compat().device(x)


def to_host(x: Any) -> np.ndarray[Any, Any]:
    """`x` as a numpy array on the host: an explicit crossing, at a boundary.

    A numpy array is returned as it is; any other array is copied to the host
    (through DLPack or the library's own conversion), with its dtype: a new,
    writeable numpy array that shares no memory with `x` (a CPU tensor's or
    DLPack's zero-copy view would, and numpy before 2.1 makes DLPack views
    read-only).

    Examples:
        >>> import array_api_strict as xps
        >>> to_host(xps.asarray([1.0, 2.0]))
        array([1., 2.])
    """
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    xp = namespace(x)
    if xp.__name__ == "array_api_strict":
        # array-api-strict refuses __array__; its CPU device speaks DLPack.
        return np.array(np.from_dlpack(x))
    compat = _compat()
    if compat.is_torch_array(x):
        return x.detach().cpu().numpy().copy()  # type: ignore[no-any-return]
    if compat.is_cupy_array(x):
        return np.asarray(x.get())  # a copy already
    return np.array(x)


def from_host(a: Any, *, like: Any) -> Any:
    """The host array `a` in the library and on the device of `like`.

    The dtype of `a` is kept. For a numpy `like`, `a` comes back as a numpy
    array (no copy when it is one already).

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> like = xps.zeros(2)
        >>> moved = from_host(np.array([0.5, 1.5]), like=like)
        >>> type(moved) is type(like), device(moved) == device(like)
        (True, True)
    """
    xp = namespace(like)
    if xp is np:
        return np.asarray(a)
    return xp.asarray(np.asarray(a), device=device(like))


def moved(value: Any, *, like: Any, start: Any = None) -> Any:
    """`value` with every array in it in the library and on the device of `like`.

    Arrays are found in nested tuples, lists, dicts and attrs instances (a step
    rule's state, say), which are rebuilt around the moved arrays. An array
    already in the library and on the device of `like` is kept as it is (no
    copy); any other crosses through the host, keeping its dtype. Numbers, numpy
    scalars and anything else are kept, and so is a container holding no array
    to move: a numpy `value` with a numpy `like` comes back unchanged.

    Args:
        value: An array, or a structure holding arrays.
        like: An array of the library and on the device to move to.
        start: A structure like `value` as built in the library of `like` (a
            step rule's `init` state there): where it holds a numpy array, the
            array of `value` stays on (or comes to) the host, a numpy array (a
            rule that keeps a running average in numpy on every library, say).
            Where it has no entry, arrays move.

    Returns:
        `value`, its arrays moved.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> state = {"moment": np.array([0.5, 1.5]), "count": 3}
        >>> there = moved(state, like=xps.zeros(1))
        >>> there["moment"], there["count"]
        (Array([0.5, 1.5], dtype=array_api_strict.float64), 3)
        >>> moved(state, like=np.zeros(1)) is state
        True
        >>> kept = moved(state, like=xps.zeros(1), start={"moment": np.zeros(2)})
        >>> kept is state
        True
    """
    if isinstance(value, np.ndarray) or (
        not isinstance(value, _NOT_FOREIGN) and is_foreign(value)
    ):
        if namespace(value) is namespace(like) and device(value) == device(like):
            return value
        if isinstance(start, np.ndarray):  # kept on the host in every library
            return to_host(value)
        return from_host(to_host(value), like=like)
    if isinstance(value, tuple | list):
        firsts = start if isinstance(start, tuple | list) else ()
        items = [
            moved(item, like=like, start=firsts[i] if i < len(firsts) else None)
            for i, item in enumerate(value)
        ]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if hasattr(value, "_fields"):  # a named tuple
            return type(value)(*items)
        return type(value)(items)
    if isinstance(value, dict):
        named = start if isinstance(start, dict) else {}
        entries = {
            key: moved(item, like=like, start=named.get(key))
            for key, item in value.items()
        }
        if all(entries[key] is item for key, item in value.items()):
            return value
        return entries
    if attrs.has(type(value)):
        same = type(start) is type(value)
        changes = {}
        for field in attrs.fields(type(value)):
            old = getattr(value, field.name)
            new = moved(
                old, like=like, start=getattr(start, field.name) if same else None
            )
            if field.init and new is not old:
                changes[field.alias] = new
        return attrs.evolve(value, **changes) if changes else value
    return value


def astype(x: Any, dtype: Any, *, copy: bool = True) -> Any:
    """`x` as an array of `dtype`, in its own library (numpy 1.26 included).

    numpy arrays have an `astype` method but numpy 1.26 no `numpy.astype`;
    the array API has the function but not the method: one spelling for both.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> astype(np.array([1, 2]), np.float64)
        array([1., 2.])
        >>> astype(xps.asarray([1, 2]), xps.float32)
        Array([1., 2.], dtype=array_api_strict.float32)
    """
    xp = np if isinstance(x, np.ndarray | np.generic) else namespace(x)
    if xp is np:
        return np.asarray(x).astype(dtype, copy=copy)
    return xp.astype(x, dtype, copy=copy)


def copy(x: Any) -> Any:
    """A copy of `x` in its own library, on its device, with its dtype.

    numpy's `x.copy()`; the standard's `asarray(x, copy=True)` elsewhere (PyTorch
    tensors have no `copy` method, array-api-strict arrays none at all).

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> a = np.ones(2)
        >>> copy(a) is a, np.array_equal(copy(a), a)
        (False, True)
        >>> copy(xps.ones(2))
        Array([1., 1.], dtype=array_api_strict.float64)
    """
    if isinstance(x, np.ndarray):
        return x.copy()
    return namespace(x).asarray(x, copy=True)


def zeros(x: Any, dtype: Any = None) -> Any:
    """Zeros shaped like `x`, in its library and on its device (`dtype`: `x`'s).

    Examples:
        >>> import array_api_strict as xps
        >>> zeros(xps.ones((2,), dtype=xps.float32))
        Array([0., 0.], dtype=array_api_strict.float32)
    """
    xp = namespace_of(x)
    if xp is np:
        return np.zeros(
            np.shape(x), dtype=np.result_type(x) if dtype is None else dtype
        )
    return xp.zeros(
        x.shape, dtype=x.dtype if dtype is None else dtype, device=device(x)
    )


def size(x: Any) -> int:
    """The number of entries of `x` (PyTorch's `size` is a method, not a number).

    Examples:
        >>> import array_api_strict as xps
        >>> size(xps.ones((2, 3))), size([1.0, 2.0])
        (6, 2)
    """
    if isinstance(x, np.ndarray):
        return x.size
    if not is_foreign(x):
        return int(np.size(x))
    return math.prod(x.shape)


def vdot(a: Any, b: Any) -> float:
    """The dot product of two arrays of one shape, flattened, as a Python float.

    numpy's `numpy.vdot` (its bits unchanged); the standard's `vecdot` of the
    flattened arrays elsewhere. One scalar crosses to the host.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> vdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        11.0
        >>> vdot(xps.asarray([[1.0], [2.0]]), xps.asarray([[3.0], [4.0]]))
        11.0
    """
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the hot path: no
        return float(NUMPY_VDOT(a, b))  # namespace lookup, no dispatch
    xp = namespace_of(a)
    if xp is np:
        return float(np.vdot(a, b))
    return float(xp.vecdot(xp.reshape(a, (-1,)), xp.reshape(b, (-1,))))


def norm(x: Any) -> float:
    """The Euclidean norm of `x`, flattened, as a Python float (one host crossing).

    numpy's `numpy.linalg.norm` (its bits unchanged); the standard's
    `linalg.vector_norm` elsewhere.

    Examples:
        >>> import array_api_strict as xps
        >>> norm(xps.asarray([3.0, 4.0]))
        5.0
    """
    xp = namespace_of(x)
    if xp is np:
        return float(np.linalg.norm(x))
    return float(xp.linalg.vector_norm(x))


def any_true(x: Any) -> bool:
    """Whether any entry of `x` is nonzero (one boolean crosses to the host).

    Examples:
        >>> import array_api_strict as xps
        >>> any_true(xps.asarray([0.0, 2.0])), any_true(xps.zeros(2))
        (True, False)
    """
    if isinstance(x, np.ndarray):
        # count_nonzero: what any() tells (NaN is nonzero), without a ufunc
        # reduction's overhead (a quarter of the time on small arrays).
        return bool(np.count_nonzero(x))
    return bool(namespace_of(x).any(x))


def array_equal(a: Any, b: Any) -> bool:
    """Whether two arrays have one shape and equal entries: `numpy.array_equal`.

    Arrays of another library are compared in their namespace (one boolean
    crosses to the host); arrays of two different libraries are not equal.

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> array_equal(xps.ones(2), xps.ones(2)), array_equal(xps.ones(2), np.ones(2))
        (True, False)
    """
    if type(a) is np.ndarray and type(b) is np.ndarray:
        # What numpy.array_equal does for two arrays (NaN equals nothing),
        # without its conversions and with a count for the reduction.
        return a.shape == b.shape and not np.count_nonzero(a != b)
    xp = namespace_of(a)
    if xp is np and namespace_of(b) is np:
        return bool(np.array_equal(a, b))
    if namespace_of(b) is not xp or tuple(a.shape) != tuple(b.shape):
        return False
    return bool(xp.all(a == b))


def scalar(value: Any) -> float:
    """A 0-d array or number of any library as a Python float (one host crossing).

    Examples:
        >>> import numpy as np
        >>> import array_api_strict as xps
        >>> scalar(np.float64(1.5)), scalar(xps.asarray(2.5))
        (1.5, 2.5)
    """
    return float(value)


def refuse_foreign(x: object, *, name: str = "x0") -> None:
    """Refuse an array of another library where `optim` computes in numpy.

    Until the engine computes in other array libraries, converting a CUDA
    array would fail inside numpy (or copy every step to the host, for JAX):
    better one clear line before any work.

    Raises:
        TypeError: If `x` is a PyTorch, CuPy, JAX, Dask, array-api-strict or
            other non-numpy array, naming its library and device.

    Examples:
        >>> import array_api_strict as xps
        >>> refuse_foreign([1.0, 2.0])
        >>> refuse_foreign(xps.zeros(2))
        Traceback (most recent call last):
        ...
        TypeError: x0 is an array of array_api_strict on device CPU_DEVICE, but ...
    """
    if not is_foreign(x):
        return
    try:
        where = f" on device {_device_name(device(x))}"
    except (ImportError, TypeError, AttributeError, ValueError):
        where = ""
    raise TypeError(
        f"{name} is an array of {library(x)}{where}, but this version of optim "
        f"computes in numpy: pass numpy.asarray({name}) (for a GPU tensor, "
        f"{name}.cpu().numpy()) to run on the host"
    )


def numpy_only(x: object, name: str, *, instead: str) -> None:
    """Refuse another library's array in a part of `optim` that computes in numpy.

    Args:
        x: The array handed over.
        name: What refuses it (a class name).
        instead: What to use instead, for the message.

    Raises:
        TypeError: One line naming `name`, the library of `x` and `instead`.

    Examples:
        >>> import array_api_strict as xps
        >>> numpy_only([1.0], "Richardson", instead="CentralDifference")
        >>> numpy_only(xps.ones(1), "Richardson", instead="CentralDifference")
        Traceback (most recent call last):
        ...
        TypeError: Richardson computes in numpy only, got an array of ...
    """
    if type(x) is not np.ndarray and is_foreign(x):
        raise TypeError(
            f"{name} computes in numpy only, got an array of {library(x)}; pass "
            f"numpy.asarray(x), or use {instead}"
        )


def _device_name(where: Any) -> str:
    """A device as short text: `cpu`, `cuda:0`, `CPU_DEVICE`."""
    text = str(where)
    if text.startswith("array_api_strict.Device("):
        return text.removeprefix("array_api_strict.Device(").strip("')")
    return text
