"""``LoggerBuilder`` / ``AsyncLoggerBuilder``: the fluent way to configure a logger.

Each method checks its arguments when it is called (a bad one raises ``ValueError`` naming it) and records a
setting; ``build()`` makes the same ``Settings`` you could have written by hand (``to_settings()`` shows
them). Explicit builder choices win over environment variables, which win over the chosen preset.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any, Literal, Self, TypeVar

from fapilog._api import get_async_logger, get_cached_loggers, get_logger
from fapilog._facade import AsyncLoggerFacade, SyncLoggerFacade
from fapilog._levels import level_for
from fapilog._presets import describe_preset
from fapilog._settings import Settings, preset_defaults
from fapilog._units import parse_duration, parse_size

__all__ = ["AsyncLoggerBuilder", "LoggerBuilder"]

Policy = Literal["drop_newest", "drop_oldest", "block"]
F = TypeVar("F", SyncLoggerFacade, AsyncLoggerFacade)


class _Builder:
    def __init__(self, name: str | None = None) -> None:
        self._name = name
        self._preset: str | None = None
        self._values: dict[str, Any] = {"core": {}}
        self._sinks: list[Any] = []
        self._redactors: list[str] = []  # added to whatever redactors the preset/environment/defaults run
        self._reuse = False

    # what and where --------------------------------------------------------------------------------------

    def with_name(self, name: str) -> Self:
        """The logger's name (its OpenTelemetry instrumentation scope)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"with_name: a non-empty string is needed, got {name!r}")
        self._name = name
        return self

    def with_preset(self, preset: str) -> Self:
        """Start from a preset (``dev``, ``production``, ``fastapi``, ``serverless``, ``hardened``, ``minimal``)."""
        describe_preset(preset)
        self._preset = preset
        return self

    def with_level(self, level: str | int) -> Self:
        """The lowest level logged."""
        self._core("log_level", level_for(level).name)
        return self

    def add_stdout(self, format: Literal["json", "pretty", "auto"] = "json") -> Self:
        """Write to stdout: JSON lines, pretty lines, or ``auto`` (pretty on a terminal)."""
        if format not in ("json", "pretty", "auto"):
            raise ValueError(f"add_stdout: format must be 'json', 'pretty' or 'auto', got {format!r}")
        if format == "auto":
            from fapilog.exporters.stdout import stream_is_tty

            format = "pretty" if stream_is_tty() else "json"
        self._sinks.append(f"stdout_{format}")
        return self

    def add_stdout_pretty(self) -> Self:
        """Write pretty, human-readable lines to stdout."""
        return self.add_stdout("pretty")

    def add_file(self, directory: str | os.PathLike[str], **options: Any) -> Self:
        """Write to rotating files in ``directory``: any ``FileSettings`` field as an option (``max_bytes="100 MB"``,
        ``max_files=10``, ``interval_seconds="daily"``, ``compress_rotated=True``, ``mode="text"``...)."""
        from pydantic import ValidationError

        from fapilog.exporters.file import FileSettings

        spec = {"directory": str(directory), **options}
        try:
            FileSettings(**spec)
        except ValidationError as exc:
            raise ValueError(f"add_file: {exc}") from None
        self._sinks.append({"type": "rotating_file", **spec})
        return self

    def add_cloudwatch(
        self, log_group_name: str = "/fapilog/default", *, region: str | None = None, **options: Any
    ) -> Self:
        """Send to AWS CloudWatch Logs: any ``CloudWatchSettings`` field as an option (``log_stream_name``,
        ``batch_size``, ``endpoint_url``, ``max_retries``...); credentials come from the standard boto3 chain."""
        return self._add_network(
            "cloudwatch", "CloudWatchSettings", log_group_name=log_group_name, region=region, **options
        )

    def add_loki(self, url: str = "http://localhost:3100", **options: Any) -> Self:
        """Send to Grafana Loki: any ``LokiSettings`` field as an option (``labels``, ``tenant_id``...)."""
        return self._add_network("loki", "LokiSettings", url=url, **options)

    def add_http(self, endpoint: str, **options: Any) -> Self:
        """POST batches to an HTTP endpoint: any ``HttpSettings`` field as an option (``batch_format``...)."""
        return self._add_network("http", "HttpSettings", endpoint=endpoint, **options)

    def add_webhook(self, endpoint: str, *, secret: str | None = None, **options: Any) -> Self:
        """POST signed batches to a webhook: any ``WebhookSettings`` field as an option."""
        return self._add_network("webhook", "WebhookSettings", endpoint=endpoint, secret=secret, **options)

    def add_postgres(self, dsn: str | None = None, **options: Any) -> Self:
        """Insert into PostgreSQL: any ``PostgresSettings`` field as an option (``table_name``, ``host``...)."""
        return self._add_network("postgres", "PostgresSettings", dsn=dsn, **options)

    def with_circuit_breaker(self, enabled: bool = True, *, threshold: int | None = None) -> Self:
        """Circuit breakers of the network exporters (Loki, CloudWatch, PostgreSQL): on or off, and how many
        consecutive failures open one."""
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1):
            raise ValueError(f"with_circuit_breaker: threshold must be a positive int, got {threshold!r}")
        for section in ("loki", "cloudwatch", "postgres"):
            values = self._values.setdefault(section, {})
            values["circuit_breaker_enabled"] = bool(enabled)
            if threshold is not None:
                values["circuit_breaker_threshold"] = threshold
        return self

    def _add_network(self, kind: str, model: str, **options: Any) -> Self:
        """Check ``options`` against the exporter's settings model now, then add the sink spec."""
        import importlib

        from pydantic import ValidationError

        spec = {k: v for k, v in options.items() if v is not None}
        module = importlib.import_module(f"fapilog.exporters.{'http' if kind == 'webhook' else kind}")
        try:
            getattr(module, model)(**spec)
        except ValidationError as exc:
            raise ValueError(f"add_{kind}: {exc}") from None
        self._sinks.append({"type": kind, **spec})
        return self

    def add_sink(self, sink: Any) -> Self:
        """Add any exporter, seed-contract sink object, sink name, or ``{"type": ...}`` dict."""
        if not (isinstance(sink, str | dict) or hasattr(sink, "export") or hasattr(sink, "write")):
            raise ValueError(f"add_sink: not a sink: {sink!r}")
        self._sinks.append(sink)
        return self

    # the pipeline ----------------------------------------------------------------------------------------

    def with_queue_size(self, records: int, *, max_bytes: int | str | None = None) -> Self:
        """Bound the queue: records (and, optionally, estimated bytes such as ``"64 MiB"``)."""
        self._core("max_queue_size", _positive_int("with_queue_size", records))
        if max_bytes is not None:
            self._core("max_queue_bytes", _checked("with_queue_size(max_bytes)", parse_size, max_bytes))
        return self

    def with_batch_size(self, records: int) -> Self:
        """Records handed to exporters at once."""
        self._core("batch_max_size", _positive_int("with_batch_size", records))
        return self

    def with_batch_timeout(self, timeout: float | str) -> Self:
        """Longest a record waits for its batch to fill (seconds, or ``"250ms"``); 0 = at once."""
        self._core("batch_timeout_seconds", _checked("with_batch_timeout", parse_duration, timeout))
        return self

    def with_backpressure(
        self, policy: Policy | None = None, *, wait_ms: int | None = None, drop_on_full: bool | None = None
    ) -> Self:
        """What happens when the queue is full: ``drop_newest``, ``drop_oldest`` or ``block`` (up to ``wait_ms``)."""
        if policy is not None:
            if policy not in ("drop_newest", "drop_oldest", "block"):
                raise ValueError(f"with_backpressure: unknown policy {policy!r}")
            self._core("backpressure_policy", policy)
        if wait_ms is not None:
            if isinstance(wait_ms, bool) or not isinstance(wait_ms, int) or wait_ms < 0:
                raise ValueError(f"with_backpressure: wait_ms must be an int >= 0, got {wait_ms!r}")
            self._core("backpressure_wait_ms", wait_ms)
        if drop_on_full is not None:
            self._core("drop_on_full", bool(drop_on_full))
        return self

    def with_shutdown_timeout(self, seconds: float | str) -> Self:
        """Deadline for draining (``drain()``, ``runtime()`` exit and the drain at interpreter exit)."""
        value = _checked("with_shutdown_timeout", parse_duration, seconds)
        if value <= 0:
            raise ValueError(f"with_shutdown_timeout: must be > 0, got {seconds!r}")
        self._core("shutdown_timeout_seconds", value)
        self._core("atexit_drain_timeout_seconds", value)
        return self

    def with_diagnostics(self, enabled: bool = True, *, output: Literal["stderr", "stdout"] = "stderr") -> Self:
        """fapilog's own warnings (export failures, drops) on stderr or stdout."""
        if output not in ("stderr", "stdout"):
            raise ValueError(f"with_diagnostics: output must be 'stderr' or 'stdout', got {output!r}")
        self._core("internal_logging_enabled", bool(enabled))
        self._core("diagnostics_output", output)
        return self

    def with_redaction(
        self,
        *,
        fields: Sequence[str] = (),
        patterns: Sequence[str] = (),
        presets: Sequence[str] = (),
        mask: str | None = None,
    ) -> Self:
        """Mask values of these field names/paths, of these value patterns (regular expressions or built-in
        names like ``credit_card``), and of the named redaction presets (``credentials``, ``pci_dss``,
        ``hipaa_phi``); URL credentials stay masked too."""
        from fapilog.processors._redaction_presets import preset_named

        try:
            known = [preset_named(name).name for name in presets]
        except ValueError as exc:
            raise ValueError(f"with_redaction: {exc}") from None
        config = self._values.setdefault("redactor_config", {})
        wanted = []
        for name, key, items in (("field_mask", "fields", list(fields)), ("regex_mask", "patterns", list(patterns))):
            if not items and not known:
                continue
            section = config.setdefault(name, {})
            if items:
                section[key] = [*section.get(key, []), *items]
            if known:
                section["presets"] = [*section.get("presets", []), *known]
            if mask is not None:
                section["mask"] = mask
            wanted.append(name)
        self._redactors = [*dict.fromkeys([*wanted, *self._redactors])]
        try:  # check now, not at build(): a bad pattern or field name fails here
            from fapilog._stages import build_redactor

            for name in wanted:
                build_redactor(name, config[name])
        except ValueError as exc:
            raise ValueError(f"with_redaction: {exc}") from None
        return self

    def with_context(self, **fields: Any) -> Self:
        """Context every record carries (``service_region="eu"``...); bound context overrides it."""
        self._values["core"].setdefault("default_bound_context", {}).update(fields)
        return self

    def with_service(self, name: str, *, version: str | None = None, environment: str | None = None) -> Self:
        """The service name, version and deployment environment of the OpenTelemetry resource."""
        self._values["service"] = name
        if version is not None:
            self._values["version"] = version
        if environment is not None:
            self._values["env"] = environment
        return self

    def with_enrichers(self, *names: str) -> Self:
        """The enricher stages, by name, in order (``runtime_info``, ``context_vars``, ``kubernetes``, plugins)."""
        self._core("enrichers", _names("with_enrichers", names))
        return self

    def with_filters(self, *names: str) -> Self:
        """Filter stages by name, in order, configured with their defaults (``level``, ``sampling``...)."""
        self._core(
            "filters", [*dict.fromkeys([*self._values["core"].get("filters", []), *_names("with_filters", names)])]
        )
        return self

    def with_sampling(self, rate: float, *, always_keep: str = "ERROR", by_trace: bool = True) -> Self:
        """Keep a fraction ``rate`` of the records (all of those at ``always_keep`` and above, whole traces)."""
        return self._filter("with_sampling", "sampling", rate=rate, always_keep=always_keep, by_trace=by_trace)

    def with_rate_limit(self, rate: float, *, burst: int | None = None, key: str = "logger") -> Self:
        """At most ``rate`` records per second per ``key`` (bursts of ``burst``); what is cut is summarised."""
        options: dict[str, Any] = {"rate": rate, "key": key}
        if burst is not None:
            options["burst"] = burst
        return self._filter("with_rate_limit", "rate_limit", **options)

    def with_routing(
        self,
        rules: Sequence[tuple[Sequence[str], Sequence[str]]],
        *,
        fallback: Sequence[str] = (),
        overlap: bool = True,
    ) -> Self:
        """Route by level: ``[(["ERROR", "CRITICAL"], ["postgres"]), (["INFO"], ["stdout_json"])]``."""
        from pydantic import ValidationError

        from fapilog._settings import SinkRoutingSettings

        routing = {
            "enabled": True,
            "rules": [{"levels": list(levels), "sinks": list(sinks)} for levels, sinks in rules],
            "fallback_sinks": list(fallback),
            "overlap": overlap,
        }
        try:
            SinkRoutingSettings(**routing)
        except (ValidationError, ValueError, TypeError) as exc:
            raise ValueError(f"with_routing: {exc}") from None
        self._values["sink_routing"] = routing
        return self

    def _filter(self, method: str, name: str, **options: Any) -> Self:
        """Add the filter ``name`` with ``options`` (checked now against its ``filter_config`` model)."""
        from pydantic import ValidationError

        from fapilog._stage_settings import FilterConfig

        try:
            FilterConfig(**{name: options})
        except ValidationError as exc:
            raise ValueError(f"{method}: {exc}") from None
        self._values.setdefault("filter_config", {})[name] = options
        return self.with_filters(name)

    def reuse(self, enabled: bool = True) -> Self:
        """Cache the built logger by name, like ``get_logger`` (off by default: each build is new)."""
        self._reuse = bool(enabled)
        return self

    # result ----------------------------------------------------------------------------------------------

    def to_settings(self) -> Settings:
        """The ``Settings`` this builder stands for (builder choices > environment > preset > defaults)."""
        values = copy.deepcopy(self._values)
        if not values["core"]:
            del values["core"]
        specs = [s for s in self._sinks if isinstance(s, str | dict)]
        if specs and len(specs) == len(self._sinks):
            values["sinks"] = specs
        preset = copy.deepcopy(describe_preset(self._preset).values) if self._preset else None
        with preset_defaults(preset):
            settings = Settings(**values)
        if self._redactors:
            settings.core.redactors = [*dict.fromkeys([*self._redactors, *settings.core.redactors])]
        return settings

    def _sink_objects(self) -> list[Any] | None:
        if all(isinstance(s, str | dict) for s in self._sinks):
            return None
        return list(self._sinks)

    def _cached(self, kind: type[F]) -> F | None:
        """With ``reuse``, the logger of this name built before (by a builder or ``get_logger``)."""
        if not self._reuse:
            return None
        found = get_cached_loggers().get(self._name or "root")
        return found if isinstance(found, kind) else None

    def _core(self, key: str, value: Any) -> None:
        self._values["core"][key] = value


class LoggerBuilder(_Builder):
    """Builds a ``SyncLoggerFacade``."""

    def build(self) -> SyncLoggerFacade:
        cached = self._cached(SyncLoggerFacade)
        if cached is not None:
            return cached
        return get_logger(self._name, settings=self.to_settings(), sinks=self._sink_objects(), reuse=self._reuse)


class AsyncLoggerBuilder(_Builder):
    """Builds an ``AsyncLoggerFacade`` (``await builder.build_async()``)."""

    async def build_async(self) -> AsyncLoggerFacade:
        cached = self._cached(AsyncLoggerFacade)
        if cached is not None:
            return cached
        return await get_async_logger(
            self._name, settings=self.to_settings(), sinks=self._sink_objects(), reuse=self._reuse
        )


def _names(method: str, names: Sequence[str]) -> list[str]:
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{method}: stage names must be non-empty strings, got {names!r}")
    return list(names)


def _positive_int(method: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{method}: a positive int is needed, got {value!r}")
    return value


def _checked(method: str, parse: Any, value: Any) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{method}: {exc}") from None
