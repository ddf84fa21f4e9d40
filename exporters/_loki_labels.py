"""Loki labels: sanitised, bounded, and never high-cardinality; what goes to structured metadata instead."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog._otel import ReadableLogRecord

__all__ = ["HIGH_CARDINALITY", "LabelMaker", "label_name", "label_value", "structured_metadata"]

# Keys whose values are (nearly) unique per record: as labels they would create a stream per value.
HIGH_CARDINALITY = frozenset({"request_id", "trace_id", "span_id", "user_id", "correlation_id", "session_id"})
MAX_VALUE_CHARS = 128
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_]")


def label_name(name: str) -> str:
    """A valid label name (``[a-zA-Z_][a-zA-Z0-9_]*``): other characters become ``_``."""
    cleaned = _NAME_BAD.sub("_", name) or "_"
    return "_" + cleaned if cleaned[0].isdigit() else cleaned


def label_value(value: Any) -> str:
    """A label value: non-alphanumeric characters become ``_``, at most 128 characters."""
    text = value if isinstance(value, str) else str(value)
    return _NAME_BAD.sub("_", text[:MAX_VALUE_CHARS])


class LabelMaker:
    """Static labels plus dynamic ``label_keys`` (``level``, ``logger``, or an attribute), as a stream key."""

    __slots__ = ("_cache", "keys", "static")

    def __init__(self, static: Mapping[str, Any], keys: Sequence[str]) -> None:
        refused = sorted({k for k in keys if k.lower() in HIGH_CARDINALITY})
        if refused:
            raise ValueError(
                f"Loki label_keys {refused} are high-cardinality (a new stream per value would overload Loki); "
                "remove them from label_keys: trace_id, span_id and request_id are sent as structured "
                "metadata, and every field stays in the log line"
            )
        self.static = tuple((label_name(k), label_value(v)) for k, v in static.items())
        self.keys = tuple(keys)
        self._cache: dict[tuple[tuple[str, str], ...], str] = {}

    def pairs(self, record: ReadableLogRecord) -> tuple[tuple[str, str], ...]:
        """The record's label pairs, sorted by name (a later pair of the same name wins)."""
        lr = record.log_record
        found = dict(self.static)
        for key in self.keys:
            if key == "level":
                value: Any = lr.severity_text or "INFO"
            elif key == "logger":
                scope = record.instrumentation_scope
                value = scope.name if scope is not None else "root"
            else:
                value = (lr.attributes or {}).get(key)
            if value is not None:
                found[label_name(key)] = label_value(value)
        return tuple(sorted(found.items()))

    def text(self, pairs: tuple[tuple[str, str], ...]) -> str:
        """Loki's ``{k="v", ...}`` form (values are already sanitised: nothing to escape)."""
        text = self._cache.get(pairs)
        if text is None:
            text = "{" + ", ".join(f'{k}="{v}"' for k, v in pairs) + "}"
            if len(self._cache) < 10_000:
                self._cache[pairs] = text
        return text


def structured_metadata(record: ReadableLogRecord) -> tuple[tuple[str, str], ...]:
    """trace_id and span_id (hex) from the span context, request_id from the attributes, when present."""
    lr = record.log_record
    out: list[tuple[str, str]] = []
    if lr.trace_id:
        out.append(("trace_id", f"{lr.trace_id:032x}"))
        out.append(("span_id", f"{lr.span_id:016x}"))
    request_id = (lr.attributes or {}).get("request_id")
    if request_id is not None:
        out.append(("request_id", str(request_id)))
    return tuple(out)
