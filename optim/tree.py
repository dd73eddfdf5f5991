"""Structured parameters: nested dicts, lists and tuples of arrays, as one vector.

Step rules and estimators work on one flat vector; a model's parameters are often
a dict of weight and bias arrays, or a list of layer arrays. A
[`TreeSpec`][optim.tree.TreeSpec] records such a structure (its keys and their
order, the shapes and dtypes of its leaves) so that the run can flatten it at the
boundary and hand the same structure back.

What counts as a structure: a `dict` always; a `list` or `tuple` when one of its
items is an array or a container (a list of plain numbers, or nested lists of
numbers, is an array, as numpy reads it). Leaves are numbers and arrays of one
array library, on one device: numpy's, or another's that follows the array API
(PyTorch, JAX, CuPy, array-api-strict), whose run then computes in that library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from optim import backend
from optim._types import Array, override
from optim.fingerprint import describe
from optim.objective import Objective, bind_arguments

__all__ = ["StructuredObjective", "TreeSpec", "flatten", "is_structured"]


def is_structured(params: object) -> bool:
    """Whether `params` is a structure of arrays rather than one array.

    Args:
        params: A starting point or parameter set.

    Returns:
        `True` for a dict, and for a list or tuple holding an array or a container.

    Examples:
        >>> import numpy as np
        >>> is_structured({"w": np.zeros(2)}), is_structured([np.zeros(2), 1.0])
        (True, True)
        >>> is_structured([1.0, 2.0]), is_structured([[1.0, 2.0], [3.0, 4.0]])
        (False, False)
    """
    if isinstance(params, Mapping):
        return True
    if isinstance(params, list | tuple):
        return any(
            isinstance(item, np.ndarray | Mapping)
            or (isinstance(item, list | tuple) and is_structured(item))
            or backend.is_foreign(item)
            for item in params
        )
    return False


@attrs.frozen
class _Leaf:
    path: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    number: bool  # a Python or numpy scalar, handed back as one


@attrs.frozen
class TreeSpec:
    """The layout of a structure of arrays: its containers and leaves, in order.

    Examples:
        >>> import numpy as np
        >>> params = {"w": np.ones((2, 2)), "b": np.zeros(2)}
        >>> vector, spec = flatten(params)
        >>> vector
        array([1., 1., 1., 1., 0., 0.])
        >>> spec.unflatten(vector + 1.0)["b"]
        array([1., 1.])
    """

    skeleton: Any = attrs.field(repr=False)
    """The structure with each leaf replaced by its index."""

    leaves: tuple[_Leaf, ...] = attrs.field(repr=False)
    """The leaves in flattening order (dicts in their key order)."""

    dtype: np.dtype[Any]
    """The dtype of the flat vector: numpy's promotion of the leaves' dtypes
    (float64 for integer leaves)."""

    on_numpy: bool = attrs.field(default=True, repr=False)
    """Whether the leaves are numpy's (or numbers): numpy's path, nothing else
    looked up; else they are one other library's, and so is the flat vector."""

    @property
    def size(self) -> int:
        """The length of the flat vector."""
        return sum(int(np.prod(leaf.shape)) for leaf in self.leaves)

    def unflatten(self, vector: Array) -> Any:
        """Return the structure holding the values of `vector` (new arrays).

        Each leaf gets its own shape and dtype back; scalar leaves come back as
        numpy scalars. A vector of another array library gives arrays of that
        library, on its device (scalar leaves as 0-d arrays).

        Args:
            vector: A flat vector of length [`size`][optim.tree.TreeSpec.size].

        Returns:
            The structure.

        Examples:
            >>> import numpy as np
            >>> _, spec = flatten([np.zeros(2, dtype=np.float32), 3.0])
            >>> weights, scale = spec.unflatten(np.array([1.0, 2.0, 5.0]))
            >>> weights, float(scale)
            (array([1., 2.], dtype=float32), 5.0)
        """
        parts = []
        start = 0
        xp = np if self.on_numpy else backend.namespace_of(vector)
        for leaf in self.leaves:
            stop = start + int(np.prod(leaf.shape))
            if xp is np:
                part = np.array(vector[start:stop], dtype=leaf.dtype)
                part = part.reshape(leaf.shape)
                parts.append(part[()] if leaf.number else part)
            else:  # new arrays in the vector's library; numbers as 0-d arrays
                part = xp.reshape(vector[start:stop], leaf.shape)
                parts.append(backend.astype(part, getattr(xp, leaf.dtype.name)))
            start = stop
        return _fill(self.skeleton, parts)

    def flatten_like(self, structure: Any, *, name: str) -> Array:
        """Flatten a structure that must have this layout (a gradient, say).

        Args:
            structure: The structure to flatten.
            name: What it is, for errors (`"gradient()"`).

        Returns:
            The flat vector, of dtype [`dtype`][optim.tree.TreeSpec.dtype].

        Raises:
            ValueError: If a leaf's shape differs, naming its path, or the
                containers or keys differ.
            TypeError: If a leaf is not numeric.

        Examples:
            >>> import numpy as np
            >>> _, spec = flatten({"layer1": {"w": np.zeros((3, 4))}})
            >>> spec.flatten_like({"layer1": {"w": np.zeros(3)}}, name="gradient()")
            Traceback (most recent call last):
            ...
            ValueError: gradient()['layer1']['w'] has shape (3,), expected (3, 4)
        """
        found: list[tuple[str, Any]] = []
        _walk(structure, name, found, self.skeleton)
        if len(found) != len(self.leaves):
            raise ValueError(
                f"{name} has {len(found)} leaves, expected {len(self.leaves)}"
            )
        like = None if self.on_numpy else _library_of(found)
        parts = []
        for (path, value), leaf in zip(found, self.leaves, strict=True):
            if like is None:
                array = np.asarray(value)
                dtype = array.dtype
            else:
                array, dtype = _leaf_array(value, like)
            if dtype.kind not in "biuf":
                raise TypeError(f"{path} has dtype {dtype}, expected numbers")
            if tuple(array.shape) != leaf.shape:
                raise ValueError(
                    f"{path} has shape {tuple(array.shape)}, expected {leaf.shape}"
                )
            parts.append(array.reshape(-1) if like is None else _flat(array))
        if like is None:
            return np.concatenate(parts).astype(self.dtype, copy=False)
        xp = backend.namespace(like)
        flat: Array = backend.astype(xp.concat(parts), getattr(xp, self.dtype.name))
        return flat


