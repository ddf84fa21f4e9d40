"""The HTTP transport seam of the network exporters: an ``httpx.AsyncClient`` given, or one of our own.

``HttpSender`` POSTs a ``Payload`` and returns the ``Reply``. A client passed in is used as it is and never
closed; without one, the sender makes its own on first use, on the running loop, and ``release()`` closes
it (a later send makes a new one, so a new worker loop after a drain gets a client of its own).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fapilog._optional import require
from fapilog.exporters._delivery import Outcome, Payload, Reply
from fapilog.exporters._retry import parse_retry_after

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpSender", "status_outcome", "transport_outcome"]


class HttpSender:
    """``await sender(payload)`` POSTs to ``url`` with ``headers`` (then the payload's) and ``timeout``."""

    __slots__ = ("_client", "_extra", "_loop", "_own", "headers", "timeout", "url")

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        extra: str = "http",
    ) -> None:
        self.url = url
        self._extra = extra
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._client = client
        self._own = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _get_client(self) -> httpx.AsyncClient:
        if not self._own:
            assert self._client is not None
            return self._client
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            httpx_mod: Any = require("httpx", extra=self._extra)
            self._client = httpx_mod.AsyncClient()
            self._loop = loop
        assert self._client is not None
        return self._client

    async def __call__(self, payload: Payload) -> Reply:
        client = self._get_client()
        headers = {**self.headers, **payload.headers}
        response = await client.post(self.url, content=payload.body, headers=headers, timeout=self.timeout)
        return Reply(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            text=response.text[:2000],
        )

    async def release(self) -> None:
        """Close our own client (if any, and if it belongs to the running loop)."""
        client, self._client = (self._client, None) if self._own else (None, self._client)
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
        if self._own:
            self._loop = None


def status_outcome(reply: Reply, *, success: frozenset[int] | None = None) -> Outcome:
    """The usual reading of an HTTP status: 2xx (or ``success``) delivered; 408, 429 and 5xx retried (with
    ``Retry-After``); any other status permanent (4xx ``rejected``, anything else ``failed``)."""
    status = reply.status
    message = f"HTTP {status}: {reply.text.strip()[:500]}" if reply.text.strip() else f"HTTP {status}"
    if (status in success) if success is not None else 200 <= status < 300:
        return Outcome("delivered", status=status)
    if status in (408, 429) or 500 <= status < 600:
        return Outcome(
            "retry",
            status=status,
            message=message,
            retry_after=parse_retry_after(reply.headers.get("retry-after")),
            unknown=status not in (429, 503),  # a 500/502/504 may come after the server stored the batch
        )
    if 400 <= status < 500:
        return Outcome("rejected", status=status, message=message)
    return Outcome("failed", status=status, message=message)


def transport_outcome(exc: BaseException) -> Outcome:
    """A send that raised: always retried; a connection never made cannot have been stored."""
    name = type(exc).__name__
    message = f"{name}: {exc}" if str(exc) else name
    httpx_mod: Any = sys.modules.get("httpx")  # a send raised, so httpx is imported
    never_sent = httpx_mod is not None and isinstance(
        exc, httpx_mod.ConnectError | httpx_mod.ConnectTimeout | httpx_mod.PoolTimeout
    )
    return Outcome("retry", message=message, unknown=not never_sent)
