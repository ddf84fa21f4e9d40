"""Grafana Loki exporter: the push API (``POST /loki/api/v1/push``).

Bodies are protobuf compressed with raw-block snappy by default (``Content-Type: application/x-protobuf``, no
``Content-Encoding``), or JSON (``application/json``, optionally gzip). Each line is the record's fapilog JSON
envelope; streams are the static ``labels`` plus dynamic ``label_keys`` (sanitised and bounded,
high-cardinality keys refused), entries sorted by time within each stream; trace_id, span_id and request_id
travel as structured metadata. A line longer than ``max_line_bytes`` is truncated with a marker and counted.
Answers: 204 delivered; 429, 408 and 5xx retried; 400 not retried (Loki stored the rest; the ignored entries
are counted dropped with Loki's message); another 2xx is not counted as delivered but as failed (the
endpoint is not behaving like Loki), and not retried. See docs/loki.md.
"""

from __future__ import annotations

import base64
import gzip
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fapilog._optional import require
from fapilog._otel import ReadableLogRecord
from fapilog._render import dumps, envelope
from fapilog._safe_repr import UrlSafeRepr
from fapilog.exporters._delivery import Delivery, Outcome, Payload, Reply, network_delivery
from fapilog.exporters._loki_labels import LabelMaker, structured_metadata
from fapilog.exporters._loki_proto import encode_push
from fapilog.exporters._netsettings import JsonDict, JsonList, validated
from fapilog.exporters._network import NetworkExporter
from fapilog.exporters._transport import HttpSender, status_outcome, transport_outcome

if TYPE_CHECKING:
    import httpx

__all__ = ["EnvLokiExporter", "LokiEncoding", "LokiExporter", "LokiSettings", "loki_exporter"]

LokiEncoding = Literal["protobuf", "json"]
PUSH_PATH = "/loki/api/v1/push"
_IGNORED = re.compile(r"total ignored: (\d+) out of (\d+)")
_ENV_PREFIX = "FAPILOG_LOKI__"

# (label pairs, timestamp ns, line, structured metadata)
_Item = tuple[tuple[tuple[str, str], ...], int, str, tuple[tuple[str, str], ...]]


