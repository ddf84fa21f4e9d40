"""CloudWatch Logs' PutLogEvents limits, enforced on our side: event size, batch count, bytes, span, order.

A request may carry at most ``MAX_BATCH_EVENTS`` events and ``MAX_BATCH_BYTES`` bytes, counting each
message's UTF-8 bytes plus ``EVENT_OVERHEAD``; its events must be in chronological order and span less than
``MAX_SPAN_MS``. ``chunks`` cuts a batch into such requests; ``fit`` cuts one message to the per-event limit.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "EVENT_OVERHEAD",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "MAX_SPAN_MS",
    "Event",
    "chunks",
    "fit",
]

EVENT_OVERHEAD = 26
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD  # a message's UTF-8 bytes, at most
MAX_SPAN_MS = 24 * 60 * 60 * 1000


class Event(NamedTuple):
    """One log event: milliseconds since the epoch, the message, and its size as CloudWatch counts it."""

    timestamp: int
    message: str
    size: int  # UTF-8 bytes of ``message`` + EVENT_OVERHEAD


def fit(data: bytes, limit: int = MAX_EVENT_BYTES) -> tuple[bytes, int]:
    """``data`` cut to at most ``limit`` bytes on a character boundary, ending in a marker that says how
    many bytes were cut; and that number (0: ``data`` fits as it is)."""
    if len(data) <= limit:
        return data, 0
    cut = len(data)
    while True:  # the marker's length depends on the number it shows: converge (at most two rounds)
        marker = f"...[truncated {cut} bytes]".encode()
        keep = data[: max(0, limit - len(marker))].decode("utf-8", "ignore").encode()
        new_cut = len(data) - len(keep)
        if new_cut == cut:
            return keep + marker, cut
        cut = new_cut


def chunks(
    events: Iterable[Event],
    *,
    max_events: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
    max_span_ms: int = MAX_SPAN_MS,
) -> list[list[Event]]:
    """``events`` sorted by time (stable: equal times keep their order) and cut into requests within the
    limits: a request ends before the event that would make it exceed ``max_events`` events or
    ``max_bytes`` bytes, or make it span ``max_span_ms`` or more."""
    ordered = sorted(events, key=lambda e: e.timestamp)
    out: list[list[Event]] = []
    current: list[Event] = []
    used = 0
    first = 0
    for event in ordered:
        if current and (
            len(current) >= max_events or used + event.size > max_bytes or event.timestamp - first >= max_span_ms
        ):
            out.append(current)
            current, used = [], 0
        if not current:
            first = event.timestamp
        current.append(event)
        used += event.size
    if current:
        out.append(current)
    return out
