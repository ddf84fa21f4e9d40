"""The OpenTelemetry resource of a pipeline: who is logging, from settings and the standard OTEL_* variables.

Host, process and pod attributes come from the ``runtime_info`` and ``kubernetes`` enrichers.
"""

from __future__ import annotations

from fapilog._otel import Resource
from fapilog._settings import Settings

__all__ = ["build_resource"]


def build_resource(settings: Settings) -> Resource:
    """service.name/version and deployment.environment.name from ``FAPILOG_SERVICE``/``_VERSION``/``_ENV``
    (falling back to ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``)."""
    attrs: dict[str, str] = {}
    if settings.service:
        attrs["service.name"] = settings.service
    if settings.version:
        attrs["service.version"] = settings.version
    if settings.env:
        attrs["deployment.environment.name"] = settings.env
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under these attributes.
    return Resource.create(attrs)
