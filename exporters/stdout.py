"""Console exporters: fapilog JSON envelope lines, or pretty human-readable lines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog._render import envelope_lines, pretty_line

__all__ = ["StdoutJsonExporter", "StdoutPrettyExporter", "stream_is_tty"]


def stream_is_tty(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stdout``) is a terminal."""
    target = stream if stream is not None else sys.stdout
    try:
        return bool(target.isatty())
    except Exception:
        return False


class _ConsoleExporter(LogRecordExporter):
    """Writes each batch with one write to ``stream`` (default: whatever ``sys.stdout`` is then).

    UTF-8 bytes go straight to the stream's binary buffer when it has one (after flushing its text layer,
    so the order of everything written to the stream is kept); other text streams get text.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._closed = False

    def _render(self, batch: Sequence[ReadableLogRecord]) -> bytes:
        raise NotImplementedError

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._closed:
            return LogRecordExportResult.FAILURE
        stream = self._stream if self._stream is not None else sys.stdout
        data = self._render(batch)
        buffer = getattr(stream, "buffer", None)
        if buffer is not None and (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8":
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8"))
            stream.flush()
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.flush()
        return True

    def shutdown(self) -> None:
        self._closed = True


class StdoutJsonExporter(_ConsoleExporter):
    """One fapilog JSON envelope (schema 1.1) per line."""

    def _render(self, batch: Sequence[ReadableLogRecord]) -> bytes:
        return envelope_lines(batch)


class StdoutPrettyExporter(_ConsoleExporter):
    """``YYYY-MM-DD HH:MM:SS | LEVEL | message k=v`` lines; colours only when the stream is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, colors: bool | None = None) -> None:
        super().__init__(stream)
        self._colors = colors

    def _render(self, batch: Sequence[ReadableLogRecord]) -> bytes:
        colors = self._colors if self._colors is not None else stream_is_tty(self._stream)
        text = "".join([pretty_line(record, colors=colors) for record in batch])
        return text.encode("utf-8", "backslashreplace")
