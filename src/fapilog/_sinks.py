"""From sink specs (names, dicts, objects) to exporters.

A spec is a name (``"stdout_json"``), a dict with a ``"type"`` and options, an OpenTelemetry
``LogRecordExporter`` (anything with ``export``), or an object following fapilog's sink contract
(``async start()``, ``async write(entry: dict)``, ``async stop()``, optionally ``write_serialized(view)`` and
``health_check()``), which is adapted. Names are looked up
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
from fapilog._plugins import PluginError, load_plugin
from fapilog._render import envelope, envelope_lines
from fapilog._settings import Settings
from fapilog.plugins.sinks import SerializedView

__all__ = ["SinkAdapter", "build_exporters", "known_sink_types", "spec_name"]


def _load(module: str, attr: str) -> Any:
    return getattr(importlib.import_module(module), attr)


# Built-in sinks: name -> factory(settings, options). Exporters with a settings section start from it.
_BUILTIN: dict[str, Callable[[Settings, dict[str, Any]], Any]] = {
    "stdout_json": lambda s, o: _load("fapilog.exporters.stdout", "StdoutJsonExporter")(**o),
    "stdout_pretty": lambda s, o: _load("fapilog.exporters.stdout", "StdoutPrettyExporter")(**o),
    "rotating_file": lambda s, o: _load("fapilog.exporters.file", "rotating_file_exporter")(s.file, **o),
    "http": lambda s, o: _load("fapilog.exporters.http", "http_exporter")(s.http, **o),
    "webhook": lambda s, o: _load("fapilog.exporters.http", "webhook_exporter")(s.webhook, **o),
    "loki": lambda s, o: _load("fapilog.exporters.loki", "loki_exporter")(s.loki, **o),
    "cloudwatch": lambda s, o: _load("fapilog.exporters.cloudwatch", "cloudwatch_exporter")(s.cloudwatch, **o),
    "otlp": lambda s, o: _load("fapilog.exporters.otlp", "otlp_exporter")(
        None, **o
    ),  # OTEL_EXPORTER_OTLP_* configure it
    "postgres": lambda s, o: _load("fapilog.exporters.postgres", "postgres_exporter")(s.postgres, **o),
    "spool": lambda s, o: _spool(s, o),  # noqa: PLW0108 - defined below, after build_exporters
}


def spec_name(spec: Any) -> str:
    """A sink spec's name: the type of a name or dict, else the exporter's ``name`` or class name."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return str(spec.get("type"))
    return str(getattr(spec, "name", None) or type(spec).__name__)


def known_sink_types() -> list[str]:
    names = set(_BUILTIN)
    names.update(ep.name for ep in entry_points(group="fapilog.sinks"))
    return sorted(names)


def _build(name: str, options: dict[str, Any], settings: Settings) -> Any:
    builtin = _BUILTIN.get(name)
    if builtin is not None:
        factory: Callable[..., Any] = lambda **o: builtin(settings, o)  # noqa: E731
    else:
        try:
            factory = load_plugin("fapilog.sinks", name, settings.plugins)
        except PluginError as exc:
            if "unknown" in str(exc):
                raise ValueError(f"unknown sink type {name!r}; known: {', '.join(known_sink_types())}") from None
            raise
    try:
        return factory(**options)
    except TypeError as exc:
        raise ValueError(f"sink {name!r}: {exc}") from exc


def build_exporters(
    specs: Sequence[Any], *, console: str, diagnostics: Diagnostics, settings: Settings | None = None
) -> list[Any]:
    """Exporters for ``specs``; with no specs, the console exporter named ``console``.

    Names and dicts are built from ``settings`` (their sections, the plugin policy); sink objects that
    have ``write_serialized`` get pre-serialized entries when ``core.serialize_in_flush`` is on.
    """
    settings = settings if settings is not None else Settings()
    if not specs:
        specs = [console]
    exporters: list[Any] = []
    for spec in specs:
        if isinstance(spec, str):
            exporters.append(_build(spec, {}, settings))
        elif isinstance(spec, dict):
            exporters.append(_build(spec["type"], {k: v for k, v in spec.items() if k != "type"}, settings))
        elif callable(getattr(spec, "export", None)):
            exporters.append(spec)
        elif callable(getattr(spec, "write", None)) or callable(getattr(spec, "write_serialized", None)):
            adapter = SinkAdapter(spec, diagnostics=diagnostics, serialize_in_flush=settings.core.serialize_in_flush)
            exporters.append(adapter)
        else:
            raise ValueError(f"not a sink: {spec!r} (give a name, a dict with 'type', or an exporter)")
    return exporters


