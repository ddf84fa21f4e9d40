"""AWS CloudWatch Logs exporter: PutLogEvents through boto3, on the shared delivery mechanism.

Each event's message is the record's fapilog JSON envelope, its timestamp the record's time in
milliseconds. Batches are cut within every PutLogEvents limit on our side (``_cw_batches``): 10,000 events,
1,048,576 bytes counting each message's UTF-8 bytes plus 26, chronological order, a span under 24 hours. A
message over ``max_event_bytes`` (256 KiB - 26) is truncated with a marker, counted and reported (the event
keeps its time, level, message and trace ids, which lead the envelope; Loki does the same).

Answers: success (events CloudWatch refused as too old, too new or expired are counted, reported and
dropped as ``rejected``); throttling (``ThrottlingException``), ``ServiceUnavailableException`` and 5xx
retried with backoff; a missing group or stream is created and the put repeated (``_cw_client``); anything
else is permanent. boto3 runs in a worker thread, never on the event loop. See docs/cloudwatch.md.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from fapilog._diagnostics import Diagnostics
from fapilog._otel import ReadableLogRecord
from fapilog._render import dumps, envelope
from fapilog._safe_repr import UrlSafeRepr
from fapilog.exporters._cw_batches import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES, Event, chunks, fit
from fapilog.exporters._cw_client import (
    BATCH_HEADER,
    ERROR_HEADER,
    CloudWatchSender,
    Rejected,
    default_stream_name,
    make_client,
)
from fapilog.exporters._delivery import Delivery, Outcome, Payload, Reply, network_delivery
from fapilog.exporters._netsettings import validated
from fapilog.exporters._network import NetworkExporter

__all__ = ["CloudWatchExporter", "CloudWatchSettings", "EnvCloudWatchExporter", "cloudwatch_exporter"]

_ENV_PREFIX = "FAPILOG_CLOUDWATCH__"
_THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
_UNAVAILABLE = frozenset({"ServiceUnavailableException", "ServiceUnavailable", "InternalFailure"})
_REFUSED = frozenset({"InvalidParameterException", "ValidationException", "SerializationException"})


class CloudWatchSettings(UrlSafeRepr, BaseModel):
    """The CloudWatch Logs exporter's settings (``FAPILOG_CLOUDWATCH__*``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    log_group_name: str = Field("/fapilog/default", min_length=1, description="CloudWatch log group name.")
    log_stream_name: str | None = Field(
        None, description="CloudWatch log stream name; default <hostname>-<pid> (one stream per process)."
    )
    region: str | None = Field(
        None, description="AWS region; default AWS_REGION, then boto3's own chain (AWS_DEFAULT_REGION, config)."
    )
    create_log_group: bool = Field(True, description="Create the log group if it does not exist.")
    create_log_stream: bool = Field(True, description="Create the log stream if it does not exist.")
    batch_size: int = Field(100, ge=1, le=MAX_BATCH_EVENTS, description="Events per PutLogEvents call at most.")
    batch_timeout_seconds: float = Field(5.0, ge=0, description="Longest an event waits for its batch to fill.")
    max_retries: int = Field(3, ge=0, description="Retries after the first attempt (throttling, 5xx, network).")
    retry_base_delay: float = Field(0.5, ge=0, description="Base delay of the exponential backoff (jittered).")
    endpoint_url: str | None = Field(None, description="Custom endpoint URL (LocalStack, moto, a VPC endpoint).")
    circuit_breaker_enabled: bool = Field(True, description="Open a circuit after consecutive failures.")
    circuit_breaker_threshold: int = Field(5, ge=1, description="Consecutive failures before the circuit opens.")


