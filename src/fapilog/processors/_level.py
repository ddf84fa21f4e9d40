"""``LevelFilter``: drops records below a level, with optional overrides per logger name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._counting import CountingStage, threshold

__all__ = ["LevelFilter"]

_CACHE_LIMIT = 4096  # logger names remembered with their threshold; the cache starts over when full


class LevelFilter(CountingStage):
    """Keeps records at or above ``min_level``; ``per_logger`` sets other levels for loggers by name.

    Levels are fapilog level names (``"DEBUG"``, ``"WARN"``, ``"AUDIT"``, registered custom levels) or
    priorities (``20``), compared as OpenTelemetry severity numbers. A ``per_logger`` entry ``"db"`` applies
    to the logger ``db`` and to ``db.pool`` but not to ``dbx``; the longest matching name wins. A record
    whose severity is unspecified is kept, as OpenTelemetry's minimum-severity rule says.
    """

    __slots__ = ("_cache", "_min", "_overrides")
    name: ClassVar[str] = "level"

    def __init__(
        self,
        min_level: str | int = "INFO",
        *,
        per_logger: Mapping[str, str | int] | None = None,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self._min = threshold(min_level, "min_level")
        self._overrides: list[tuple[str, int]] | None = None
        self._cache: dict[str, int] = {}
        if per_logger is None:
            return
        if not isinstance(per_logger, Mapping):
            raise ValueError(f"per_logger must be a mapping of logger name to level, got {per_logger!r}")
        overrides = []
        for logger, level in per_logger.items():
            if not isinstance(logger, str) or not logger.strip(".").strip():
                raise ValueError(f"per_logger keys must be logger names, got {logger!r}")
            overrides.append((logger.strip("."), threshold(level, f"per_logger[{logger!r}]")))
        overrides.sort(key=lambda item: len(item[0]), reverse=True)  # longest name first
        self._overrides = overrides or None

    def threshold_for(self, logger: str) -> int:
        """The lowest severity number kept for records of ``logger``."""
        for prefix, severity in self._overrides or ():
            if logger == prefix or (logger.startswith(prefix) and logger[len(prefix)] == "."):
                return severity
        return self._min

    def process(self, record: ReadWriteLogRecord) -> bool:
        severity = record.log_record.severity_number
        floor = self._min
        if self._overrides is not None:
            scope = record.instrumentation_scope
            logger = scope.name if scope is not None else ""
            cached = self._cache.get(logger)
            if cached is None:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache = {}
                cached = self._cache[logger] = self.threshold_for(logger)
            floor = cached
        if severity is None or severity._value_ >= floor or not severity._value_:
            self.kept += 1
            return True
        self.dropped += 1
        return False
