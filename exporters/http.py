"""HTTP and webhook exporters: batches of fapilog JSON envelopes POSTed to an endpoint.

Batch formats: ``array`` (a JSON array of envelopes), ``ndjson`` (one envelope per line) and ``wrapped``
(``{"<wrapper_key>": [...]}``). The webhook exporter signs each request: ``X-Fapilog-Timestamp`` (unix
seconds) and ``X-Fapilog-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``, computed over the
exact bytes sent, at each attempt. Delivery (batching, retry, circuit breaker, fallback) is the shared
mechanism of ``_delivery``; 2xx is success, 408/429/5xx are retried, other 4xx dropped and counted.
See docs/http.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fapilog._otel import ReadableLogRecord
from fapilog._render import dumps, envelope
from fapilog._safe_repr import UrlSafeRepr
from fapilog.exporters._delivery import Delivery, Outcome, Payload, Reply, network_delivery
from fapilog.exporters._netsettings import JsonDict, validated
from fapilog.exporters._network import NetworkExporter
from fapilog.exporters._transport import HttpSender, status_outcome, transport_outcome

if TYPE_CHECKING:
    import httpx

__all__ = [
    "BatchFormat",
    "EnvHttpExporter",
    "EnvWebhookExporter",
    "HttpExporter",
    "HttpSettings",
    "WebhookExporter",
    "WebhookSettings",
    "http_exporter",
    "sign",
    "webhook_exporter",
]

BatchFormat = Literal["array", "ndjson", "wrapped"]
_CONTENT_TYPES = {"array": "application/json", "ndjson": "application/x-ndjson", "wrapped": "application/json"}


class _BatchFields(UrlSafeRepr, BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    endpoint: str | None = Field(None, description="URL the batches are POSTed to.")
    # Headers often carry credentials (Authorization, API keys): kept out of repr/str of the settings.
    headers: JsonDict = Field(
        default_factory=dict, repr=False, description="Extra request headers (a JSON object in env)."
    )
    timeout_seconds: float = Field(5.0, gt=0, description="Timeout of each request, in seconds.")
    retry_max_attempts: int = Field(3, ge=1, description="Attempts per batch, the first included.")
    retry_backoff_seconds: float = Field(0.5, ge=0, description="Base delay of the exponential backoff (jittered).")
    batch_size: int = Field(100, ge=1, description="Records per request at most.")
    batch_timeout_seconds: float = Field(5.0, ge=0, description="Longest a record waits for its batch to fill.")
    batch_format: BatchFormat = Field("array", description="array (JSON array), ndjson, or wrapped ({key: [...]}).")
    batch_wrapper_key: str = Field("logs", min_length=1, description="The key of the wrapped format.")


class HttpSettings(_BatchFields):
    """The HTTP exporter's settings (``FAPILOG_HTTP__*``)."""

    headers_json: str | None = Field(
        None, repr=False, description="Headers as a JSON object string, merged over headers."
    )

    @field_validator("headers_json")
    @classmethod
    def _headers_object(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            doc = json.loads(value)
            if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
                raise ValueError("headers_json must be a JSON object of strings")
        return value


class WebhookSettings(_BatchFields):
    """The webhook exporter's settings (``FAPILOG_WEBHOOK__*``)."""

    secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing secret; no signature when unset.")


class _JsonCodec:
    """Each record as its envelope's JSON; a batch in the chosen format."""

    __slots__ = ("content_type", "format", "wrapper")

    def __init__(self, batch_format: BatchFormat, wrapper_key: str) -> None:
        if batch_format not in _CONTENT_TYPES:
            raise ValueError(f"batch_format must be array, ndjson or wrapped, not {batch_format!r}")
        self.format = batch_format
        self.content_type = _CONTENT_TYPES[batch_format]
        self.wrapper = dumps(wrapper_key)

    def item(self, record: ReadableLogRecord) -> bytes:
        return dumps(envelope(record))

    def size(self, item: bytes) -> int:
        return len(item) + 1

    def encode(self, items: Sequence[bytes]) -> Payload:
        if self.format == "ndjson":
            body = b"".join([i + b"\n" for i in items])
        elif self.format == "array":
            body = b"[" + b",".join(items) + b"]"
        else:
            body = b"{" + self.wrapper + b":[" + b",".join(items) + b"]}"
        return Payload(body, {"Content-Type": self.content_type})

    def classify(self, reply: Reply) -> Outcome:
        return status_outcome(reply)


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Fapilog-Signature-256`` value: ``sha256=`` + hex HMAC-SHA256 of ``b"<timestamp>." + body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpExporter(NetworkExporter):
    """POSTs batches of envelopes to ``endpoint``.

    ``client`` is the transport seam (an ``httpx.AsyncClient``; default: one of its own). ``max_retries``
    retries follow the first attempt, waiting ``backoff`` * 2**n at most (full jitter); ``circuit_breaker``
    opens after ``breaker_threshold`` consecutive failures for ``breaker_recovery`` seconds, during which
    ``fallback`` (an exporter) gets the batches. ``delivery`` passes further ``Delivery`` options
    (``batch_bytes``, ``max_buffered``, ``max_in_flight``, ``clock``, ``sleep``, ``rng``, ``diagnostics``).
    """

    name = "http"

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        batch_format: BatchFormat = "array",
        wrapper_key: str = "logs",
        batch_size: int = 100,
        batch_timeout: float = 5.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        circuit_breaker: bool = True,
        breaker_threshold: int = 5,
        breaker_recovery: float = 30.0,
        fallback: Any = None,
        client: httpx.AsyncClient | None = None,
        shutdown_timeout: float = 10.0,
        **delivery: Any,
    ) -> None:
        self.endpoint = endpoint
        self._sender = HttpSender(endpoint, headers=headers, timeout=timeout, client=client, extra="http")
        engine: Delivery[bytes] = network_delivery(
            _JsonCodec(batch_format, wrapper_key),
            self._send,
            name=self.name,
            batch_size=batch_size,
            batch_age=batch_timeout,
            max_retries=max_retries,
            base_delay=backoff,
            max_delay=max_backoff,
            deadline=retry_deadline,
            breaker=circuit_breaker,
            threshold=breaker_threshold,
            recovery=breaker_recovery,
            fallback=fallback,
            transport_outcome=transport_outcome,
            **delivery,
        )
        super().__init__(engine, release=self._sender.release, shutdown_timeout=shutdown_timeout)

    async def _send(self, payload: Payload) -> Reply:
        return await self._sender(payload)

    @classmethod
    def from_settings(cls, settings: HttpSettings, **kwargs: Any) -> HttpExporter:
        return cls(**_arguments(settings, "http"), **kwargs)