class _CloudWatchCodec:
    """Records to events, events to requests within the limits, answers to outcomes; counts as it goes."""

    __slots__ = ("_diagnostics", "_ids", "max_event", "rejected", "truncated")

    def __init__(self, max_event_bytes: int, diagnostics: Diagnostics) -> None:
        self.max_event = max_event_bytes
        self.truncated = 0
        self.rejected = Rejected()
        self._ids = itertools.count(1)
        self._diagnostics = diagnostics

    def item(self, record: ReadableLogRecord) -> Event:
        lr = record.log_record
        data = dumps(envelope(record))
        if len(data) > self.max_event:
            data, cut = fit(data, self.max_event)
            self.truncated += 1
            self._diagnostics.warn("sink", "event truncated", exporter="cloudwatch", bytes_cut=cut)
        ns = lr.timestamp or lr.observed_timestamp or time.time_ns()
        return Event(ns // 1_000_000, data.decode("utf-8", "replace"), len(data) + 26)

    def size(self, item: Event) -> int:
        return item.size

    def encode(self, items: Sequence[Event]) -> Payload:
        requests = [[{"timestamp": e.timestamp, "message": e.message} for e in chunk] for chunk in chunks(items)]
        return Payload(orjson.dumps(requests), {BATCH_HEADER: str(next(self._ids))})

    def classify(self, reply: Reply) -> Outcome:
        status = reply.status
        code = reply.headers.get(ERROR_HEADER, "")
        message = f"{code or 'HTTP ' + str(status)}: {reply.text.strip()[:500]}"
        if status == 200:
            counts = orjson.loads(reply.text or "{}")
            refused = int(counts.get("too_old", 0)) + int(counts.get("too_new", 0)) + int(counts.get("expired", 0))
            if not refused:
                return Outcome("delivered", status=200)
            self.rejected.too_old += int(counts.get("too_old", 0))
            self.rejected.too_new += int(counts.get("too_new", 0))
            self.rejected.expired += int(counts.get("expired", 0))
            return Outcome("rejected", status=200, message=f"CloudWatch rejected events: {counts}", rejected=refused)
        if code in _THROTTLED or status == 429:
            return Outcome("retry", status=429, message=message)  # 429: throttled, not down (the breaker)
        if code in _UNAVAILABLE or status >= 500:
            return Outcome("retry", status=status, message=message, unknown=status != 503)
        if code in _REFUSED:
            return Outcome("rejected", status=status, message=message)
        return Outcome("failed", status=status, message=message)


def _transport_outcome(exc: BaseException) -> Outcome:
    """A send that raised: network trouble is retried; missing credentials or region are not."""
    name = type(exc).__name__
    message = f"{name}: {exc}" if str(exc) else name
    errors: Any = sys.modules.get("botocore.exceptions")
    if errors is not None:
        if isinstance(exc, errors.NoCredentialsError | errors.NoRegionError | errors.PartialCredentialsError):
            return Outcome("failed", message=message)
        if isinstance(exc, errors.EndpointConnectionError | errors.ConnectTimeoutError):
            return Outcome("retry", message=message)  # never connected: cannot have been stored
    return Outcome("retry", message=message, unknown=True)


class CloudWatchExporter(NetworkExporter):
    """Puts batches into the CloudWatch Logs group ``log_group_name`` (see the module doc).

    ``client`` is the seam: a boto3 ``logs`` client (default: one of our own, made on first use with
    ``region`` and ``endpoint_url``, credentials from boto3's standard chain); ``fallback`` an exporter that
    gets batches while the circuit is open; ``delivery`` further ``Delivery`` options (``batch_bytes``,
    ``max_buffered``, ``max_in_flight``, ``clock``, ``sleep``, ``rng``, ``diagnostics``).
    """

    name = "cloudwatch"

    def __init__(
        self,
        log_group_name: str = "/fapilog/default",
        *,
        log_stream_name: str | None = None,
        region: str | None = None,
        create_log_group: bool = True,
        create_log_stream: bool = True,
        batch_size: int = 100,
        batch_timeout: float = 5.0,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        endpoint_url: str | None = None,
        circuit_breaker: bool = True,
        breaker_threshold: int = 5,
        breaker_recovery: float = 30.0,
        max_event_bytes: int = MAX_EVENT_BYTES,
        timeout: float = 10.0,
        fallback: Any = None,
        client: Any = None,
        shutdown_timeout: float = 10.0,
        **delivery: Any,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_EVENTS:
            raise ValueError(f"CloudWatch batch_size must be 1..{MAX_BATCH_EVENTS}, not {batch_size}")
        if not 64 <= max_event_bytes <= MAX_EVENT_BYTES:
            raise ValueError(f"CloudWatch max_event_bytes must be 64..{MAX_EVENT_BYTES}, not {max_event_bytes}")
        self.log_group_name = log_group_name
        self._stream_name = log_stream_name
        diagnostics: Diagnostics = delivery.get("diagnostics") or Diagnostics()
        self._codec = _CloudWatchCodec(max_event_bytes, diagnostics)
        self._sender = CloudWatchSender(
            log_group_name,
            lambda: self.log_stream_name,
            client=client,
            client_factory=lambda: make_client(region, endpoint_url, timeout),
            create_group=create_log_group,
            create_stream=create_log_stream,
        )
        delivery.setdefault("batch_bytes", MAX_BATCH_BYTES)
        delivery.setdefault("max_buffered", max(10_000, 2 * batch_size))
        engine: Delivery[Event] = network_delivery(
            self._codec,
            self._sender,
            name=self.name,
            batch_size=batch_size,
            batch_age=batch_timeout,
            max_retries=max_retries,
            base_delay=retry_base_delay,
            max_delay=max_backoff,
            deadline=retry_deadline,
            breaker=circuit_breaker,
            threshold=breaker_threshold,
            recovery=breaker_recovery,
            fallback=fallback,
            transport_outcome=_transport_outcome,
            **delivery,
        )
        super().__init__(engine, shutdown_timeout=shutdown_timeout)

    @property
    def log_stream_name(self) -> str:
        """The stream written to: the one given, or ``<hostname>-<pid>`` of the current process."""
        return self._stream_name or default_stream_name()

    @property
    def client(self) -> Any:
        """The boto3 ``logs`` client in use (made now if it was not given)."""
        return self._sender.client()

    @property
    def events_truncated(self) -> int:
        """How many events were cut to ``max_event_bytes``."""
        return self._codec.truncated

    @property
    def events_rejected(self) -> dict[str, int]:
        """Events CloudWatch refused, by its reason: ``too_old``, ``too_new``, ``expired``."""
        r = self._codec.rejected
        return {"too_old": r.too_old, "too_new": r.too_new, "expired": r.expired}

    @classmethod
    def from_settings(cls, settings: CloudWatchSettings, **kwargs: Any) -> CloudWatchExporter:
        return cls(**_arguments(settings), **kwargs)


def _arguments(settings: CloudWatchSettings) -> dict[str, Any]:
    return {
        "log_group_name": settings.log_group_name,
        "log_stream_name": settings.log_stream_name,
        "region": settings.region,
        "create_log_group": settings.create_log_group,
        "create_log_stream": settings.create_log_stream,
        "batch_size": settings.batch_size,
        "batch_timeout": settings.batch_timeout_seconds,
        "max_retries": settings.max_retries,
        "retry_base_delay": settings.retry_base_delay,
        "endpoint_url": settings.endpoint_url,
        "circuit_breaker": settings.circuit_breaker_enabled,
        "breaker_threshold": settings.circuit_breaker_threshold,
    }


_OBJECT_KWARGS = (
    "fallback",
    "client",
    "breaker_recovery",
    "shutdown_timeout",
    "retry_deadline",
    "max_backoff",
    "max_event_bytes",
    "timeout",
)


def cloudwatch_exporter(base: CloudWatchSettings | None = None, /, **options: Any) -> CloudWatchExporter:
    """The exporter of the sink ``"cloudwatch"`` / ``{"type": "cloudwatch", ...}``: ``CloudWatchSettings``
    fields over ``base`` (fapilog's ``Settings.cloudwatch``) or else the ``FAPILOG_CLOUDWATCH__*`` values."""
    extra = {k: options.pop(k) for k in list(options) if k in _OBJECT_KWARGS}
    settings = validated(CloudWatchSettings, "cloudwatch", base, _ENV_PREFIX, options)
    return CloudWatchExporter.from_settings(settings, **extra)


class EnvCloudWatchExporter(CloudWatchExporter):
    """A ``CloudWatchExporter`` configured by ``FAPILOG_CLOUDWATCH__*`` alone
    (``OTEL_LOGS_EXPORTER=fapilog_cloudwatch``)."""

    def __init__(self) -> None:
        super().__init__(**_arguments(validated(CloudWatchSettings, "cloudwatch", None, _ENV_PREFIX, {})))
