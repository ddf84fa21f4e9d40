"""``fapilog pretty``: JSON log lines (fapilog envelopes or OTLP JSON) rendered as the pretty console does.

Lines that are neither pass through unchanged, so ``kubectl logs pod | fapilog pretty`` keeps everything.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Iterator
from typing import Any

from fapilog._levels import known_levels
from fapilog._render import pretty_text

__all__ = ["pretty_lines"]


def pretty_lines(lines: Iterable[str], *, colors: bool) -> Iterator[str]:
    """Each input line rendered (or passed through), each output ending with a newline."""
    for line in lines:
        text = line.rstrip("\n")
        doc = _json(text)
        try:
            if isinstance(doc, dict) and isinstance(doc.get("log"), dict):
                yield _from_envelope(doc["log"], colors=colors)
                continue
            if isinstance(doc, dict) and isinstance(doc.get("resourceLogs"), list):
                yield from list(_from_otlp(doc, colors=colors))
                continue
        except Exception:  # JSON of another shape than ours: shown as it came, like any other line
            pass
        yield text + "\n"


def _json(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _ns(stamp: Any) -> int:
    try:
        when = _dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return 0
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1_000


def _from_envelope(log: dict[str, Any], *, colors: bool) -> str:
    attrs: dict[str, Any] = {**(log.get("context") or {}), **(log.get("data") or {})}
    exception = (log.get("diagnostics") or {}).get("exception") or {}
    if exception.get("error.stack"):
        attrs["exception.stacktrace"] = exception["error.stack"]
    return pretty_text(
        _ns(log.get("timestamp")), str(log.get("level", "INFO")), log.get("message"), attrs, colors=colors
    )


_BY_SEVERITY = {level.severity.value: level.name for level in known_levels()}


def _from_otlp(doc: dict[str, Any], *, colors: bool) -> Iterator[str]:
    for resource_logs in doc.get("resourceLogs") or []:
        for scope_logs in resource_logs.get("scopeLogs") or []:
            for record in scope_logs.get("logRecords") or []:
                attrs = {
                    item.get("key"): _any_value(item.get("value") or {}) for item in record.get("attributes") or []
                }
                if record.get("traceId"):
                    attrs["trace_id"] = record["traceId"]
                    attrs["span_id"] = record.get("spanId", "")
                level = record.get("severityText") or _BY_SEVERITY.get(int(record.get("severityNumber") or 9), "INFO")
                ns = int(record.get("timeUnixNano") or record.get("observedTimeUnixNano") or 0)
                yield pretty_text(ns, level, _any_value(record.get("body") or {}), attrs, colors=colors)


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as a Python value."""
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values") or []]
    if "kvlistValue" in value:
        return {kv.get("key"): _any_value(kv.get("value") or {}) for kv in value["kvlistValue"].get("values") or []}
    return None
