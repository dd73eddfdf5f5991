"""Type aliases shared across modules."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

Array: TypeAlias = npt.NDArray[np.float64]
"""A float64 numpy array of any shape."""

ArrayLike: TypeAlias = npt.ArrayLike
"""Anything `numpy.asarray` turns into a numeric array."""

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from typing_extensions import override as override
else:

    def override(method: F) -> F:
        """Mark a method as an override (checked by mypy, a no-op at run time)."""
        return method
