"""Coerce arbitrary Python values into what an OpenTelemetry attribute can carry.

The OpenTelemetry log data model carries ``None``, ``str``, ``bool``, ``int`` (64-bit), ``float``, ``bytes``,
lists and string-keyed maps of those. Everything else is turned into one of them here, on the worker, and
nothing raises: datetimes and dates become ISO 8601 strings, UUIDs/Decimals/paths their string form, enums
their value, sets and tuples lists, exceptions ``"Type: message"``, mappings get string keys, cycles become
``"<cycle>"``, nesting deeper than ``MAX_DEPTH`` becomes ``"<max depth>"``, containers longer than
``MAX_ITEMS`` are cut (with a marker item saying how many were left out), ints outside 64 bits become
strings, and any other object its ``str()`` (or ``repr()``, or ``"<unprintable T>"`` if both raise).
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "SCALARS",
    "coerce_attributes",
    "coerce_value",
    "needs_coercion",
    "safe_text",
]

MAX_DEPTH = 12
MAX_ITEMS = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SCALARS = frozenset({str, bool, float, type(None)})
"""The types an attribute value may have as it is, besides ints of 64 bits."""


def coerce_attributes(attributes: Mapping[Any, Any]) -> dict[str, Any]:
    """A new dict of ``attributes`` with string keys and representable values."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        out[key if type(key) is str else safe_text(key)] = (
            value
            if type(value) in SCALARS or (type(value) is int and INT64_MIN <= value <= INT64_MAX)
            else coerce_value(value)
        )
    return out


def needs_coercion(attributes: Mapping[Any, Any]) -> bool:
    """Whether any key or value of ``attributes`` is not already representable as it is (a fast check)."""
    for key, value in attributes.items():
        t = type(value)
        if t is str or t is float or t is bool or value is None:
            if type(key) is str:
                continue
            return True
        if t is not int or type(key) is not str or not INT64_MIN <= value <= INT64_MAX:
            return True
    return False


def coerce_value(value: Any) -> Any:
    """``value`` made representable (see the module docstring for the rules)."""
    return _coerce(value, 0, set())


def _coerce(value: Any, depth: int, seen: set[int]) -> Any:
    t = type(value)
    if t in SCALARS or t is bytes:
        return value
    if t is int:
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if isinstance(value, bool | float | str | bytes | int) and not isinstance(value, enum.Enum):
        return _subclass(value)
    if depth >= MAX_DEPTH:
        return "<max depth>"
    if isinstance(value, Mapping):
        return _container(value, depth, seen, mapping=True)
    if isinstance(value, list | tuple | set | frozenset):
        return _container(value, depth, seen, mapping=False)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        try:
            return value.isoformat()
        except Exception:  # e.g. a tzinfo whose utcoffset raises
            return safe_text(value)
    if isinstance(value, enum.Enum):
        return _coerce(value.value, depth + 1, seen)
    if isinstance(value, bytearray | memoryview):
        try:
            return bytes(value)
        except Exception:  # a released memoryview
            return safe_text(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {safe_text(value)}"
    return safe_text(value)


def _subclass(value: Any) -> Any:
    """Plain built-in value for an instance of a subclass of str/int/float/bytes/bool."""
    # The base type's own conversion: a subclass's overridden __str__/__int__/... is never called.
    try:
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, bytes):
            return bytes(memoryview(value))
        if isinstance(value, float):
            return float.__float__(value)
        return _coerce(int.__int__(value), 0, set())
    except Exception:
        return safe_text(value)


def _container(value: Any, depth: int, seen: set[int], *, mapping: bool) -> Any:
    ident = id(value)
    if ident in seen:
        return "<cycle>"
    seen.add(ident)
    try:
        items = list(value.items() if mapping else value)
    except Exception:
        seen.discard(ident)
        return safe_text(value)
    extra = len(items) - MAX_ITEMS
    if extra > 0:
        items = items[:MAX_ITEMS]
    if isinstance(value, set | frozenset):
        items.sort(key=_sort_key)
    if mapping:
        out: Any = {(k if type(k) is str else safe_text(k)): _coerce(v, depth + 1, seen) for k, v in items}
        if extra > 0:
            out["<truncated>"] = f"{extra} more items"
    else:
        out = [_coerce(v, depth + 1, seen) for v in items]
        if extra > 0:
            out.append(f"<{extra} more items>")
    seen.discard(ident)
    return out


def _sort_key(item: Any) -> tuple[str, str]:
    return (type(item).__name__, safe_text(item))


def safe_text(value: Any) -> str:
    """``str(value)``, falling back to ``repr`` and then to a placeholder: never raises."""
    try:
        return str(value)
    except Exception:
        pass
    try:
        return repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
