"""Local servers the network exporter tests talk to, over real sockets on 127.0.0.1.

``Receiver`` is a plain HTTP endpoint that records every request, verifies webhook signatures, and fails on
demand (a status with or without ``Retry-After``, a slow answer, a dropped connection, an outage of a given
length). ``FakeLoki`` is a Loki push endpoint (``POST /loki/api/v1/push``) that decodes the real wire formats
(snappy-compressed protobuf, JSON, gzip JSON) with a protobuf reader of its own, checks label syntax, line
size and per-stream order, and answers like Loki: 204, or 400 naming what it ignored (having stored the rest).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import cramjam

__all__ = ["Fault", "FakeLoki", "LokiEntry", "Receiver", "Request"]


@dataclass(frozen=True)
class Fault:
    """How to answer one request instead of normally: ``status`` (+ ``retry_after``), after ``delay``
    seconds, or ``drop`` the connection without an answer. A slow fault (``delay`` only) answers normally."""

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    drop: bool = False


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int = 0  # what we answered (0: dropped)
    at: float = field(default_factory=time.monotonic)  # when it arrived
    verified: bool | None = None  # webhook signature check (None: no secret configured)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK wait per answer
    server: _HTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        owner = self.server.owner
        with owner._enter():
            self._answer(owner, request)

    def _answer(self, owner: _Server, request: Request) -> None:
        fault = owner._next_fault()
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            owner._record(request)
            self.close_connection = True
            return
        if fault is not None and fault.status is not None:
            status, headers, text = fault.status, {}, f"injected {fault.status}"
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        else:
            status, headers, text = owner.handle(request)
        request.status = status
        owner._record(request)
        data = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: _Server


class _Server:
    """A threaded HTTP server on 127.0.0.1 (``port``, or a free one); a context manager that starts and stops
    it."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._outage_until = 0.0
        self._outage_status = 503
        self.requests: list[Request] = []
        self.active = 0
        self.max_active = 0  # the most requests handled at the same time
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    @contextmanager
    def _enter(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def fail_next(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order."""
        with self._lock:
            self._faults.extend(faults)

    def outage(self, seconds: float, status: int = 503) -> None:
        """Answer ``status`` to every request for the next ``seconds`` seconds."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_status = status

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if time.monotonic() < self._outage_until:
                return Fault(status=self._outage_status)
            return None

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def statuses(self) -> list[int]:
        with self._lock:
            return [r.status for r in self.requests]

    def handle(self, request: Request) -> tuple[int, dict[str, str], str]:
        raise NotImplementedError


class Receiver(_Server):
    """An HTTP endpoint answering 200; with ``secret``, each request's webhook signature is verified
    (a request that fails verification gets 401)."""

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret

    def handle(self, request: Request) -> tuple[int, dict[str, str], str]:
        if self.secret is not None:
            request.verified = verify_signature(self.secret, request.headers, request.body)
            if not request.verified:
                return 401, {}, "bad signature"
        return 200, {}, "ok"

    def delivered(self) -> list[Request]:
        """The requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]


def verify_signature(secret: str, headers: dict[str, str], body: bytes, *, tolerance: float = 300.0) -> bool:
    """The receiver's recipe: HMAC-SHA256 of ``"{timestamp}." + body`` equals the signature header, and the
    timestamp is recent (replay protection)."""
    stamp = headers.get("x-fapilog-timestamp", "")
    signature = headers.get("x-fapilog-signature-256", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# ---- Loki ---------------------------------------------------------------------------------------------------


@dataclass
class LokiEntry:
    labels: str
    ts_ns: int
    line: str
    metadata: dict[str, str] = field(default_factory=dict)


_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
_LABELS = re.compile(rf"^\{{{_PAIR}(?:, ?{_PAIR})*\}}$")  # at least one pair, as Loki requires


class FakeLoki(_Server):
    """A Loki push endpoint. ``stored`` holds the accepted entries; ``max_line_bytes`` bounds a line;
    entries older than ``reject_before_ns`` are ignored as too far behind, and so are entries older than the
    newest already stored in their stream (strict order per stream)."""

    def __init__(self, *, max_line_bytes: int = 256 * 1024, port: int = 0) -> None:
        super().__init__(port)
        self.max_line_bytes = max_line_bytes
        self.reject_before_ns = 0
        self.stored: list[LokiEntry] = []
        self.bodies: list[tuple[str, list[LokiEntry]]] = []  # (content type, decoded entries) per push
        self._newest: dict[str, int] = {}

    def handle(self, request: Request) -> tuple[int, dict[str, str], str]:
        if request.path != "/loki/api/v1/push":
            return 404, {}, "404 page not found"
        try:
            entries = _decode_push(request.headers, request.body)
        except ValueError as exc:
            return 400, {}, f"error parsing push request: {exc}"
        with self._lock:
            self.bodies.append((request.headers.get("content-type", ""), entries))
        errors: list[str] = []
        for entry in entries:
            if not _LABELS.match(entry.labels):
                return 400, {}, f"error parsing labels {entry.labels!r}: invalid syntax"
        for entry in entries:
            reason = self._check(entry)
            if reason:
                where = f"entry with timestamp {entry.ts_ns} ignored"
                errors.append(f"{where}, reason: '{reason}' for stream: {entry.labels}")
                continue
            with self._lock:
                self.stored.append(entry)
                self._newest[entry.labels] = max(self._newest.get(entry.labels, 0), entry.ts_ns)
        if errors:
            return 400, {}, ",\n".join(errors) + f",\ntotal ignored: {len(errors)} out of {len(entries)}"
        return 204, {}, ""

    def _check(self, entry: LokiEntry) -> str:
        if len(entry.line.encode()) > self.max_line_bytes:
            return f"line too long: {len(entry.line.encode())} bytes, limit {self.max_line_bytes}"
        if entry.ts_ns < self.reject_before_ns:
            return "entry too far behind"
        if entry.ts_ns < self._newest.get(entry.labels, 0):
            return "entry out of order"
        return ""

    def lines(self) -> list[dict[str, Any]]:
        """The stored lines, parsed as JSON."""
        with self._lock:
            return [json.loads(e.line) for e in self.stored]


def _decode_push(headers: dict[str, str], body: bytes) -> list[LokiEntry]:
    ctype = headers.get("content-type", "").split(";")[0].strip()
    if ctype == "application/x-protobuf":
        if headers.get("content-encoding"):
            raise ValueError("protobuf pushes carry no Content-Encoding (the body is snappy-compressed)")
        try:
            raw = bytes(cramjam.snappy.decompress_raw(body))
        except Exception as exc:
            raise ValueError(f"snappy: {exc}") from None
        return _decode_proto(raw)
    if ctype == "application/json":
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        elif headers.get("content-encoding"):
            raise ValueError(f"unsupported Content-Encoding {headers['content-encoding']}")
        return _decode_json(json.loads(body))
    raise ValueError(f"unsupported Content-Type {ctype!r}")


def _decode_json(doc: dict[str, Any]) -> list[LokiEntry]:
    out: list[LokiEntry] = []
    for stream in doc["streams"]:
        labels = "{" + ", ".join(f'{k}="{_escape(v)}"' for k, v in stream["stream"].items()) + "}"
        for value in stream["values"]:
            meta = value[2] if len(value) > 2 else {}
            out.append(LokiEntry(labels, int(value[0]), value[1], dict(meta)))
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# A protobuf reader of our own (wire types 0, 1, 2, 5), independent of the exporter's writer.


def _fields(data: bytes) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            if i + length > len(data):
                raise ValueError("truncated length-delimited field")
            value, i = data[i : i + length], i + length
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, value))
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _decode_proto(raw: bytes) -> list[LokiEntry]:
    out: list[LokiEntry] = []
    for number, stream in _fields(raw):
        if number != 1:
            continue
        labels = ""
        entries: list[tuple[int, str, dict[str, str]]] = []
        for n2, value in _fields(stream):
            if n2 == 1:
                labels = value.decode("utf-8")
            elif n2 == 2:
                entries.append(_decode_entry(value))
        out.extend(LokiEntry(labels, ts, line, meta) for ts, line, meta in entries)
    return out


def _decode_entry(data: bytes) -> tuple[int, str, dict[str, str]]:
    seconds = nanos = 0
    line = ""
    meta: dict[str, str] = {}
    for number, value in _fields(data):
        if number == 1:
            for n2, v2 in _fields(value):
                if n2 == 1:
                    seconds = v2
                elif n2 == 2:
                    nanos = v2
        elif number == 2:
            line = value.decode("utf-8")
        elif number == 3:
            pair = dict(_fields(value))
            meta[pair.get(1, b"").decode()] = pair.get(2, b"").decode()
    return seconds * 1_000_000_000 + nanos, line, meta
