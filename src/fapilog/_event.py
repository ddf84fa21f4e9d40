"""``LogEvent``: the ``log`` part of the fapilog envelope as a typed object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fapilog._otel import ReadableLogRecord, ReadWriteLogRecord
from fapilog._render import envelope

__all__ = ["LogEvent"]


@dataclass(slots=True)
class LogEvent:
    """One log event as the fapilog envelope (schema 1.1) presents it."""

    timestamp: str
    level: str
    message: Any
    logger: str
    context: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    event: str | None = None

    @classmethod
    def from_record(cls, record: ReadWriteLogRecord | ReadableLogRecord) -> LogEvent:
        return cls.from_envelope(envelope(record))

    @classmethod
    def from_envelope(cls, env: dict[str, Any]) -> LogEvent:
        log = env["log"]
        return cls(
            timestamp=log["timestamp"],
            level=log["level"],
            message=log["message"],
            logger=log["logger"],
            context=dict(log.get("context") or {}),
            diagnostics=dict(log.get("diagnostics") or {}),
            data=dict(log.get("data") or {}),
            event=log.get("event"),
        )

    def to_envelope(self) -> dict[str, Any]:
        log: dict[str, Any] = {
            "timestamp": self.timestamp,
            "level": self.level,
            "message": self.message,
            "logger": self.logger,
            "context": self.context,
            "diagnostics": self.diagnostics,
            "data": self.data,
        }
        if self.event is not None:
            log["event"] = self.event
        return {"log": log, "schema_version": "1.1"}
