"""A sink for the spool's tests: a real file of JSON lines, which can be taken down (a flag file) or hang."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord


class FileSink(LogRecordExporter):
    """Appends ``{"logger", "seq"}`` per record to ``path``; FAILURE while ``down`` exists; after writing batch
    number ``hang_after`` it touches ``hung`` and never returns (a sink stuck mid-delivery)."""

    name = "file_sink"

    def __init__(
        self, path: Path, *, down: Path | None = None, hang_after: int | None = None, hung: Path | None = None
    ) -> None:
        self.path = path
        self.down = down
        self.hang_after = hang_after
        self.hung = hung
        self.batches = 0
        self.failures = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self.down is not None and self.down.exists():
            self.failures += 1
            return LogRecordExportResult.FAILURE
        lines = []
        for record in batch:
            attrs: Any = record.log_record.attributes or {}
            scope = record.instrumentation_scope
            lines.append(json.dumps({"logger": scope.name if scope else None, "seq": attrs.get("seq")}) + "\n")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(lines))
        self.batches += 1
        if self.hang_after is not None and self.batches >= self.hang_after:
            if self.hung is not None:
                self.hung.touch()
            time.sleep(3600)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def delivered(path: Path) -> list[tuple[str, int]]:
    """The (logger, seq) pairs written to ``path``, in order."""
    if not path.exists():
        return []
    return [(d["logger"], d["seq"]) for d in map(json.loads, path.read_text(encoding="utf-8").splitlines())]
