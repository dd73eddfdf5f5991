"""Deep comparison of step-rule states: arrays, attrs records, containers."""

import math
from typing import Any

import attrs
import numpy as np

from optim.backend import is_foreign, to_host


def same(a: Any, b: Any) -> bool:
    """Whether two states (arrays, attrs records, tuples, numbers) are identical.

    Arrays compare by shape and values (`NaN` equals `NaN`), attrs instances and
    containers field by field, except a field marked as scratch
    (`metadata={"scratch": True}`: buffers a state keeps for the next update to
    write into, which are not part of its value).

    Examples:
        >>> import numpy as np
        >>> same((np.ones(2), 1), (np.ones(2), 1)), same(np.ones(2), np.ones(3))
        (True, False)
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=True))
        )
    if is_foreign(a) or is_foreign(b):  # another array library's arrays
        return (
            is_foreign(a)
            and is_foreign(b)
            and tuple(a.shape) == tuple(b.shape)
            and bool(np.array_equal(to_host(a), to_host(b), equal_nan=True))
        )
    if attrs.has(type(a)):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name))
            for f in attrs.fields(type(a))
            if not f.metadata.get("scratch")
        )
    if isinstance(a, tuple | list):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)
