"""attrs validators for hyperparameters: each error names the field and the value."""

from __future__ import annotations

import math
import numbers
from typing import Any

import attrs


def _real(attribute: attrs.Attribute[Any], value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{attribute.name} must be a real number, got {type(value).__name__} "
            f"{value!r}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")
    return number


def positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a finite real number > 0."""
    if _real(attribute, value) <= 0.0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def non_negative(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require a finite real number >= 0."""
    if _real(attribute, value) < 0.0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def optional_positive(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require None or a finite real number > 0."""
    if value is not None:
        positive(instance, attribute, value)


def optional_non_negative(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require None or a finite real number >= 0."""
    if value is not None:
        non_negative(instance, attribute, value)


def count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require an integer >= 0 (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{attribute.name} must be an integer, got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def positive_count(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require an integer >= 1."""
    count(instance, attribute, value)
    if value == 0:
        raise ValueError(f"{attribute.name} must be >= 1, got 0")


def unit_interval(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require a finite real number in [0, 1) (a decay rate)."""
    number = _real(attribute, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1), got {value!r}")


def open_unit_interval(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require a finite real number in (0, 1)."""
    number = _real(attribute, value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{attribute.name} must be in (0, 1), got {value!r}")


def optional_positive_count(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require None or an integer >= 1."""
    if value is not None:
        positive_count(instance, attribute, value)


def optional_count(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    """Require None or an integer >= 0."""
    if value is not None:
        count(instance, attribute, value)


def boolean(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require `True` or `False` (a string such as `"no"` is refused)."""
    if not isinstance(value, bool):
        raise TypeError(
            f"{attribute.name} must be True or False, got {type(value).__name__} "
            f"{value!r}"
        )


def one_of(*choices: str) -> Any:
    """Require one of the given strings; the error lists them."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in choices:
            listed = ", ".join(repr(choice) for choice in choices)
            raise ValueError(f"{attribute.name} must be one of {listed}, got {value!r}")

    return check
