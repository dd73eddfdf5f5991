"""Configuration fingerprints: what a resumed run must share with the saved one.

A fingerprint is plain JSON data built from the classes' qualified names and
their fields, so it is the same in every process and on every machine: no memory
address, `id` or `repr` of an arbitrary object takes part. It is built
recursively:

- an attrs instance: its class's qualified name and every field that takes part
  in `==` (fields such as an estimator's `executor` do not change what is
  computed and are left out);
- an [`Objective`][optim.objective.Objective] whose
  [`fingerprint`][optim.objective.Objective.fingerprint] returns something other
  than `None`: its class's qualified name and that value;
- a plain function, method or class: its module and qualified name only (its
  code and the variables it closes over are not looked at);
- a `functools.partial`: its function, positional arguments and keywords, each
  described in turn;
- an array: its dtype, shape and a SHA-256 digest of its bytes;
- numbers, strings, `None`, enums, tuples, lists and dicts: themselves;
- any other object: its class's qualified name and its instance attributes
  (`vars`), if it has any.

Examples:
    >>> from optim import FixedStep, Optimizer
    >>> from optim.problems import Quadratic
    >>> optimizer = Optimizer(Quadratic(condition_number=4.0), step_rule=FixedStep(0.1))
    >>> fingerprint(optimizer)["objective"]["fields"]["condition_number"]
    4.0
    >>> other = fingerprint(
    ...     Optimizer(Quadratic(condition_number=9.0), step_rule=FixedStep(0.1))
    ... )
    >>> difference(fingerprint(optimizer), other)
    Difference(path='objective.condition_number', saved='4.0', expected='9.0')
"""

from __future__ import annotations

import enum
import functools
import hashlib
import math
import types
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from optim.objective import Objective

if TYPE_CHECKING:
    from optim.run import Configuration

__all__ = ["Difference", "describe", "difference", "fingerprint"]

MAX_DEPTH = 32
"""How deep a configuration may nest before it is refused (cycles end there)."""


def fingerprint(configuration: Configuration) -> dict[str, Any]:
    """Describe the parts of a configuration that a resumed run must share.

    The objective, the step rule (with its schedules and transforms), the resolved
    gradient estimator and the mode, each as [`describe`][optim.fingerprint.describe]
    gives it.

    Args:
        configuration: An [`Optimizer`][optim.optimizer.Optimizer] or a
            [`RunContext`][optim.run.RunContext].

    Returns:
        A JSON-ready mapping with the keys `objective`, `step_rule`, `estimator`
            and `mode`, and `constraint` for a constrained configuration (absent
            otherwise, so unconstrained fingerprints are as they always were).

    Raises:
        ValueError: If a part nests deeper than `MAX_DEPTH` levels (or refers to
            itself).

    Examples:
        >>> from optim import FixedStep, Optimizer
        >>> from optim.problems import Sphere
        >>> fingerprint(Optimizer(Sphere(), step_rule=FixedStep(0.1)))["step_rule"]
        ... # doctest: +NORMALIZE_WHITESPACE
        {'class': 'optim.step_rules.FixedStep',
         'fields': {'learning_rate': 0.1, 'weight_decay': 0.0}}
    """
    found = {
        "objective": describe(configuration.objective),
        "step_rule": describe(configuration.step_rule),
        "estimator": describe(configuration.gradient_estimator),
        "mode": configuration.mode.value,
    }
    constraint = getattr(configuration, "constraint", None)
    if constraint is not None:
        found["constraint"] = describe(constraint)
    return found


