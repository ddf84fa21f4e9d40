"""``string_truncate``: a size guard for records (long strings cut, total attribute size bounded)."""

from __future__ import annotations

from typing import Any, ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog._render import dumps
from fapilog.processors._base import Stage
from fapilog.processors._redact_walk import (
    MAX_DEPTH_LIMIT,
    StringWalk,
    check_count,
    check_text,
    rewrite_record,
)

__all__ = ["StringTruncate"]


class StringTruncate(Stage):
    """Cuts every string longer than ``max_length`` characters to its first ``max_length`` characters plus
    ``marker``: attribute values and keys at any depth, the bound context, the body (bytes values are cut as
    decoded text).

    With ``max_total_bytes``, the attributes are then bounded as a whole, measured as JSON: while they are
    larger, the largest values are replaced by ``marker``, largest first; if that is still not enough (very
    many keys), the last keys are dropped. Past ``max_depth`` levels or ``max_keys_scanned`` keys and items,
    values are replaced by ``marker``. A failure keeps the record as it was (a size guard is not a redactor).
    """

    __slots__ = ("_max_depth", "_max_keys", "marker", "max_length", "max_total_bytes")

    name: ClassVar[str] = "string_truncate"

    def __init__(
        self,
        max_length: int,
        *,
        marker: str = "...[truncated]",
        max_total_bytes: int | None = None,
        max_depth: int = 16,
        max_keys_scanned: int = 5000,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.max_length = check_count("max_length", max_length)
        self.marker = check_text("marker", marker)
        self.max_total_bytes = None if max_total_bytes is None else check_count("max_total_bytes", max_total_bytes)
        self._max_depth = check_count("max_depth", max_depth, maximum=MAX_DEPTH_LIMIT)
        self._max_keys = check_count("max_keys_scanned", max_keys_scanned)

    def process(self, record: ReadWriteLogRecord) -> bool:
        walk = StringWalk(self._cut, budget=self._max_keys, overflow=self.marker)
        rewrite_record(record, lambda value: walk.value(value, self._max_depth), body=True)
        if self.max_total_bytes is not None:
            self._fit(record, self.max_total_bytes)
        return True

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.max_length else text[: self.max_length] + self.marker

    def _fit(self, record: ReadWriteLogRecord, limit: int) -> None:
        attributes = record.log_record.attributes
        if not attributes:
            return
        out = dict(attributes)
        sizes = {key: _entry_size(key, value) for key, value in out.items()}
        total = sum(sizes.values()) + 2
        if total <= limit:
            return
        for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if total <= limit:
                break
            smaller = _entry_size(key, self.marker)
            if smaller < sizes[key]:
                out[key] = self.marker
                total -= sizes[key] - smaller
                sizes[key] = smaller
        for key in reversed(list(out)):
            if total <= limit:
                break
            total -= sizes[key]
            del out[key]
        record.log_record.attributes = out


def _entry_size(key: Any, value: Any) -> int:
    """Bytes of ``"key":value,`` in JSON."""
    return len(dumps(key if isinstance(key, str) else str(key))) + len(dumps(value)) + 2
