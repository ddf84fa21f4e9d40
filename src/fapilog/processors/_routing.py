"""``LevelRouter``: routing by level for a plain OpenTelemetry SDK pipeline.

fapilog's own pipeline routes with the same ``RoutingTable`` (``sink_routing`` settings), sending each
exporter only its records.
"""

from __future__ import annotations

from collections.abc import Sequence

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog._routing import RoutingTable

__all__ = ["LevelRouter"]


class LevelRouter(LogRecordProcessor):
    """Hands each record to the processors its level routes to (for plain OpenTelemetry SDK pipelines).

    ``LevelRouter([(["ERROR", "CRITICAL"], errors), (["INFO"], everything_else)], fallback=[everything_else])``
    """

    def __init__(
        self,
        routes: Sequence[tuple[Sequence[str], LogRecordProcessor]],
        *,
        fallback: Sequence[LogRecordProcessor] = (),
        overlap: bool = True,
    ) -> None:
        self._table: RoutingTable[LogRecordProcessor] = RoutingTable(
            [(levels, [processor]) for levels, processor in routes], fallback=fallback, overlap=overlap
        )
        unique: dict[int, LogRecordProcessor] = {}
        for processor in [*(p for _, p in routes), *fallback]:
            unique.setdefault(id(processor), processor)
        self._all = list(unique.values())

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        for processor in self._table.targets(log_record.log_record.severity_text):
            processor.on_emit(log_record)

    def shutdown(self) -> None:
        for processor in self._all:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all([processor.force_flush(timeout_millis) for processor in self._all])  # noqa: C419 - flush all
