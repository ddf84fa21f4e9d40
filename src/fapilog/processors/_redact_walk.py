"""What the redaction stages share: config checks, a bounded copy-on-write walk over values, capped scanning.

Values reaching a stage are usually what fapilog's coercion leaves (``str``, ``int``, ``float``, ``bool``,
``None``, ``bytes``, lists and string-keyed dicts), but a stage used alone in an SDK pipeline sees whatever the
caller passed: tuples, sets, custom objects, even cycles. The walk handles all of them without raising, never
changes a caller's object (a container that changes is copied; the others are returned as they are), and stops
at a depth and an item budget: whatever lies beyond is replaced, never passed on unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fapilog._coerce import safe_text
from fapilog._otel import ReadWriteLogRecord

__all__ = [
    "MAX_DEPTH_LIMIT",
    "Budget",
    "StringWalk",
    "check_count",
    "check_names",
    "check_text",
    "map_items",
    "rewrite_record",
    "scan_capped",
]

MAX_DEPTH_LIMIT = 256  # far below Python's recursion limit
SCAN_MARGIN = 1024  # characters read past a scanning cap, so a secret across the cap is seen whole

_SCALARS = (int, float, bool, type(None))
_SEQUENCES = (list, tuple, set, frozenset)


# ---- configuration checks ----------------------------------------------------------------------------


def check_count(name: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` if it is an int in range, else a ValueError naming the parameter."""
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def check_text(name: str, value: object) -> str:
    """``value`` if it is a string, else a ValueError naming the parameter."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def check_names(name: str, values: object) -> tuple[str, ...]:
    """``values`` as a tuple of strings; a bare string (a common slip for ``[name]``) is refused."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a list of strings, got {values!r}")
    out = tuple(values)
    for item in out:
        if not isinstance(item, str):
            raise ValueError(f"{name} must contain only strings, got {item!r}")
    return out


# ---- walking values ----------------------------------------------------------------------------------


class Budget:
    """How many more container items a walk may visit."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


class StringWalk:
    """Applies ``fn`` to every string in a value: dict keys (``key_fn`` if given) and values, items, decoded
    bytes; one walk per record, as its item ``budget`` is shared by everything the record holds.

    ``fn`` must return its argument itself when it changes nothing. A custom object is judged by its text: if
    ``fn`` changes the text, the object is replaced by the changed text. Past ``depth`` container levels, or
    once the budget is spent, what is left is replaced by ``overflow``.
    """

    __slots__ = ("budget", "fn", "key_fn", "overflow")

    def __init__(
        self,
        fn: Callable[[str], str],
        *,
        budget: int,
        overflow: str,
        key_fn: Callable[[str], str] | None = None,
    ) -> None:
        self.fn = fn
        self.key_fn = key_fn or fn
        self.budget = budget
        self.overflow = overflow

    def value(self, value: Any, depth: int) -> Any:
        """``value`` with the strings in it mapped (itself if none changed); ``depth`` levels may be entered."""
        if type(value) is str:
            return self.fn(value)
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, str):  # a str subclass: judged by its plain text
            plain = str.__str__(value)
            changed = self.fn(plain)
            return value if changed is plain else changed
        if isinstance(value, bytes | bytearray | memoryview):
            return self._bytes(value)
        if isinstance(value, Mapping):
            return self._mapping(value, depth) if depth > 0 else self.overflow
        if isinstance(value, _SEQUENCES):
            return self._items(value, depth) if depth > 0 else self.overflow
        text = safe_text(value)
        changed = self.fn(text)
        return value if changed is text else changed

    def _bytes(self, value: bytes | bytearray | memoryview) -> Any:
        try:
            raw = bytes(value)
        except Exception:  # a released memoryview
            return value
        text = raw.decode("utf-8", "surrogateescape")
        changed = self.fn(text)
        return value if changed is text else changed.encode("utf-8", "surrogateescape")

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> Any:
        try:
            items = list(value.items())
        except Exception:  # a mapping that cannot be read cannot be checked
            return self.overflow
        out: dict[Any, Any] | None = None
        for i, (key, item) in enumerate(items):
            if self.budget > 0:
                self.budget -= 1
                new_key = self.key_fn(key) if type(key) is str else key
                new_item = self.value(item, depth - 1)
            else:
                new_key, new_item = key, self.overflow
            if out is None and (new_key is not key or new_item is not item):
                out = dict(items[:i])
            if out is not None:
                if new_key is not key:
                    new_key = _unique(new_key, out)
                out[new_key] = new_item
        return value if out is None else out

    def _items(self, value: Any, depth: int) -> Any:
        return map_items(value, lambda item: self._item(item, depth), self.overflow)

    def _item(self, item: Any, depth: int) -> Any:
        if self.budget <= 0:
            return self.overflow
        self.budget -= 1
        return self.value(item, depth - 1)


def map_items(value: Any, step: Callable[[Any], Any], overflow: Any) -> Any:
    """``value`` (a list, tuple or other iterable) with each item through ``step``: ``value`` itself when no
    item changed, else a new list (a tuple for a tuple). Items that cannot be read become ``overflow``."""
    try:
        items = list(value)
    except Exception:
        return overflow
    out: list[Any] | None = None
    for i, item in enumerate(items):
        new = step(item)
        if out is None and new is not item:
            out = items[:i]
        if out is not None:
            out.append(new)
    if out is None:
        return value
    return tuple(out) if isinstance(value, tuple) else out


def _unique(key: str, taken: Mapping[Any, Any]) -> str:
    """``key``, or ``key#2``, ``key#3``... if it is taken (two keys masked to the same text)."""
    if key not in taken:
        return key
    n = 2
    while f"{key}#{n}" in taken:
        n += 1
    return f"{key}#{n}"


