"""Convenience factories for exporters, to pass as ``get_logger(sinks=[...])``."""

from __future__ import annotations

from typing import TextIO

from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

__all__ = ["stdout_json", "stdout_pretty"]


def stdout_json(stream: TextIO | None = None) -> StdoutJsonExporter:
    """JSON envelope lines to ``stream`` (default: the current ``sys.stdout``)."""
    return StdoutJsonExporter(stream)


def stdout_pretty(stream: TextIO | None = None, *, colors: bool | None = None) -> StdoutPrettyExporter:
    """Pretty lines to ``stream``; colours on a terminal unless ``colors`` says otherwise."""
    return StdoutPrettyExporter(stream, colors=colors)