class LokiSettings(UrlSafeRepr, BaseModel):
    """The Loki exporter's settings (``FAPILOG_LOKI__*``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    url: str = Field("http://localhost:3100", description="Loki base URL (the push path is added).")
    tenant_id: str | None = Field(None, description="Multi-tenant org ID, sent as X-Scope-OrgID.")
    labels: JsonDict = Field(
        default_factory=lambda: {"service": "fapilog"}, description="Static labels of every stream (JSON in env)."
    )
    label_keys: JsonList = Field(
        default_factory=lambda: ["level"],
        description="Dynamic labels: level, logger, or attribute names (high-cardinality ones are refused).",
    )
    batch_size: int = Field(100, ge=1, description="Entries per push at most.")
    batch_timeout_seconds: float = Field(5.0, ge=0, description="Longest an entry waits for its batch to fill.")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of each push request, in seconds.")
    max_retries: int = Field(3, ge=0, description="Retries after the first attempt (429, 408, 5xx, network errors).")
    retry_base_delay: float = Field(0.5, ge=0, description="Base delay of the exponential backoff (jittered).")
    auth_username: str | None = Field(None, description="Basic authentication user name.")
    auth_password: SecretStr | None = Field(None, description="Basic authentication password.")
    auth_token: SecretStr | None = Field(None, description="Bearer token (instead of basic authentication).")
    circuit_breaker_enabled: bool = Field(True, description="Open a circuit after consecutive failures.")
    circuit_breaker_threshold: int = Field(5, ge=1, description="Consecutive failures before the circuit opens.")
    encoding: LokiEncoding = Field("protobuf", description="protobuf (snappy) or json.")
    json_gzip: bool = Field(False, description="gzip JSON bodies (Content-Encoding: gzip).")
    max_line_bytes: int = Field(256 * 1024, ge=64, description="Longer lines are truncated with a marker.")


class _LokiCodec:
    __slots__ = ("_snappy", "encoding", "gzip", "labels", "max_line", "truncated")

    def __init__(self, labels: LabelMaker, encoding: LokiEncoding, *, gzip_json: bool, max_line_bytes: int) -> None:
        if encoding not in ("protobuf", "json"):
            raise ValueError(f"Loki encoding must be protobuf or json, not {encoding!r}")
        self.labels = labels
        self.encoding = encoding
        self.gzip = gzip_json
        self.max_line = max_line_bytes
        self.truncated = 0
        self._snappy: Any = require("cramjam", extra="loki").snappy if encoding == "protobuf" else None

    def item(self, record: ReadableLogRecord) -> _Item:
        lr = record.log_record
        line = dumps(envelope(record))
        if len(line) > self.max_line:
            self.truncated += 1
            marker = f"...[truncated {len(line) - self.max_line} bytes]".encode()
            line = line[: self.max_line - len(marker) - 16].decode("utf-8", "ignore").encode() + marker
        ts = lr.timestamp or lr.observed_timestamp or time.time_ns()
        return (self.labels.pairs(record), ts, line.decode("utf-8", "backslashreplace"), structured_metadata(record))

    def size(self, item: _Item) -> int:
        return len(item[2]) + 64

    def encode(self, items: Sequence[_Item]) -> Payload:
        streams: dict[tuple[tuple[str, str], ...], list[_Item]] = {}
        for item in items:
            streams.setdefault(item[0], []).append(item)
        for entries in streams.values():
            entries.sort(key=lambda e: e[1])  # stable: equal times keep their order
        if self.encoding == "protobuf":
            raw = encode_push(
                (self.labels.text(pairs), [(e[1], e[2], e[3]) for e in entries]) for pairs, entries in streams.items()
            )
            return Payload(bytes(self._snappy.compress_raw(raw)), {"Content-Type": "application/x-protobuf"})
        doc = {
            "streams": [
                {"stream": dict(pairs), "values": [_json_value(e) for e in entries]}
                for pairs, entries in streams.items()
            ]
        }
        body = dumps(doc)
        headers = {"Content-Type": "application/json"}
        if self.gzip:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return Payload(body, headers)

    def classify(self, reply: Reply) -> Outcome:
        status = reply.status
        if status == 204:
            return Outcome("delivered", status=status)
        if 200 <= status < 300:
            return Outcome(
                "failed",
                status=status,
                message=f"Loki push answered {status}, not 204: not counted as delivered (is this Loki?)",
            )
        outcome = status_outcome(reply)
        if status == 400:
            found = _IGNORED.search(reply.text)
            rejected = int(found.group(1)) if found else None
            return Outcome("rejected", status=400, message=outcome.message, rejected=rejected)
        return outcome


def _json_value(item: _Item) -> list[Any]:
    value: list[Any] = [str(item[1]), item[2]]
    if item[3]:
        value.append(dict(item[3]))
    return value


class LokiExporter(NetworkExporter):
    """Pushes batches to Loki at ``url`` (see the module doc for the wire format and the answers).

    ``client`` is the transport seam (an ``httpx.AsyncClient``; default: one of its own); ``fallback`` an
    exporter that gets batches while the circuit is open; ``delivery`` further ``Delivery`` options
    (``batch_bytes``, ``max_buffered``, ``max_in_flight``, ``clock``, ``sleep``, ``rng``, ``diagnostics``).
    """

    name = "loki"

    def __init__(
        self,
        url: str = "http://localhost:3100",
        *,
        tenant_id: str | None = None,
        labels: Mapping[str, Any] | None = None,
        label_keys: Sequence[str] = ("level",),
        batch_size: int = 100,
        batch_timeout: float = 5.0,
        timeout: float = 10.0,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        auth_username: str | None = None,
        auth_password: str | SecretStr | None = None,
        auth_token: str | SecretStr | None = None,
        circuit_breaker: bool = True,
        breaker_threshold: int = 5,
        breaker_recovery: float = 30.0,
        encoding: LokiEncoding = "protobuf",
        json_gzip: bool = False,
        max_line_bytes: int = 256 * 1024,
        fallback: Any = None,
        client: httpx.AsyncClient | None = None,
        shutdown_timeout: float = 10.0,
        **delivery: Any,
    ) -> None:
        self.url = url.rstrip("/") if url.rstrip("/").endswith(PUSH_PATH) else url.rstrip("/") + PUSH_PATH
        self._codec = _LokiCodec(
            LabelMaker({"service": "fapilog"} if labels is None else labels, list(label_keys)),
            encoding,
            gzip_json=json_gzip,
            max_line_bytes=max_line_bytes,
        )
        headers = _auth_headers(auth_username, _secret(auth_password), _secret(auth_token))
        if tenant_id:
            headers["X-Scope-OrgID"] = tenant_id
        self._sender = HttpSender(self.url, headers=headers, timeout=timeout, client=client, extra="loki")
        engine: Delivery[_Item] = network_delivery(
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
            transport_outcome=transport_outcome,
            **delivery,
        )
        super().__init__(engine, release=self._sender.release, shutdown_timeout=shutdown_timeout)

    @property
    def lines_truncated(self) -> int:
        """How many lines were cut to ``max_line_bytes``."""
        return self._codec.truncated

    @classmethod
    def from_settings(cls, settings: LokiSettings, **kwargs: Any) -> LokiExporter:
        return cls(**_arguments(settings), **kwargs)


def _secret(value: str | SecretStr | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _auth_headers(username: str | None, password: str | None, token: str | None) -> dict[str, str]:
    if token and (username or password):
        raise ValueError("Loki: give either auth_token (bearer) or auth_username/auth_password (basic), not both")
    if token:
        return {"Authorization": f"Bearer {token}"}
    if username or password:
        if not username:
            raise ValueError("Loki: auth_password needs auth_username")
        pair = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}


def _arguments(settings: LokiSettings) -> dict[str, Any]:
    return {
        "url": settings.url,
        "tenant_id": settings.tenant_id,
        "labels": settings.labels,
        "label_keys": settings.label_keys,
        "batch_size": settings.batch_size,
        "batch_timeout": settings.batch_timeout_seconds,
        "timeout": settings.timeout_seconds,
        "max_retries": settings.max_retries,
        "retry_base_delay": settings.retry_base_delay,
        "auth_username": settings.auth_username,
        "auth_password": settings.auth_password,
        "auth_token": settings.auth_token,
        "circuit_breaker": settings.circuit_breaker_enabled,
        "breaker_threshold": settings.circuit_breaker_threshold,
        "encoding": settings.encoding,
        "json_gzip": settings.json_gzip,
        "max_line_bytes": settings.max_line_bytes,
    }


_OBJECT_KWARGS = ("fallback", "client", "breaker_recovery", "shutdown_timeout", "retry_deadline", "max_backoff")


def loki_exporter(base: LokiSettings | None = None, /, **options: Any) -> LokiExporter:
    """The exporter of the sink ``"loki"`` / ``{"type": "loki", ...}``: ``LokiSettings`` fields over ``base``
    (fapilog's ``Settings.loki``) or else the ``FAPILOG_LOKI__*`` values."""
    extra = {k: options.pop(k) for k in list(options) if k in _OBJECT_KWARGS}
    return LokiExporter.from_settings(validated(LokiSettings, "loki", base, _ENV_PREFIX, options), **extra)


class EnvLokiExporter(LokiExporter):
    """A ``LokiExporter`` configured by ``FAPILOG_LOKI__*`` alone (``OTEL_LOGS_EXPORTER=fapilog_loki``)."""

    def __init__(self) -> None:
        super().__init__(**_arguments(validated(LokiSettings, "loki", None, _ENV_PREFIX, {})))
