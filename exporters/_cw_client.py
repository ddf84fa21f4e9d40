"""The CloudWatch Logs transport seam: PutLogEvents through a boto3 ``logs`` client, off the event loop.

A ``Payload`` body is a JSON list of requests (each a chronological list of ``{"timestamp", "message"}``
within every PutLogEvents limit, see ``_cw_batches``); ``CloudWatchSender`` puts them one after the other in
a worker thread (boto3 is synchronous; the event loop never waits on it) and answers with one ``Reply``:

* 200 with the counts of events CloudWatch refused (``rejectedLogEventsInfo``) as JSON text, when all went;
* otherwise the failing call's HTTP status, ``x-amzn-errortype`` (the AWS error code) and message.

A retry of the same payload resumes after the requests already put (progress is kept per payload, by the
``x-fapilog-batch`` header), so a throttled second request never re-sends the first. Within one attempt:
``ResourceNotFoundException`` creates the log group and/or stream (as allowed) and puts again;
``ResourceAlreadyExistsException`` while creating is success; ``InvalidSequenceTokenException`` (the legacy
API) puts again with the expected token; ``DataAlreadyAcceptedException`` counts as put.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from fapilog._optional import require
from fapilog.exporters._delivery import Payload, Reply

__all__ = ["BATCH_HEADER", "ERROR_HEADER", "CloudWatchSender", "Rejected", "default_stream_name", "make_client"]

BATCH_HEADER = "x-fapilog-batch"
ERROR_HEADER = "x-amzn-errortype"
_KEEP_PROGRESS = 64  # payloads whose progress is remembered (batches in flight, retried or given up)


def default_stream_name() -> str:
    """``<hostname>-<pid>``, with the characters CloudWatch refuses in stream names (``:`` and ``*``)
    replaced: each process (each pre-forked worker) writes a stream of its own."""
    host = socket.gethostname() or "localhost"
    return f"{host}-{os.getpid()}".replace(":", "_").replace("*", "_")


def make_client(region: str | None, endpoint_url: str | None, timeout: float) -> Any:
    """A boto3 CloudWatch Logs client with credentials from boto3's standard chain and botocore's own
    retries off (``Delivery`` retries, with backoff, through one mechanism)."""
    boto3: Any = require("boto3", extra="cloudwatch")
    config: Any = require("botocore.config", extra="cloudwatch")
    session = boto3.session.Session()
    return session.client(
        "logs",
        region_name=region or os.environ.get("AWS_REGION") or None,
        endpoint_url=endpoint_url,
        config=config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=timeout, read_timeout=timeout
        ),
    )


@dataclass(slots=True)
class Rejected:
    """Events CloudWatch refused (``rejectedLogEventsInfo``): too old, too new, past the group's retention."""

    too_old: int = 0
    too_new: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.too_old + self.too_new + self.expired

    def add(self, info: dict[str, Any] | None, n: int) -> None:
        """Count the rejections ``info`` reports for a request of ``n`` events (AWS: the too-old end index
        is exclusive, the too-new start index inclusive; the expired end index is read like the too-old).
        Expired events are also too old: those two ranges overlap, the larger counts."""
        if not info:
            return
        old = _index(info.get("tooOldLogEventEndIndex"), n)
        expired = _index(info.get("expiredLogEventEndIndex"), n)
        new_start = _index(info.get("tooNewLogEventStartIndex"), n)
        if expired >= old:
            self.expired += expired
        else:
            self.too_old += old
        if "tooNewLogEventStartIndex" in info:
            self.too_new += n - new_start


def _index(value: Any, n: int) -> int:
    try:
        return max(0, min(n, int(value)))
    except (TypeError, ValueError):
        return 0


class _Progress:
    __slots__ = ("done", "rejected")

    def __init__(self) -> None:
        self.done = 0
        self.rejected = Rejected()


class CloudWatchSender:
    """``await sender(payload)`` puts the payload's requests into ``group`` / ``stream()`` via ``client``
    (the seam: a boto3 ``logs`` client, or ``make_client``'s, made on first use in the worker thread)."""

    def __init__(
        self,
        group: str,
        stream: Callable[[], str],
        *,
        client: Any = None,
        client_factory: Callable[[], Any],
        create_group: bool = True,
        create_stream: bool = True,
    ) -> None:
        self.group = group
        self.stream = stream
        self.create_group = create_group
        self.create_stream = create_stream
        self.created: list[str] = []  # what we created: "group", "stream"
        self._client = client
        self._factory = client_factory
        self._lock = threading.Lock()
        self._progress: OrderedDict[str, _Progress] = OrderedDict()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    async def __call__(self, payload: Payload) -> Reply:
        key = payload.headers.get(BATCH_HEADER, "")
        progress = self._progress.get(key)
        if progress is None:
            progress = self._progress[key] = _Progress()
            while len(self._progress) > _KEEP_PROGRESS:
                self._progress.popitem(last=False)
        requests: list[list[dict[str, Any]]] = orjson.loads(payload.body)
        reply = await asyncio.to_thread(self._put_all, requests, progress)
        if reply.status == 200:
            self._progress.pop(key, None)
        return reply

    # ---- in the worker thread -------------------------------------------------------------------------

    def _put_all(self, requests: list[list[dict[str, Any]]], progress: _Progress) -> Reply:
        botocore_exc: Any = require("botocore.exceptions", extra="cloudwatch")
        client = self.client()
        while progress.done < len(requests):
            events = requests[progress.done]
            try:
                answer = self._put(client, events, botocore_exc)
            except botocore_exc.ClientError as exc:
                return _error_reply(exc)
            progress.rejected.add(answer.get("rejectedLogEventsInfo"), len(events))
            progress.done += 1
        r = progress.rejected
        return Reply(
            200, text=orjson.dumps({"too_old": r.too_old, "too_new": r.too_new, "expired": r.expired}).decode()
        )

    def _put(self, client: Any, events: list[dict[str, Any]], botocore_exc: Any) -> dict[str, Any]:
        stream = self.stream()
        token: str | None = None
        created = False
        for attempt in range(3):
            kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": stream, "logEvents": events}
            if token:
                kwargs["sequenceToken"] = token
            try:
                answer: dict[str, Any] = client.put_log_events(**kwargs)
                return answer
            except botocore_exc.ClientError as exc:
                code = _code(exc)
                if attempt == 2:
                    raise
                if code == "ResourceNotFoundException" and not created and (self.create_group or self.create_stream):
                    self._create(client, stream, botocore_exc)
                    created = True
                elif code == "InvalidSequenceTokenException" and exc.response.get("expectedSequenceToken"):
                    token = str(exc.response["expectedSequenceToken"])
                elif code == "DataAlreadyAcceptedException":
                    return {}
                else:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self, client: Any, stream: str, botocore_exc: Any) -> None:
        """Create the group (if allowed) and the stream (if allowed); one that exists already is fine."""
        steps: list[tuple[str, Callable[[], Any]]] = []
        if self.create_group:
            steps.append(("group", lambda: client.create_log_group(logGroupName=self.group)))
        if self.create_stream:
            steps.append(("stream", lambda: client.create_log_stream(logGroupName=self.group, logStreamName=stream)))
        for what, step in steps:
            try:
                step()
                self.created.append(what)
            except botocore_exc.ClientError as exc:
                if _code(exc) != "ResourceAlreadyExistsException":
                    raise


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error_reply(exc: Any) -> Reply:
    response = exc.response
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
    message = str(response.get("Error", {}).get("Message", "") or exc)
    return Reply(status, headers={ERROR_HEADER: _code(exc)}, text=message[:2000])
