"""``opentelemetry-instrument`` runs fapilog: a distro and a configurator.

With fapilog installed, ``opentelemetry-instrument python app.py`` (``OTEL_PYTHON_DISTRO=fapilog`` and
``OTEL_PYTHON_CONFIGURATOR=fapilog`` when other distros are installed too) gives every log record of the
process fapilog's pipeline: ``configure()`` builds the process-wide pipeline (settings from ``FAPILOG_*``),
its ``LoggerProvider`` becomes OpenTelemetry's global one, the stdlib bridge goes on the root logger, and
the exporters named by ``OTEL_LOGS_EXPORTER`` become its sinks.

``OTEL_LOGS_EXPORTER`` (comma-separated) names entries of the ``opentelemetry_logs_exporter`` entry-point
group, fapilog's (``fapilog_stdout``, ``fapilog_file``, ``fapilog_otlp``, ``fapilog_loki``...) and anyone
else's; each is built without arguments (it configures itself from the environment) and runs inside
fapilog's pipeline, after its processors. ``otlp`` means fapilog's OTLP exporter (protocol from
``OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL``). Unset: the sinks of fapilog's settings (stdout JSON by default).
``none``: logs are left alone (no pipeline, no bridge).

Traces and metrics are set up as OpenTelemetry's own configurator does (``OTEL_TRACES_EXPORTER``,
``OTEL_METRICS_EXPORTER``, sampler, id generator), with the pipeline's resource, unless the application
already set providers: so spans are real and every record carries its trace and span ids.

``FapilogConfigurator`` derives from ``opentelemetry.sdk._configuration._BaseConfigurator`` and reuses that
module's helpers for traces and metrics. That module is private upstream: this file is the only place fapilog
touches it (the SDK version is pinned in pyproject.toml).
"""

from __future__ import annotations

import logging
import os
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import _logs as otel_logs
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]  # mypy misreads this module
from opentelemetry.sdk import _configuration as sdk_config
from opentelemetry.sdk.resources import Resource

from fapilog._api import configure
from fapilog._pipeline import Pipeline
from fapilog.instrumentation import _logging_config
from fapilog.instrumentation.logging import install

__all__ = ["FapilogConfigurator", "FapilogDistro", "configure_from_environment", "logs_exporters_from_environment"]

GROUP = "opentelemetry_logs_exporter"
# fapilog's own exporters, used when the installed metadata does not list them (a source checkout).
_OWN = {
    "fapilog_stdout": "fapilog.exporters.stdout:StdoutJsonExporter",
    "fapilog_stdout_pretty": "fapilog.exporters.stdout:StdoutPrettyExporter",
    "fapilog_file": "fapilog.exporters.file:EnvRotatingFileExporter",
    "fapilog_otlp": "fapilog.exporters.otlp:EnvOtlpExporter",
    "otlp": "fapilog.exporters.otlp:EnvOtlpExporter",
}


def _exporter_class(name: str) -> Any:
    if name != "otlp":
        found = entry_points(group=GROUP, name=name)
        for entry_point in found:
            return entry_point.load()
    target = _OWN.get(name)
    if target is None:
        known = sorted({ep.name for ep in entry_points(group=GROUP)} | set(_OWN))
        raise RuntimeError(
            f"OTEL_LOGS_EXPORTER names {name!r}, which is not a logs exporter; known: {', '.join(known)}"
        )
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def logs_exporters_from_environment() -> list[Any] | None:
    """The exporters ``OTEL_LOGS_EXPORTER`` names, built; ``None`` when it is unset, ``[]`` for ``none``."""
    value = os.environ.get("OTEL_LOGS_EXPORTER", "").strip()
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if [n.lower() for n in names] == ["none"]:
        return []
    return [_exporter_class(name)() for name in names]


def configure_from_environment(*, auto_instrumentation_version: str | None = None) -> Pipeline | None:
    """What ``opentelemetry-instrument`` runs with fapilog's configurator; callable from code too.

    Returns the process-wide pipeline, or ``None`` when ``OTEL_LOGS_EXPORTER=none``.
    """
    exporters = logs_exporters_from_environment()
    pipeline: Pipeline | None = None
    resource = Resource.create({})
    if exporters != []:
        pipeline = configure(sinks=exporters, set_otel_provider=_is_proxy(otel_logs.get_logger_provider()))
        resource = pipeline.provider.resource
        root = logging.getLogger()
        if root.level == logging.WARNING and pipeline.level.priority < logging.WARNING:
            root.setLevel(pipeline.level.priority)  # the stdlib default would hide INFO before fapilog sees it
        _logging_config.keep_attached(install())
    if auto_instrumentation_version:
        resource = resource.merge(Resource({"telemetry.auto.version": auto_instrumentation_version}))
    _init_traces_and_metrics(resource)
    return pipeline


def _is_proxy(provider: object) -> bool:
    """Whether a global provider is still OpenTelemetry's placeholder (nobody has set one)."""
    return type(provider).__name__.lstrip("_") in ("ProxyTracerProvider", "ProxyLoggerProvider", "ProxyMeterProvider")


def _init_traces_and_metrics(resource: Resource) -> None:
    """Tracer and meter providers as OpenTelemetry's configurator makes them, unless already set."""
    traces_unset = _is_proxy(trace.get_tracer_provider())
    metrics_unset = _is_proxy(metrics.get_meter_provider())
    span_exporters, metric_exporters, _ = sdk_config._import_exporters(
        sdk_config._get_exporter_names("traces") if traces_unset else [],
        sdk_config._get_exporter_names("metrics") if metrics_unset else [],
        [],
    )
    if traces_unset:
        sdk_config._init_tracing(
            exporters=span_exporters,
            id_generator=sdk_config._import_id_generator(sdk_config._get_id_generator()),
            sampler=sdk_config._import_sampler(sdk_config._get_sampler()),
            resource=resource,
        )
    if metrics_unset and metric_exporters:
        sdk_config._init_metrics(exporters_or_readers=metric_exporters, resource=resource)


class FapilogConfigurator(sdk_config._BaseConfigurator):
    """The ``opentelemetry_configurator`` entry point ``fapilog``: ``configure_from_environment()``."""

    def _configure(self, **kwargs: Any) -> None:
        configure_from_environment(auto_instrumentation_version=kwargs.get("auto_instrumentation_version"))


class FapilogDistro(BaseDistro):  # type: ignore[misc]
    """The ``opentelemetry_distro`` entry point ``fapilog``.

    Choosing this distro chooses fapilog's configurator too (``OTEL_PYTHON_CONFIGURATOR`` defaults to
    ``fapilog``; set it to use another). Instrumentors load as OpenTelemetry's default distro loads them.
    """

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault("OTEL_PYTHON_CONFIGURATOR", "fapilog")
