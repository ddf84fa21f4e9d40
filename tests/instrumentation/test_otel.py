"""opentelemetry-instrument runs fapilog: the distro picks the configurator, which wires the whole pipeline."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry import _logs as otel_logs
from opentelemetry import trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]  # mypy misreads this module
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.util._once import Once

from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog.exporters.otlp import EnvOtlpExporter
from fapilog.exporters.stdout import StdoutJsonExporter
from fapilog.instrumentation import _logging_config
from fapilog.instrumentation import logging as bridge
from fapilog.instrumentation.otel import (
    FapilogConfigurator,
    FapilogDistro,
    configure_from_environment,
    logs_exporters_from_environment,
)
from tests.exporters.test_otlp import http_receiver  # noqa: F401 - the receiver fixture

ROOT = Path(__file__).resolve().parents[2]


class MemoryExporter(LogRecordExporter):
    """A no-argument logs exporter found through a real ``opentelemetry_logs_exporter`` entry point."""

    instances: ClassVar[list[MemoryExporter]] = []

    def __init__(self) -> None:
        self.records: list[ReadableLogRecord] = []
        MemoryExporter.instances.append(self)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.records.extend(batch)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def _reset_otel_globals() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None


@pytest.fixture(autouse=True)
def _clean_globals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """OpenTelemetry's global providers, the root logger and the logging config functions restored; a
    distribution declaring ``memory_test`` in the ``opentelemetry_logs_exporter`` group on sys.path."""
    dist = tmp_path / "site" / "fapilog_test_exporters-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fapilog-test-exporters\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[opentelemetry_logs_exporter]\nmemory_test = {__name__}:MemoryExporter\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.WARNING)
    MemoryExporter.instances.clear()
    _reset_otel_globals()
    yield
    bridge.uninstall()
    _logging_config.restore()
    root.setLevel(level)
    root.handlers[:] = handlers
    _reset_otel_globals()


def test_distro_is_a_distro_and_selects_fapilogs_configurator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing the fapilog distro makes OTEL_PYTHON_CONFIGURATOR default to fapilog (an explicit one stays)."""
    monkeypatch.delenv("OTEL_PYTHON_CONFIGURATOR", raising=False)
    distro = FapilogDistro()
    assert isinstance(distro, BaseDistro)
    distro.configure()
    assert os.environ["OTEL_PYTHON_CONFIGURATOR"] == "fapilog"
    monkeypatch.setenv("OTEL_PYTHON_CONFIGURATOR", "other")
    distro.configure()
    assert os.environ["OTEL_PYTHON_CONFIGURATOR"] == "other"


def test_configurator_routes_stdlib_and_otel_api_records_through_fapilog(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_LOGS_EXPORTER names an entry point; stdlib and OTel API records reach it through fapilog's
    processors (URL credentials masked), with trace ids from the tracer provider the configurator set."""
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "memory_test")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop")
    FapilogConfigurator().configure(auto_instrumentation_version="0.66b2")
    [exporter] = MemoryExporter.instances
    assert bridge.installed_handler() in logging.getLogger().handlers
    with trace.get_tracer("app").start_as_current_span("checkout") as span:
        logging.getLogger("shop.orders").info("paid via %s", "https://u:pw@pay.example.com")
        otel_logs.get_logger("shop.api").emit(body="from the OTel API")
    from fapilog._api import _default_pipeline

    _default_pipeline().flush()
    bodies = {r.instrumentation_scope.name: r for r in exporter.records if r.instrumentation_scope}
    stdlib, api = bodies["shop.orders"], bodies["shop.api"]
    assert stdlib.log_record.body == "paid via https://u:***@pay.example.com"
    assert api.log_record.body == "from the OTel API"
    trace_id = span.get_span_context().trace_id
    assert trace_id != 0
    assert stdlib.log_record.trace_id == trace_id
    assert api.log_record.trace_id == trace_id
    assert stdlib.resource is not None
    assert stdlib.resource.attributes["service.name"] == "shop"
    tracer_resource = trace.get_tracer_provider().resource  # type: ignore[attr-defined]
    assert tracer_resource.attributes["telemetry.auto.version"] == "0.66b2"


def test_exporter_names_resolve_to_fapilog_exporters(monkeypatch: pytest.MonkeyPatch) -> None:
    """fapilog_stdout, otlp and fapilog_otlp build fapilog's no-argument exporters; unset means settings decide."""
    assert logs_exporters_from_environment() is None
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "fapilog_stdout, otlp,fapilog_otlp")
    stdout, otlp, fapilog_otlp = logs_exporters_from_environment() or []
    assert isinstance(stdout, StdoutJsonExporter)
    assert isinstance(otlp, EnvOtlpExporter)
    assert isinstance(fapilog_otlp, EnvOtlpExporter)
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    assert logs_exporters_from_environment() == []


