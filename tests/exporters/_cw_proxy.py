"""A fault-injecting HTTP proxy in front of moto's CloudWatch Logs server, on 127.0.0.1.

Every request is forwarded to moto as it is and moto's answer returned, unless a fault is queued for that
action (``PutLogEvents``, ``CreateLogGroup``, ...): then the proxy answers itself, the way CloudWatch does
(an AWS JSON error such as ``400 ThrottlingException``, a bare 500/503, or a 200 of its own). Each
PutLogEvents request is recorded and checked against the limits CloudWatch enforces and moto does not
(10,000 events, 1,048,576 bytes counting UTF-8 + 26 per event, chronological order, a span under 24 h).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Fault", "LimitsProxy", "Put"]

_TARGET_PREFIX = "Logs_20140328."


@dataclass(frozen=True)
class Fault:
    """How the proxy answers one request of an action itself: ``status`` with the AWS error ``code`` (JSON
    ``__type``) and ``extra`` fields, or a bare body when ``code`` is empty; ``status`` 0 forwards as usual."""

    status: int
    code: str = ""
    message: str = "injected by the test proxy"
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        if not self.code:
            return json.dumps(self.extra).encode() if self.extra else b"Internal Server Error"
        return json.dumps({"__type": self.code, "message": self.message, **self.extra}).encode()


@dataclass
class Put:
    """One PutLogEvents request as it arrived, with what it broke of CloudWatch's limits."""

    body: dict[str, Any]
    status: int = 0  # what the client got

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.body.get("logEvents", []))

    @property
    def size(self) -> int:
        return sum(len(e["message"].encode()) + 26 for e in self.events)

    @property
    def span_ms(self) -> int:
        stamps = [e["timestamp"] for e in self.events]
        return max(stamps) - min(stamps) if stamps else 0

    def violations(self) -> list[str]:
        out: list[str] = []
        stamps = [e["timestamp"] for e in self.events]
        if len(stamps) > 10_000:
            out.append(f"{len(stamps)} events")
        if self.size > 1_048_576:
            out.append(f"{self.size} bytes")
        if stamps != sorted(stamps):
            out.append("not chronological")
        if self.span_ms >= 24 * 3600 * 1000:
            out.append(f"span {self.span_ms} ms")
        if any(len(e["message"].encode()) > 256 * 1024 - 26 for e in self.events):
            out.append("event over 256 KiB - 26")
        return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        action = (self.headers.get("X-Amz-Target") or "").removeprefix(_TARGET_PREFIX)
        owner = self.server.owner
        put = owner.record(action, body)
        fault = owner.next_fault(action)
        if fault is not None and fault.status:
            status, headers, reply = fault.status, {"Content-Type": "application/x-amz-json-1.1"}, fault.body()
        else:
            status, headers, reply = owner.forward(self.command, self.path, dict(self.headers.items()), body)
        if put is not None:
            put.status = status
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LimitsProxy


class LimitsProxy:
    """``with LimitsProxy(moto_url) as proxy:`` point the exporter's ``endpoint_url`` at ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self.puts: list[Put] = []
        self.actions: list[str] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LimitsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def fail_next(self, action: str, *faults: Fault) -> None:
        """Answer the next ``len(faults)`` requests of ``action`` with these faults, in order."""
        with self._lock:
            self._faults.setdefault(action, deque()).extend(faults)

    def next_fault(self, action: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(action)
            return queue.popleft() if queue else None

    def record(self, action: str, body: bytes) -> Put | None:
        with self._lock:
            self.actions.append(action)
            if action != "PutLogEvents":
                return None
            put = Put(json.loads(body))
            self.puts.append(put)
            return put

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def delivered_puts(self) -> list[Put]:
        return [p for p in self.puts if p.status == 200]