def flatten(params: Any) -> tuple[Array, TreeSpec]:
    """Flatten a structure of arrays into one vector and its layout.

    Args:
        params: A dict, list or tuple (nested as deep as you like) of arrays of
            one library on one device (numpy, PyTorch, JAX, ...) or numbers.

    Returns:
        The flat vector (a new array of the leaves' library and device, of
            their promoted dtype; float64 for integers) and the
            [`TreeSpec`][optim.tree.TreeSpec] to rebuild it.

    Raises:
        TypeError: If a leaf is not numeric, or its array library or device
            differs from another leaf's, naming its path.
        ValueError: If the structure has no leaves.

    Examples:
        >>> import numpy as np
        >>> vector, spec = flatten({"b": np.float32(1.0), "w": np.zeros(2, np.float32)})
        >>> vector, spec.dtype
        (array([1., 0., 0.], dtype=float32), dtype('float32'))
    """
    found: list[tuple[str, Any]] = []
    skeleton = _walk(params, "x0", found, None)
    if not found:
        raise ValueError("x0 has no leaves: give at least one array or number")
    like = _library_of(found)
    leaves, parts = [], []
    for path, value in found:
        array, kind = _leaf_array(value, like)
        if kind.kind not in "biuf" or kind.kind == "b":
            raise TypeError(f"{path} must be a real numeric array, got {kind}")
        dtype = kind if kind.kind == "f" else np.dtype(np.float64)
        number = not isinstance(value, np.ndarray) and not backend.is_foreign(value)
        leaves.append(_Leaf(path, tuple(array.shape), dtype, number))
        parts.append(array.reshape(-1) if like is None else _flat(array))
    dtype = np.result_type(*(leaf.dtype for leaf in leaves))
    if like is None:
        vector = np.concatenate(parts).astype(dtype)
    else:
        xp = backend.namespace(like)
        vector = backend.astype(xp.concat(parts), getattr(xp, dtype.name))
    spec = TreeSpec(skeleton, tuple(leaves), np.dtype(dtype), on_numpy=like is None)
    return vector, spec