def test_unknown_exporter_name_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OTEL_LOGS_EXPORTER name nobody provides fails with the name and the known ones."""
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "fapilog_nope")
    with pytest.raises(RuntimeError, match=r"'fapilog_nope'.*fapilog_stdout"):
        logs_exporters_from_environment()


def test_none_leaves_logging_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_LOGS_EXPORTER=none sets up no pipeline and no bridge (traces still are)."""
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    assert configure_from_environment() is None
    assert bridge.installed_handler() is None
    assert not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_application_logging_config_keeps_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    """basicConfig and dictConfig after the configurator apply as written, and the bridge stays on root."""
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "memory_test")
    root = logging.getLogger()
    root.handlers[:] = []  # as in an application at start-up (pytest's capture handlers are restored after)
    configure_from_environment()
    handler = bridge.installed_handler()
    assert root.level == logging.INFO  # fapilog's level, not the stdlib's WARNING default
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    assert root.level == logging.DEBUG
    assert handler in root.handlers
    assert any(type(h) is logging.StreamHandler for h in root.handlers)
    logging.config.dictConfig({"version": 1, "root": {"level": "ERROR", "handlers": []}})
    assert root.level == logging.ERROR
    assert handler in root.handlers


def _fapilog_distro_installed() -> bool:
    return any(ep.name == "fapilog" for ep in entry_points(group="opentelemetry_distro"))


_INSTRUMENT = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))


def _instrumented(app: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python app`` with fapilog's distro and configurator (service "shop") and
    ``env``, in the app's folder, with no FAPILOG_/OTEL_ variables of ours; it must exit 0."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    full.update(OTEL_PYTHON_DISTRO="fapilog", OTEL_PYTHON_CONFIGURATOR="fapilog", OTEL_SERVICE_NAME="shop", **env)
    result = subprocess.run(
        [str(_INSTRUMENT), sys.executable, str(app)],
        cwd=app.parent,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.skipif(
    not _fapilog_distro_installed() or _INSTRUMENT is None,
    reason="the 'fapilog' opentelemetry_distro entry point is not installed yet (pyproject.toml wiring pending)",
)
def test_opentelemetry_instrument_runs_a_logging_only_app(tmp_path: Path) -> None:
    """`opentelemetry-instrument python app.py` turns an app's stdlib records into trace-correlated fapilog JSON."""
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import logging
            from opentelemetry import trace

            logging.basicConfig(level=logging.INFO)
            log = logging.getLogger("shop.orders")
            with trace.get_tracer("app").start_as_current_span("checkout") as span:
                log.info("order %s placed", "A-1", extra={"callback": "https://bob:hunter2@hooks.example.com"})
                with open("trace_id.txt", "w") as out:
                    out.write(format(span.get_span_context().trace_id, "032x"))
            log.warning("after the span")
            """
        )
    )
    result = _instrumented(app, OTEL_LOGS_EXPORTER="fapilog_stdout")
    trace_id = (tmp_path / "trace_id.txt").read_text()
    records = [json.loads(line)["log"] for line in result.stdout.splitlines()]
    by_message = {r["message"]: r for r in records}
    placed = by_message["order A-1 placed"]
    assert placed["logger"] == "shop.orders"
    assert placed["level"] == "INFO"
    assert placed["context"]["trace_id"] == trace_id
    assert placed["diagnostics"]["service"] == "shop"
    assert "hunter2" not in json.dumps(placed)
    assert "trace_id" not in by_message["after the span"]["context"]
    assert "order A-1 placed" in result.stderr  # the app's own basicConfig handler still works


@pytest.mark.skipif(
    not _fapilog_distro_installed() or _INSTRUMENT is None,
    reason="the 'fapilog' opentelemetry_distro entry point is not installed",
)
def test_opentelemetry_instrument_sends_a_logging_only_app_to_an_otlp_collector(
    tmp_path: Path,
    http_receiver: tuple[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    """With OTEL_LOGS_EXPORTER=fapilog_otlp the same app's records reach a collector: redacted, trace-correlated."""
    endpoint, received = http_receiver
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import logging
            from opentelemetry import trace

            log = logging.getLogger("shop.orders")
            with trace.get_tracer("app").start_as_current_span("checkout") as span:
                log.warning("payment retried", extra={"callback": "https://bob:hunter2@hooks.example.com"})
                with open("trace_id.txt", "w") as out:
                    out.write(format(span.get_span_context().trace_id, "032x"))
            """
        )
    )
    _instrumented(
        app,
        OTEL_LOGS_EXPORTER="fapilog_otlp",
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=f"{endpoint}/v1/logs",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
    )
    trace_id = (tmp_path / "trace_id.txt").read_text()
    ours = [(resource, scope, record) for resource, scope, record in received.records() if scope == "shop.orders"]
    ((resource, _scope, record),) = ours
    assert resource["service.name"] == "shop"
    assert record.body.string_value == "payment retried"
    assert record.trace_id.hex() == trace_id
    attributes = {kv.key: kv.value.string_value for kv in record.attributes}
    assert attributes["callback"] == "https://bob:***@hooks.example.com"