class WebhookExporter(HttpExporter):
    """An ``HttpExporter`` that signs every request with ``secret`` (see ``sign``); ``wall`` gives the
    timestamp's clock (unix seconds)."""

    name = "webhook"

    def __init__(
        self,
        endpoint: str,
        *,
        secret: str | SecretStr | None = None,
        wall: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self._secret = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        self._wall = wall
        super().__init__(endpoint, **options)

    async def _send(self, payload: Payload) -> Reply:
        if self._secret:
            stamp = int(self._wall())
            signed = {
                "X-Fapilog-Timestamp": str(stamp),
                "X-Fapilog-Signature-256": sign(self._secret, payload.body, stamp),
            }
            payload = Payload(payload.body, {**payload.headers, **signed})
        return await self._sender(payload)

    @classmethod
    def from_settings(cls, settings: HttpSettings | WebhookSettings, **kwargs: Any) -> WebhookExporter:
        secret = settings.secret if isinstance(settings, WebhookSettings) else None
        return cls(**_arguments(settings, "webhook"), secret=secret, **kwargs)


def _arguments(settings: HttpSettings | WebhookSettings, sink: str) -> dict[str, Any]:
    if not settings.endpoint:
        env = "FAPILOG_HTTP__ENDPOINT" if sink == "http" else "FAPILOG_WEBHOOK__ENDPOINT"
        raise ValueError(
            f"the {sink} exporter needs an endpoint: set {env} (or give {{'type': {sink!r}, 'endpoint': ...}})"
        )
    headers = dict(settings.headers)
    if isinstance(settings, HttpSettings) and settings.headers_json:
        headers.update(json.loads(settings.headers_json))
    return {
        "endpoint": settings.endpoint,
        "headers": headers,
        "timeout": settings.timeout_seconds,
        "max_retries": settings.retry_max_attempts - 1,
        "backoff": settings.retry_backoff_seconds,
        "batch_size": settings.batch_size,
        "batch_timeout": settings.batch_timeout_seconds,
        "batch_format": settings.batch_format,
        "wrapper_key": settings.batch_wrapper_key,
    }


_HTTP_KWARGS = ("fallback", "client", "circuit_breaker", "breaker_threshold", "breaker_recovery", "shutdown_timeout")


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Settings fields vs exporter-only keyword arguments (objects such as a fallback or a client)."""
    extra = {k: options.pop(k) for k in list(options) if k in _HTTP_KWARGS}
    return options, extra


def http_exporter(base: HttpSettings | None = None, /, **options: Any) -> HttpExporter:
    """The exporter of the sink ``"http"`` / ``{"type": "http", ...}``: ``HttpSettings`` fields over ``base``
    (fapilog's ``Settings.http``) or else the ``FAPILOG_HTTP__*`` values."""
    fields, extra = _split(dict(options))
    return HttpExporter.from_settings(validated(HttpSettings, "http", base, "FAPILOG_HTTP__", fields), **extra)


def webhook_exporter(base: WebhookSettings | None = None, /, **options: Any) -> WebhookExporter:
    """The exporter of the sink ``"webhook"``: ``WebhookSettings`` fields over ``base`` (``Settings.webhook``)
    or else the ``FAPILOG_WEBHOOK__*`` values."""
    fields, extra = _split(dict(options))
    settings = validated(WebhookSettings, "webhook", base, "FAPILOG_WEBHOOK__", fields)
    return WebhookExporter.from_settings(settings, **extra)


class EnvHttpExporter(HttpExporter):
    """An ``HttpExporter`` configured by ``FAPILOG_HTTP__*`` alone (``OTEL_LOGS_EXPORTER=fapilog_http``)."""

    def __init__(self) -> None:
        super().__init__(**_arguments(validated(HttpSettings, "http", None, "FAPILOG_HTTP__", {}), "http"))


class EnvWebhookExporter(WebhookExporter):
    """A ``WebhookExporter`` configured by ``FAPILOG_WEBHOOK__*`` alone (``OTEL_LOGS_EXPORTER=fapilog_webhook``)."""

    def __init__(self) -> None:
        settings = validated(WebhookSettings, "webhook", None, "FAPILOG_WEBHOOK__", {})
        super().__init__(**_arguments(settings, "webhook"), secret=settings.secret)
