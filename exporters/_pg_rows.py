"""Rows for the PostgreSQL exporter: a record's extracted columns and its envelope as JSON, made storable.

PostgreSQL refuses NUL characters in ``text`` (and the ``\\u0000`` escape in ``jsonb``) and asyncpg cannot
encode lone surrogates; both would fail a whole COPY. So, rather than losing a batch, every NUL becomes U+FFFD
(in JSON: the escape ``\\ufffd``) and every lone surrogate U+FFFD (the envelope's JSON already escapes them as
text, see ``fapilog._render.dumps``); strings are cut to their ``VARCHAR`` length. ``sanitised`` counts the
records changed.

``correlation_id`` is the record's ``correlation_id``, else its ``request_id`` (attributes or bound context),
else its trace id (32 hex digits), else NULL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fapilog._otel import ReadableLogRecord
from fapilog._render import _envelope, dumps, envelope_json
from fapilog.exporters._delivery import Outcome, Payload, Reply
from fapilog.exporters._pg_schema import COLUMNS

__all__ = ["Row", "RowCodec", "Rows", "clean_json", "clean_text"]

Row = tuple[Any, ...]
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUL_ESCAPE = re.compile(rb"(\\+)u0000")
_LIMITS = {"level": 10, "logger": 255, "correlation_id": 64}


class Rows(Payload):
    """A batch for COPY: the rows themselves ride along with the (empty) payload body."""

    __slots__ = ("rows",)
    rows: list[Row]

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(b"")
        object.__setattr__(self, "rows", rows)


def clean_text(text: str, limit: int | None = None) -> tuple[str, bool]:
    """``text`` storable in a ``text`` column (NUL and lone surrogates -> U+FFFD, cut to ``limit``
    characters), and whether it had to change (cutting aside)."""
    if limit is not None and len(text) > limit:
        text = text[:limit]
    changed = False
    if "\x00" in text:
        text, changed = text.replace("\x00", "\ufffd"), True
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text, changed = _SURROGATE.sub("\ufffd", text), True
    return text, changed


def _unescape_nul(match: re.Match[bytes]) -> bytes:
    slashes = match.group(1)
    if len(slashes) % 2 == 0:  # an escaped backslash followed by the letters u0000: not a NUL
        return match.group(0)
    return slashes[:-1] + rb"\ufffd"


def clean_json(raw: bytes) -> tuple[bytes, bool]:
    """JSON text without the ``\\u0000`` escape (which ``jsonb`` refuses), and whether it changed."""
    if b"\\u0000" not in raw:
        return raw, False
    cleaned = _NUL_ESCAPE.sub(_unescape_nul, raw)
    return cleaned, cleaned != raw


class RowCodec:
    """The ``Codec`` of the PostgreSQL exporter: records -> row tuples in ``columns`` order + ``event``."""

    __slots__ = ("columns", "include_raw_json", "sanitised")

    def __init__(self, extract_fields: Sequence[str], *, include_raw_json: bool = True) -> None:
        unknown = [f for f in extract_fields if f not in COLUMNS]
        if unknown:
            raise ValueError(f"PostgreSQL extract_fields: unknown {unknown}; choose among {list(COLUMNS)}")
        self.columns = [c for c in COLUMNS if c in extract_fields] + ["event"]
        self.include_raw_json = include_raw_json
        self.sanitised = 0

    def item(self, record: ReadableLogRecord) -> Row:
        lr = record.log_record
        env = _envelope(record, share=True)  # read-only here: its log part read, then dumped at once
        values: list[Any] = []
        dirty = False
        for column in self.columns:
            if column == "timestamp":
                ns = lr.timestamp or lr.observed_timestamp
                values.append(datetime.fromtimestamp(ns / 1e9, UTC) if ns else datetime.now(UTC))
                continue
            if column == "event":
                raw, changed = clean_json(envelope_json(record, env)) if self.include_raw_json else (b"{}", False)
                values.append(raw.decode("utf-8"))
                dirty |= changed
                continue
            value = _field(column, env["log"], lr)
            if value is not None:
                value, changed = clean_text(value, _LIMITS.get(column))
                dirty |= changed
            values.append(value)
        if dirty:
            self.sanitised += 1
        return tuple(values)

    def size(self, item: Row) -> int:
        return len(item[-1]) + 64

    def encode(self, items: Sequence[Row]) -> Payload:
        return Rows(list(items))

    def classify(self, reply: Reply) -> Outcome:
        return Outcome("delivered", status=reply.status)


def _field(column: str, log: dict[str, Any], lr: Any) -> str | None:
    if column == "message":
        body = log["message"]
        return body if isinstance(body, str) else ("" if body is None else dumps(body).decode("utf-8"))
    if column == "level":
        return str(log["level"])
    if column == "logger":
        return str(log["logger"])
    context = log["context"]
    found = context.get("correlation_id") or context.get("request_id")
    if found is not None:
        return str(found)
    return f"{lr.trace_id:032x}" if lr.trace_id else None
