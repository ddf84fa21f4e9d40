"""Enrichers: runtime and Kubernetes resource attributes, bound context; alone and in fapilog's pipeline."""

from __future__ import annotations

import os

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from fapilog import Settings, get_logger
from fapilog._context import bind_context, clear_context
from fapilog.processors import ContextVarsEnricher, KubernetesEnricher, RuntimeInfoEnricher
from fapilog.testing import CaptureExporter


def sdk_pipeline(*stages: object) -> tuple[LoggerProvider, InMemoryLogRecordExporter]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    for stage in stages:
        provider.add_log_record_processor(stage)  # type: ignore[arg-type]
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, exporter


def test_runtime_info_alone_adds_process_resource_attributes() -> None:
    """In a plain SDK pipeline, runtime_info adds host, pid and runtime to the record's resource."""
    provider, exporter = sdk_pipeline(RuntimeInfoEnricher())
    provider.get_logger("t").emit(severity_number=SeverityNumber.INFO, body="x")
    attrs = exporter.get_finished_logs()[0].resource.attributes
    assert attrs["process.pid"] == os.getpid()
    assert attrs["process.runtime.name"] == "cpython"
    assert "host.name" in attrs


def test_context_vars_alone_reads_the_callers_context() -> None:
    """In a plain SDK pipeline, context_vars adds what is bound on the emitting thread; call attributes win."""
    provider, exporter = sdk_pipeline(ContextVarsEnricher(defaults={"region": "eu"}))
    bind_context(request_id="r-1", user_id="u-1")
    try:
        provider.get_logger("t").emit(severity_number=SeverityNumber.INFO, body="x", attributes={"user_id": "call"})
    finally:
        clear_context()
    attrs = dict(exporter.get_finished_logs()[0].log_record.attributes or {})
    assert attrs == {"region": "eu", "request_id": "r-1", "user_id": "call"}


def test_kubernetes_reads_the_downward_api_variables() -> None:
    """kubernetes maps POD_NAME/POD_NAMESPACE/NODE_NAME to k8s.* resource attributes; HOSTNAME only in a pod."""
    outside = KubernetesEnricher(environ={"HOSTNAME": "laptop", "POD_NAMESPACE": "shop"}).attributes
    assert outside == {"k8s.namespace.name": "shop"}
    inside = KubernetesEnricher(
        environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOSTNAME": "api-7f9", "NODE_NAME": "node-3"}
    ).attributes
    assert inside == {"k8s.pod.name": "api-7f9", "k8s.node.name": "node-3"}
    provider, exporter = sdk_pipeline(KubernetesEnricher(environ={"POD_NAME": "p", "POD_NAMESPACE": "n"}))
    provider.get_logger("t").emit(severity_number=SeverityNumber.INFO, body="x")
    attrs = exporter.get_finished_logs()[0].resource.attributes
    assert (attrs["k8s.pod.name"], attrs["k8s.namespace.name"]) == ("p", "n")


def test_enrichers_from_settings_and_toggled_at_runtime() -> None:
    """core.enrichers picks the enrichers; disable_enricher / enable_enricher change them while running."""
    exporter = CaptureExporter()
    logger = get_logger("enr", settings=Settings(core={"enrichers": ["context_vars"]}), sinks=[exporter])
    logger.bind(request_id="r-9")
    logger.info("without runtime info")
    logger.flush()
    logger.enable_enricher(RuntimeInfoEnricher())
    logger.info("with runtime info")
    logger.flush()
    logger.disable_enricher("context_vars")
    logger.info("without context")
    logger.drain()
    logger.clear_context()
    first, second, third = exporter.envelopes()
    assert "pid" not in first["log"]["diagnostics"]
    assert first["log"]["context"] == {"request_id": "r-9"}
    assert second["log"]["diagnostics"]["pid"] == os.getpid()
    assert third["log"]["context"] == {}


def test_kubernetes_enricher_by_name(monkeypatch: object) -> None:
    """core.enrichers=["kubernetes"] adds the pod's attributes to every record."""
    os.environ["POD_NAME"] = "api-1"
    try:
        exporter = CaptureExporter()
        logger = get_logger("k8s", settings=Settings(core={"enrichers": ["kubernetes"]}), sinks=[exporter])
        logger.info("x")
        logger.drain()
    finally:
        del os.environ["POD_NAME"]
    assert exporter.envelopes()[0]["log"]["diagnostics"]["resource"]["k8s.pod.name"] == "api-1"