class SinkAdapter:
    """Runs a fapilog-contract sink (``start/write(entry)/stop``) as an exporter on the worker's loop.

    ``start`` runs before the first write (again before the next batch if it raised); each entry is the
    record's fapilog envelope dict. With ``serialize_in_flush`` (or when the sink has no ``write``), a sink
    with ``write_serialized`` gets each entry as a ``SerializedView`` of its JSON instead, the batch being
    serialized once. A sink method that raises is contained: counted as a failed export and reported on the
    diagnostics channel.
    """

    def __init__(self, sink: Any, *, diagnostics: Diagnostics | None = None, serialize_in_flush: bool = True) -> None:
        self.sink = sink
        self._started = False
        self._diagnostics = diagnostics or Diagnostics()
        has_serialized = callable(getattr(sink, "write_serialized", None))
        self._serialized = has_serialized and (serialize_in_flush or not callable(getattr(sink, "write", None)))

    @property
    def name(self) -> str:
        return str(getattr(self.sink, "name", type(self.sink).__name__))

    async def _call(self, method: str, *args: Any) -> Any:
        func = getattr(self.sink, method, None)
        if func is None:
            return None
        result = func(*args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if not self._started:
            try:
                await self._call("start")
            except Exception as exc:
                self._diagnostics.warn("sink", "sink start raised", sink=self.name, error=exc)
                return LogRecordExportResult.FAILURE
            self._started = True
        failed = 0
        if self._serialized:
            for view in _views(batch):
                try:
                    await self._call("write_serialized", view)
                except Exception as exc:
                    failed += 1
                    self._diagnostics.warn("sink", "sink write_serialized raised", sink=self.name, error=exc)
        else:
            for record in batch:
                try:
                    await self._call("write", envelope(record))
                except Exception as exc:
                    failed += 1
                    self._diagnostics.warn("sink", "sink write raised", sink=self.name, error=exc)
        return LogRecordExportResult.FAILURE if failed else LogRecordExportResult.SUCCESS

    async def health_check(self) -> bool:
        """The sink's own ``health_check()`` (``True`` if it has none); ``False`` if it raises."""
        if getattr(self.sink, "health_check", None) is None:
            return True
        try:
            return bool(await self._call("health_check"))
        except Exception as exc:
            self._diagnostics.warn("sink", "sink health_check raised", sink=self.name, error=exc)
            return False

    async def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            await self._call("flush")
        except Exception as exc:
            self._diagnostics.warn("sink", "sink flush raised", sink=self.name, error=exc)
        return True

    async def shutdown(self) -> None:
        if self._started:
            self._started = False
            try:
                await self._call("stop")
            except Exception as exc:
                self._diagnostics.warn("sink", "sink stop raised", sink=self.name, error=exc)


def _views(batch: Sequence[ReadableLogRecord]) -> list[SerializedView]:
    """Each record's envelope as JSON: one serialization of the batch, viewed a line at a time."""
    raw = envelope_lines(batch)
    data = memoryview(raw)
    views: list[SerializedView] = []
    start = 0
    end = raw.find(b"\n")  # JSON lines hold no raw newline but the one that ends each
    while end >= 0:
        views.append(SerializedView(data[start:end]))
        start = end + 1
        end = raw.find(b"\n", start)
    return views


def _spool(settings: Settings, options: dict[str, Any]) -> Any:
    """``{"type": "spool", "sink": <a sink spec>, "directory": ..., <spool settings>}``: the sink behind a
    disk spool of its own (settings from ``FAPILOG_SPOOL__*``, overridden by the options)."""
    options = dict(options)
    inner = options.pop("sink", None)
    if inner is None:
        raise ValueError('a "spool" sink needs "sink": the sink it spools for (a name or a dict)')
    exporter = build_exporters([inner], console="stdout_json", diagnostics=Diagnostics(), settings=settings)[0]
    factory = _load("fapilog.exporters.spool", "spool_exporter")
    return factory(settings.spool, exporter, name=spec_name(inner), **options)
