"""Enrichers: stages that add who and where to each record.

``RuntimeInfoEnricher`` and ``KubernetesEnricher`` add OpenTelemetry resource attributes (the process and its
pod); ``ContextVarsEnricher`` adds the bound context (``request_id``, ``user_id``, ``tenant_id`` and
anything bound) as attributes. In fapilog's pipeline the context was captured on the calling thread at call
time; used alone in an SDK pipeline, the enricher reads the context of the thread calling ``on_emit``, which
for the SDK's processors is the caller's.
"""

from __future__ import annotations

import os
import platform
import socket
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

from fapilog._coerce import coerce_attributes, needs_coercion
from fapilog._context import current_context
from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord, Resource
from fapilog.processors._base import Keep, ScreenedStage, Stage

__all__ = ["ContextVarsEnricher", "KubernetesEnricher", "RuntimeInfoEnricher"]


class _ResourceEnricher(Stage):
    """Merges a fixed set of resource attributes into each record's resource (one merge per resource)."""

    __slots__ = ("_attributes", "_last_in", "_last_out")

    def __init__(self, attributes: Mapping[str, Any], *, next: LogRecordProcessor | None = None) -> None:
        super().__init__(next=next)
        self._attributes = Resource(dict(attributes))
        self._last_in: Resource | None = None
        self._last_out = self._attributes

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self._attributes.attributes)

    def process(self, record: ReadWriteLogRecord) -> bool:
        current = record.resource
        if current is not self._last_in:
            # The record's own resource wins where both set an attribute (e.g. a service.name given by the app).
            merged = self._attributes.merge(current) if current is not None else self._attributes
            self._last_in, self._last_out = current, merged
        record.resource = self._last_out
        return True

    def process_batch(self, records: list[ReadWriteLogRecord], process: Keep) -> list[ReadWriteLogRecord]:
        """The batch's records, mostly of one resource, merged once."""
        kept = []
        last_in, last_out = self._last_in, self._last_out
        for record in records:
            if record.resource is last_in:
                record.resource = last_out
                kept.append(record)
            elif process(record):
                kept.append(record)
                last_in, last_out = self._last_in, self._last_out
        return kept


class RuntimeInfoEnricher(_ResourceEnricher):
    """``host.name``, ``process.pid``, ``process.runtime.name`` and ``process.runtime.version`` (the pid is
    read again in a forked child)."""

    name: ClassVar[str] = "runtime_info"
    __slots__ = ()

    def __init__(self, *, next: LogRecordProcessor | None = None) -> None:
        super().__init__(runtime_attributes(), next=next)
        _runtime_enrichers.add(self)

    def _after_fork(self) -> None:
        self._attributes = Resource(runtime_attributes())
        self._last_in, self._last_out = None, self._attributes


_runtime_enrichers: weakref.WeakSet[RuntimeInfoEnricher] = weakref.WeakSet()


def _refresh_after_fork() -> None:
    for enricher in list(_runtime_enrichers):
        enricher._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_refresh_after_fork)


def runtime_attributes() -> dict[str, Any]:
    """The runtime resource attributes of this process (read anew after a fork)."""
    return {
        "host.name": socket.gethostname(),
        "process.pid": os.getpid(),
        "process.runtime.name": platform.python_implementation().lower(),
        "process.runtime.version": platform.python_version(),
    }


# Downward-API variables a pod spec usually exposes, and the resource attribute each one becomes.
_K8S_VARIABLES = {
    "k8s.pod.name": ("POD_NAME", "K8S_POD_NAME", "HOSTNAME"),
    "k8s.namespace.name": ("POD_NAMESPACE", "K8S_NAMESPACE", "NAMESPACE"),
    "k8s.node.name": ("NODE_NAME", "K8S_NODE_NAME"),
    "k8s.pod.uid": ("POD_UID", "K8S_POD_UID"),
    "k8s.container.name": ("CONTAINER_NAME", "K8S_CONTAINER_NAME"),
}


class KubernetesEnricher(_ResourceEnricher):
    """``k8s.pod.name``, ``k8s.namespace.name``, ``k8s.node.name`` (and pod uid, container name) from the
    downward API environment variables (``POD_NAME``, ``POD_NAMESPACE``, ``NODE_NAME``, ...). Outside a pod
    (no ``KUBERNETES_SERVICE_HOST``) ``HOSTNAME`` is not taken for the pod name."""

    name: ClassVar[str] = "kubernetes"
    __slots__ = ()

    def __init__(self, *, environ: Mapping[str, str] | None = None, next: LogRecordProcessor | None = None) -> None:
        super().__init__(kubernetes_attributes(os.environ if environ is None else environ), next=next)


def kubernetes_attributes(environ: Mapping[str, str]) -> dict[str, str]:
    in_pod = bool(environ.get("KUBERNETES_SERVICE_HOST"))
    found: dict[str, str] = {}
    for attribute, names in _K8S_VARIABLES.items():
        for name in names:
            if name == "HOSTNAME" and not in_pod:
                continue
            value = environ.get(name)
            if value:
                found[attribute] = value
                break
    return found


class ContextVarsEnricher(ScreenedStage):
    """Adds the bound context (and ``defaults``) to the attributes; fields given in the call win."""

    name: ClassVar[str] = "context_vars"
    __slots__ = ("_defaults",)

    def __init__(self, *, defaults: Mapping[str, Any] | None = None, next: LogRecordProcessor | None = None) -> None:
        super().__init__(next=next)
        self._defaults = dict(defaults or {})

    def process(self, record: ReadWriteLogRecord) -> bool:
        # fapilog's records carry the context captured at call time; others are read on the calling thread.
        context = record.context if hasattr(record, "context") else current_context()
        if self._defaults:
            context = {**self._defaults, **(context or {})}
        if not context:
            return True
        if hasattr(record, "context"):
            record.context = context  # the envelope shows these keys under "context"
        lr = record.log_record
        merged = {**context, **(lr.attributes or {})}
        lr.attributes = coerce_attributes(merged) if needs_coercion(merged) else merged
        return True

    def _nothing_to_do(self, record: ReadWriteLogRecord) -> bool:
        """A record captured with nothing bound, when there are no defaults either."""
        return not self._defaults and not getattr(record, "context", True)