def _library_of(found: list[tuple[str, Any]]) -> Any:
    """The first leaf of another array library than numpy, or `None` (numpy's).

    Every array leaf must then be of its library and on its device (numbers
    may join any): else one error naming the leaf's path.
    """
    first: tuple[str, Any] | None = None
    for path, value in found:
        if backend.is_foreign(value):
            first = first or (path, value)
    if first is None:
        return None
    where = backend.library(first[1]), backend.device(first[1])
    for path, value in found:
        foreign = backend.is_foreign(value)
        if isinstance(value, np.ndarray) or (
            foreign and (backend.library(value), backend.device(value)) != where
        ):
            raise TypeError(
                f"{path} is an array of {backend.library(value)}, but {first[0]} "
                f"is of {where[0]} on device {where[1]}: the leaves must be "
                "arrays of one library, on one device (or numbers)"
            )
    return first[1]


def _leaf_array(value: Any, like: Any) -> tuple[Any, np.dtype[Any]]:
    """A leaf as an array of the library of `like` (numpy's if `None`), its dtype.

    The dtype is numpy's spelling of the leaf's (`float32`, `int64`). A number
    joins another library's leaves as numpy reads it (1.0 is float64).
    """
    if like is None:
        array = np.asarray(value)
        return array, array.dtype
    if not backend.is_foreign(value):
        value = backend.from_host(np.asarray(value), like=like)
    name = str(value.dtype).rsplit(".", 1)[-1]
    try:
        return value, np.dtype(name)
    except TypeError:
        return value, np.dtype(object)  # refused by the caller as not numeric


def _flat(array: Any) -> Any:
    """An array of another library as one vector."""
    return backend.namespace(array).reshape(array, (-1,))


def _walk(node: Any, path: str, found: list[tuple[str, Any]], like: Any) -> Any:
    """Collect the leaves of `node` with their paths; return its skeleton.

    With `like` (a skeleton), the containers and keys must match it.
    """
    if isinstance(node, Mapping) or isinstance(like, dict):
        if not isinstance(node, Mapping):
            raise ValueError(f"{path} is a {type(node).__name__}, expected a dict")
        if like is not None and list(node) != list(like):
            raise ValueError(f"{path} has keys {list(node)}, expected {list(like)}")
        return {
            key: _walk(
                value, f"{path}[{key!r}]", found, None if like is None else like[key]
            )
            for key, value in node.items()
        }
    if like is None:
        container = isinstance(node, list | tuple) and is_structured(node)
    else:
        container = isinstance(like, list | tuple)
    if container:
        if not isinstance(node, list | tuple) or (
            like is not None and len(node) != len(like)
        ):
            expected = f"a sequence of {len(like)}" if like is not None else "a list"
            raise ValueError(f"{path} is {type(node).__name__}, expected {expected}")
        items = [
            _walk(item, f"{path}[{k}]", found, None if like is None else like[k])
            for k, item in enumerate(node)
        ]
        return tuple(items) if isinstance(node, tuple) else items
    found.append((path, node))
    return len(found) - 1


