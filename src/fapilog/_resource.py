"""The OpenTelemetry resource of a pipeline: who is logging, from settings and the standard OTEL_* variables."""

from __future__ import annotations

import os
import platform
import socket

from fapilog._otel import Resource
from fapilog._settings import Settings

__all__ = ["build_resource"]


def build_resource(settings: Settings) -> Resource:
    """service.name/version and deployment.environment.name from ``FAPILOG_SERVICE``/``_VERSION``/``_ENV``
    (falling back to ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``), plus host, pid and runtime."""
    attrs: dict[str, str | int] = {
        "host.name": socket.gethostname(),
        "process.pid": os.getpid(),
        "process.runtime.name": platform.python_implementation().lower(),
        "process.runtime.version": platform.python_version(),
    }
    if settings.service:
        attrs["service.name"] = settings.service
    if settings.version:
        attrs["service.version"] = settings.version
    if settings.env:
        attrs["deployment.environment.name"] = settings.env
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME under these attributes.
    return Resource.create(attrs)


def refresh_pid(resource: Resource) -> Resource:
    """``resource`` with the current process id (after a fork)."""
    return resource.merge(Resource({"process.pid": os.getpid()}))