def describe(value: Any, *, _depth: int = 0) -> Any:
    """Describe a value as plain, process-independent JSON data.

    Args:
        value: A part of a configuration.

    Returns:
        Nested dicts, lists, strings, numbers, booleans and `None`.

    Raises:
        ValueError: If `value` nests deeper than `MAX_DEPTH` levels.

    Examples:
        >>> import numpy as np
        >>> def halve(step):
        ...     return 0.5**step
        >>> describe(halve)
        {'function': 'optim.fingerprint.halve'}
        >>> describe(np.zeros(2))["shape"]
        [2]
        >>> import functools
        >>> describe(functools.partial(halve, 3))["fields"]["args"]
        [3]
    """
    if _depth > MAX_DEPTH:
        raise ValueError(
            f"the configuration nests deeper than {MAX_DEPTH} levels (or refers "
            "to itself); it cannot be fingerprinted"
        )
    depth = _depth + 1
    if value is None or isinstance(value, bool | int | str | np.bool_ | np.integer):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, enum.Enum):
        return {"enum": _name(type(value)), "value": value.name}
    if isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        return {
            "array": array.dtype.str,
            "shape": list(array.shape),
            "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
        }
    if isinstance(value, tuple | list):
        return [describe(item, _depth=depth) for item in value]
    if isinstance(value, dict):
        return {str(k): describe(v, _depth=depth) for k, v in sorted(value.items())}
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return {"function": _name(value)}
    if isinstance(value, types.MethodType):
        return {"function": _name(value), "of": describe(value.__self__, _depth=depth)}
    if isinstance(value, functools.partial):
        # Its function and arguments are not instance attributes: name them.
        parts = {"func": value.func, "args": value.args, "keywords": value.keywords}
        return {"class": _name(type(value)), "fields": describe(parts, _depth=depth)}
    return _describe_object(value, depth)


def _describe_object(value: Any, depth: int) -> dict[str, Any]:
    cls = type(value)
    if isinstance(value, Objective):
        own = value.fingerprint()
        if own is not None:
            return {"class": _name(cls), "fingerprint": describe(own, _depth=depth)}
    if attrs.has(cls):
        fields = {
            field.name: describe(getattr(value, field.name), _depth=depth)
            for field in attrs.fields(cls)
            if field.eq
        }
        return {"class": _name(cls), "fields": fields}
    found = getattr(value, "__dict__", None)
    if found:
        return {"class": _name(cls), "attributes": describe(dict(found), _depth=depth)}
    return {"class": _name(cls)}


def _name(thing: Any) -> str:
    module = getattr(thing, "__module__", None) or "?"
    qualname = getattr(thing, "__qualname__", None) or type(thing).__qualname__
    return f"{module}.{qualname}"


def difference(saved: Any, expected: Any, *, path: str = "") -> Difference | None:
    """Find where two fingerprints differ.

    Only compares: nothing in either argument is imported, called or resolved.
    Numbers compare by value (`1` equals `1.0`).

    Args:
        saved: A fingerprint (from a file, say).
        expected: Another fingerprint.
        path: Prefix of the field path in the answer.

    Returns:
        The first difference, naming the field by its dotted path, or `None` if
            the two are equal.

    Examples:
        >>> difference({"a": {"b": 1}}, {"a": {"b": 2}})
        Difference(path='a.b', saved='1', expected='2')
        >>> difference([1, 2], [1.0, 2]) is None
        True
    """
    if isinstance(saved, dict) and isinstance(expected, dict):
        for key in sorted(set(saved) | set(expected), key=str):
            inner = path if key in _TRANSPARENT else f"{path}.{key}".lstrip(".")
            if key not in saved or key not in expected:
                return Difference(
                    inner,
                    _short(saved[key]) if key in saved else "missing",
                    _short(expected[key]) if key in expected else "missing",
                )
            found = difference(saved[key], expected[key], path=inner)
            if found is not None:
                return found
        return None
    if isinstance(saved, list) and isinstance(expected, list):
        if len(saved) != len(expected):
            return Difference(path, f"{len(saved)} entries", f"{len(expected)} entries")
        for index, (a, b) in enumerate(zip(saved, expected, strict=True)):
            found = difference(a, b, path=f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _number(saved) and _number(expected):
        equal = float(saved) == float(expected)
    else:
        equal = type(saved) is type(expected) and saved == expected
    return None if equal else Difference(path, _short(saved), _short(expected))


_TRANSPARENT = ("fields", "attributes", "fingerprint")


@attrs.frozen
class Difference:
    """Where two fingerprints differ: a field's dotted path and its two values.

    Examples:
        >>> Difference("objective.condition_number", "4.0", "9.0").path
        'objective.condition_number'
    """

    path: str
    """The field, as a dotted path such as `objective.condition_number`."""

    saved: str
    """Its value in the first fingerprint (shortened `repr`)."""

    expected: str
    """Its value in the second fingerprint (shortened `repr`)."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
