"""From sink specs (names, dicts, objects) to exporters.

A spec is a name (``"stdout_json"``), a dict with a ``"type"`` and options, an OpenTelemetry
``LogRecordExporter`` (anything with ``export``), or an object following fapilog's sink contract
(``async start()``, ``async write(entry: dict)``, ``async stop()``), which is adapted. Names are looked up
among the built-ins, then in the ``fapilog.sinks`` entry-point group; an unknown name fails at start-up.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from fapilog._diagnostics import Diagnostics
from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog._render import envelope

__all__ = ["SinkAdapter", "build_exporters", "known_sink_types"]

# name -> (module, attribute, pip extra needed or None)
_BUILTIN: dict[str, tuple[str, str, str | None]] = {
    "stdout_json": ("fapilog.exporters.stdout", "StdoutJsonExporter", None),
    "stdout_pretty": ("fapilog.exporters.stdout", "StdoutPrettyExporter", None),
}


def known_sink_types() -> list[str]:
    names = set(_BUILTIN)
    names.update(ep.name for ep in entry_points(group="fapilog.sinks"))
    return sorted(names)


def _factory(name: str) -> Callable[..., Any]:
    if name in _BUILTIN:
        module, attr, _extra = _BUILTIN[name]
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
    for ep in entry_points(group="fapilog.sinks"):
        if ep.name == name:
            try:
                return ep.load()  # type: ignore[no-any-return]
            except Exception as exc:
                raise ValueError(f"sink plugin {name!r} ({ep.value}) failed to load: {exc}") from exc
    raise ValueError(f"unknown sink type {name!r}; known: {', '.join(known_sink_types())}")


def build_exporters(specs: Sequence[Any], *, console: str, diagnostics: Diagnostics) -> list[Any]:
    """Exporters for ``specs``; with no specs, the console exporter named ``console``."""
    if not specs:
        specs = [console]
    exporters: list[Any] = []
    for spec in specs:
        if isinstance(spec, str):
            exporters.append(_factory(spec)())
        elif isinstance(spec, dict):
            options = {k: v for k, v in spec.items() if k != "type"}
            factory = _factory(spec["type"])
            try:
                exporters.append(factory(**options))
            except TypeError as exc:
                raise ValueError(f"sink {spec['type']!r}: {exc}") from exc
        elif callable(getattr(spec, "export", None)):
            exporters.append(spec)
        elif callable(getattr(spec, "write", None)):
            exporters.append(SinkAdapter(spec, diagnostics=diagnostics))
        else:
            raise ValueError(f"not a sink: {spec!r} (give a name, a dict with 'type', or an exporter)")
    return exporters


class SinkAdapter:
    """Runs a fapilog-contract sink (``start/write(entry)/stop``) as an exporter on the worker's loop.

    ``start`` runs before the first write; each entry is the record's fapilog envelope dict. A sink method
    that raises is contained: counted as a failed export and reported on the diagnostics channel.
    """

    def __init__(self, sink: Any, *, diagnostics: Diagnostics | None = None) -> None:
        self.sink = sink
        self._started = False
        self._diagnostics = diagnostics or Diagnostics()

    @property
    def name(self) -> str:
        return str(getattr(self.sink, "name", type(self.sink).__name__))

    async def _call(self, method: str, *args: Any) -> None:
        func = getattr(self.sink, method, None)
        if func is None:
            return
        result = func(*args)
        if inspect.isawaitable(result):
            await result

    async def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if not self._started:
            self._started = True
            await self._call("start")
        failed = 0
        for record in batch:
            try:
                await self._call("write", envelope(record))
            except Exception as exc:
                failed += 1
                self._diagnostics.warn("sink", "sink write raised", sink=self.name, error=exc)
        return LogRecordExportResult.FAILURE if failed else LogRecordExportResult.SUCCESS

    async def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            await self._call("flush")
        except Exception as exc:
            self._diagnostics.warn("sink", "sink flush raised", sink=self.name, error=exc)
        return True

    async def shutdown(self) -> None:
        if self._started:
            self._started = False
            await self._call("stop")
