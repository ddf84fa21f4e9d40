"""Convenience factories for exporters, to pass as ``get_logger(sinks=[...])``."""

from __future__ import annotations

import os
from typing import TextIO

from fapilog._units import parse_duration, parse_size
from fapilog.exporters.file import FileMode, RotatingFileExporter
from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

__all__ = ["rotating_file", "stdout_json", "stdout_pretty"]


def stdout_json(stream: TextIO | None = None) -> StdoutJsonExporter:
    """JSON envelope lines to ``stream`` (default: the current ``sys.stdout``)."""
    return StdoutJsonExporter(stream)


def stdout_pretty(stream: TextIO | None = None, *, colors: bool | None = None) -> StdoutPrettyExporter:
    """Pretty lines to ``stream``; colours on a terminal unless ``colors`` says otherwise."""
    return StdoutPrettyExporter(stream, colors=colors)


def rotating_file(
    path: str | os.PathLike[str],
    rotation: int | str | None = None,
    retention: int | None = None,
    compression: bool = False,
    mode: FileMode = "json",
) -> RotatingFileExporter:
    """A rotating file at ``path`` (its directory is created if missing).

    ``rotation``: a size (``"10 MB"`` or bytes) the file is rotated before exceeding, or a period
    (``"hourly"``, ``"daily"``, ``"30m"``); ``None``: never rotated. ``retention``: how many rotated files to
    keep. ``compression``: gzip rotated files. ``mode``: ``"json"`` (fapilog envelopes), ``"text"`` (pretty
    lines) or ``"otlp_json"`` (OTLP/JSON for a Collector).
    """
    max_bytes: int | None = None
    interval: float | None = None
    if rotation is not None:
        try:
            max_bytes = parse_size(rotation)
        except ValueError:
            try:
                interval = parse_duration(rotation)
            except ValueError:
                raise ValueError(
                    f"rotation must be a size ('10 MB', bytes) or a period ('hourly', 'daily', '30m'): {rotation!r}"
                ) from None
    return RotatingFileExporter(
        path, mode=mode, max_bytes=max_bytes, interval=interval, max_files=retention, compress=compression
    )
