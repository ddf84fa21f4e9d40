"""The hand-off queue's entries: the flat layout, the markers, and the memory a record is counted for.

The queue is one flat deque of fixed-width entries (a record's ``WIDTH`` slots side by side), not a deque of
tuples: a backlog then adds no container object per record for Python's cyclic garbage collector to track
(the fields dict of a call holding only strings and numbers is not tracked either). An entry is a
``Capture`` (fapilog's loggers: the worker makes the record), a ready record (from any OpenTelemetry
logger) or a ``Marker`` (flush or stop), the last two padded to ``WIDTH``; the size is always last.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from fapilog._coerce import INT64_MAX, INT64_MIN, SCALARS
from fapilog._context import current_context
from fapilog._otel import CAPTURE_WIDTH, ReadWriteLogRecord, from_capture

__all__ = [
    "WIDTH",
    "Marker",
    "adopt",
    "estimate_size",
    "materialize",
    "measure",
    "record_entry",
    "severity",
    "split_entries",
]


class Marker:
    """A queue entry asking the worker to flush exporters (and maybe stop) once everything before it is done."""

    __slots__ = ("close", "done", "notify", "spill_mark", "stop")

    def __init__(self, *, stop: bool = False, close: bool = False, notify: Callable[[], None] | None = None) -> None:
        self.done = threading.Event()
        self.stop = stop or close
        self.close = close
        self.notify = notify
        self.spill_mark: int | None = None  # the spill source's end when the marker was queued


WIDTH = CAPTURE_WIDTH  # slots per queue entry
PAD = (None,) * (WIDTH - 2)


def record_entry(record: Any, size: int) -> tuple[Any, ...]:
    """A queue entry for a ready record (or a marker): the object first, its size last."""
    return (record, *PAD, size)


def split_entries(flat: deque[Any]) -> list[tuple[Any, ...]]:
    """The entries of a flat queue, in order."""
    return list(zip(*[iter(flat)] * WIDTH, strict=True))


def severity(entry: Any) -> int:
    """The severity number of a queued entry (0 when unset)."""
    first = entry[0]
    if type(first) is int:  # a capture: its timestamp first, then its SeverityNumber
        return int(entry[1].value)
    severity = first.log_record.severity_number
    return int(severity.value) if severity is not None else 0


def materialize(entry: tuple[Any, ...]) -> ReadWriteLogRecord:
    first = entry[0]
    return from_capture(entry) if type(first) is int else first


def adopt(record: ReadWriteLogRecord) -> int:
    """Give a record from elsewhere what fapilog's own records carry: the caller's bound context (captured
    now, on the calling thread) and an estimate of its memory, which is returned."""
    context = current_context()
    if context:
        record.context = context  # type: ignore[attr-defined]
    lr = record.log_record
    size = estimate_size(lr.body, lr.attributes or {}) + 400  # the SDK record objects themselves
    record.size = size  # type: ignore[attr-defined]
    return size


def estimate_size(body: Any, fields: Mapping[str, Any]) -> int:
    """The memory a queued record holds, estimated from CPython object sizes on the safe side: the capture
    and its dict, each string by its length plus its header, other values by a constant."""
    return measure(body, fields)[0]


def measure(body: Any, fields: Mapping[str, Any]) -> tuple[int, bool]:
    """``estimate_size`` of a record, and whether every value of ``fields`` is representable as it is (a
    string, float, bool, None or 64-bit int), found in the same pass: the worker then skips its own check.
    (For keyword arguments, whose keys are always strings.)"""
    size = 400 + (len(body) + 56 if type(body) is str else 64)
    plain = True
    for value in fields.values():
        t = type(value)
        if t is str:
            size += len(value) + 56
        else:
            size += 48
            if t is int:
                if not INT64_MIN <= value <= INT64_MAX:
                    plain = False
            elif t not in SCALARS:
                plain = False
    return size, plain