def _fill(skeleton: Any, parts: list[Any]) -> Any:
    if isinstance(skeleton, dict):
        return {key: _fill(value, parts) for key, value in skeleton.items()}
    if isinstance(skeleton, list | tuple):
        items = [_fill(item, parts) for item in skeleton]
        return tuple(items) if isinstance(skeleton, tuple) else items
    return parts[skeleton]


@attrs.frozen
class StructuredObjective(Objective):
    """An objective of a structure of arrays, seen as a function of one vector.

    The run flattens a structured `x0` and wraps its objective in this class: each
    point is handed to the objective in the original structure, and the gradient it
    returns (the same structure) is checked leaf by leaf and flattened, with errors
    that name the leaf (`gradient()['layer1']['w'] has shape (3,), expected (3, 4)`).
    Extra arguments (a minibatch) pass through.

    Examples:
        >>> import numpy as np
        >>> from optim import FunctionObjective
        >>> def loss(p):
        ...     return float(np.sum(p["w"] ** 2) + p["b"] ** 2)
        >>> def grad(p):
        ...     return {"w": 2 * p["w"], "b": 2 * p["b"]}
        >>> x, spec = flatten({"w": np.ones(2), "b": 3.0})
        >>> StructuredObjective(FunctionObjective(loss, grad), spec).gradient(x)
        array([2., 2., 6.])
    """

    objective: Objective
    """The objective of the structure."""

    spec: TreeSpec
    """The structure's layout."""

    @property
    @override
    def has_gradient(self) -> bool:
        return self.objective.has_gradient

    def _with(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Objective:
        return bind_arguments(self.objective, args, kwargs)

    @override
    def value(self, x: Array, *args: Any, **kwargs: Any) -> float:
        return self._with(args, kwargs).value(self.spec.unflatten(x))

    @override
    def gradient(self, x: Array, *args: Any, **kwargs: Any) -> Array:
        gradient = self._with(args, kwargs).gradient(self.spec.unflatten(x))
        name = f"{type(self.objective).__name__}.gradient()"
        return self.spec.flatten_like(gradient, name=name)

    @override
    def value_and_gradient(
        self, x: Array, *args: Any, **kwargs: Any
    ) -> tuple[float, Array]:
        value, gradient = self._with(args, kwargs).value_and_gradient(
            self.spec.unflatten(x)
        )
        name = f"{type(self.objective).__name__}.value_and_gradient()"
        return value, self.spec.flatten_like(gradient, name=name)

    @override
    def values(self, xs: Array, *args: Any, **kwargs: Any) -> Array:
        if backend.namespace_of(xs) is np:
            return np.array([self.value(x, *args, **kwargs) for x in xs])
        found = [self.value(xs[i, ...], *args, **kwargs) for i in range(xs.shape[0])]
        values: Array = backend.from_host(np.array(found, self.spec.dtype), like=xs)
        return values

    def fingerprint(self) -> Any:
        """Identify the run by its objective, as a flat run would, and the layout.

        Returns:
            Plain data: the objective described as a flat run's fingerprint
                describes it (see [`describe`][optim.fingerprint.describe]: its
                class and fields, its functions' names, its own `fingerprint()`
                if it has one), and the leaves' paths and shapes.

        Examples:
            >>> import numpy as np
            >>> from optim import FunctionObjective
            >>> from optim.problems import Sphere
            >>> _, spec = flatten([np.zeros(2)])
            >>> StructuredObjective(Sphere(), spec).fingerprint()["leaves"]
            [['x0[0]', [2]]]
            >>> def loss(p):
            ...     return float(np.sum(p[0] ** 2))
            >>> found = StructuredObjective(FunctionObjective(loss), spec).fingerprint()
            >>> found["objective"]["fields"]["fun"]
            {'function': 'optim.tree.loss'}
        """
        return {
            "objective": describe(self.objective),
            "leaves": [[leaf.path, list(leaf.shape)] for leaf in self.spec.leaves],
        }
