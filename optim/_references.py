"""What `sys.getrefcount` says of an object that one holder alone refers to.

The engine and the built-in rules write a new point or state into the arrays of
an old one only where the reference count says that nothing but the run holds
it: a callback, a checkpoint or a caller that kept it keeps it intact. What a
sole holder's count reads depends on the interpreter and on how the object is
read, so each count is measured once, here, by a read of the form of those it
guards.
"""

from __future__ import annotations

import sys

import attrs


def _of_a_local() -> int:
    probe = object()
    return sys.getrefcount(probe)


@attrs.frozen
class _Holder:
    item: object


def _of_an_attribute() -> int:
    holder = _Holder(object())
    return sys.getrefcount(getattr(holder, "item"))  # noqa: B009 - as read where used


def _of_a_tuple_item() -> int:
    pair = (object(), None)
    return sys.getrefcount(pair[0])


ONE_LOCAL = _of_a_local()
"""`sys.getrefcount(name)` of an object that one local name alone holds."""

ONE_ATTRIBUTE = _of_an_attribute()
"""`sys.getrefcount(holder.name)` of an object that one attribute alone holds."""

ONE_TUPLE_ITEM = _of_a_tuple_item()
"""`sys.getrefcount(pair[i])` of an object that one tuple alone holds."""