# ---- records -------------------------------------------------------------------------------------------


def rewrite_record(record: ReadWriteLogRecord, transform: Callable[[Any], Any], *, body: bool) -> None:
    """Apply ``transform`` to the record's attributes (and its bound context, and its body if ``body``).

    ``transform`` returns its argument itself when nothing changes; a changed mapping replaces the old one
    (never changed in place). Attributes that cannot be read as a mapping raise (the stage fails closed).
    """
    lr = record.log_record
    attributes = lr.attributes
    if attributes:
        new = transform(attributes)
        if new is not attributes:
            if not isinstance(new, Mapping):
                raise ValueError("the record's attributes could not be read")
            lr.attributes = new if type(new) is dict else dict(new)
    if body and lr.body is not None:
        new_body = transform(lr.body)
        if new_body is not lr.body:
            lr.body = new_body
    context = getattr(record, "context", None)  # fapilog's records keep the bound context apart too
    if isinstance(context, Mapping) and context:
        new_context = transform(context)
        if new_context is not context:
            record.context = new_context if isinstance(new_context, Mapping) else {}  # type: ignore[attr-defined]


# ---- scanning long strings -----------------------------------------------------------------------------


def scan_capped(
    text: str,
    cap: int,
    transform: Callable[[str], str],
    patterns: Iterable[re.Pattern[str]],
) -> str:
    """``transform(text)``, for a text of at most ``cap`` characters.

    A longer text is cut: its first ``cap`` characters are kept and scanned, the rest is replaced by a marker
    saying how many characters were dropped. The cut never splits a match of ``patterns``: the text is read
    ``SCAN_MARGIN`` characters past the cap, and a match that crosses the cap is kept (and masked) whole.
    """
    if len(text) <= cap:
        return transform(text)
    head = text[: cap + SCAN_MARGIN]
    cut = cap
    spans = sorted(m.span() for pattern in patterns for m in pattern.finditer(head))
    for start, end in spans:
        if start >= cut:
            break
        cut = max(cut, end)
    return transform(head[:cut]) + f"...[{len(text) - cut} characters dropped: too long to scan]"
