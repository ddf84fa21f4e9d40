"""Groups 2, 3 and 5: the Loki encoder, CloudWatch Logs into moto's server, and the rotating file."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _components_common import (
    DRAIN_TIMEOUT,
    MESSAGE,
    PATH,
    Repeated,
    Sizes,
    Table,
    make_record,
    rate,
    round_robin,
    runs_text,
)
from _components_stages import QUEUE, Sink, json_file, run_file_setups
from _format import count, us
from fapilog import Settings, get_logger
from fapilog._otel import Record, as_readable
from fapilog.exporters._loki_labels import LabelMaker
from fapilog.exporters.loki import LokiEncoding, _LokiCodec
from fapilog.sinks import rotating_file

# ---- 2. the Loki encoder --------------------------------------------------------------------------------------

LOKI_BATCH = 100  # LokiExporter's default batch_size: the records of one push
_LOKI_HEADER = ["Encoding", "Records/s", "Records/s, each run", "µs per record: line + labels",
                "µs per record: body encoding", "Body bytes per record"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Encoding:
    label: str
    encoding: LokiEncoding
    gzip: bool = False


_ENCODINGS = (
    _Encoding("protobuf + snappy (the default)", "protobuf"),
    _Encoding("JSON", "json"),
    _Encoding("JSON + gzip", "json", gzip=True),
)


@dataclass(slots=True)
class _EncodeRuns:
    render: list[float] = field(default_factory=list)  # seconds turning records into stream entries
    encode: list[float] = field(default_factory=list)  # seconds encoding the push bodies
    body_bytes: int = 0


def _codec(encoding: _Encoding) -> _LokiCodec:
    """The exporter's own codec, with its default labels (service=fapilog, plus level)."""
    labels = LabelMaker({"service": "fapilog"}, ["level"])
    return _LokiCodec(labels, encoding.encoding, gzip_json=encoding.gzip, max_line_bytes=256 * 1024)


def _encode(encoding: _Encoding, records: list[Record], runs: _EncodeRuns | None) -> None:
    codec = _codec(encoding)
    clock = time.perf_counter
    start = clock()
    items = [codec.item(r) for r in as_readable(records)]
    rendered = clock()
    size = 0
    for first in range(0, len(items), LOKI_BATCH):
        size += len(codec.encode(items[first : first + LOKI_BATCH]).body)
    done = clock()
    if runs is not None:
        runs.render.append(rendered - start)
        runs.encode.append(done - rendered)
        runs.body_bytes = size


def loki_encoder(sizes: Sizes) -> Table:
    n = sizes.loki
    records = [make_record(i) for i in range(n)]
    for encoding in _ENCODINGS:
        _encode(encoding, records[: sizes.warmup], None)
    runs = [_EncodeRuns() for _ in _ENCODINGS]

    def step(i: int) -> Callable[[], None]:
        return lambda: _encode(_ENCODINGS[i], records, runs[i])

    round_robin(sizes.repeats, [step(i) for i in range(len(_ENCODINGS))])
    rows = []
    for encoding, result in zip(_ENCODINGS, runs, strict=True):
        rates = [rate(n, r + e) for r, e in zip(result.render, result.encode, strict=True)]
        rows.append(
            [encoding.label, count(Repeated(rates).value), runs_text(rates),
             us(Repeated(result.render).value / n * 1e6), us(Repeated(result.encode).value / n * 1e6),
             f"{result.body_bytes / n:.0f}"]
        )  # fmt: skip
    return Table(
        title=f"2. Loki encoder (N = {count(n)})",
        method=(
            f"The Loki exporter's codec on {count(n)} ready records (the typical record, as the worker hands it "
            "to exporters): each record becomes a stream entry (its fapilog JSON envelope as the line, the labels "
            f"`service` and `level`, structured metadata), then the entries are encoded {LOKI_BATCH} at a time "
            "(the exporter's default batch size) into push bodies. No network: the cost of making the bodies."
        ),
        header=_LOKI_HEADER,
        rows=rows,
    )


# ---- 3. CloudWatch Logs into moto's server ---------------------------------------------------------------------

_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
_STREAM = "bench"


@dataclass(slots=True)
class _CloudRun:
    calls_seconds: float
    e2e_seconds: float
    stored: int
    dropped: int


def _stored_events(client: Any, group: str) -> int:
    """Events of the stream, counted page by page (following nextForwardToken until it repeats)."""
    total = 0
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": _STREAM, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = client.get_log_events(**kwargs)
        total += len(page["events"])
        if not page["events"] or page.get("nextForwardToken") in (None, token):
            return total
        token = page["nextForwardToken"]


def _cloud_run(url: str, client: Any, n: int) -> _CloudRun:
    from fapilog.exporters.cloudwatch import CloudWatchExporter

    group = f"/fapilog/bench-{uuid.uuid4().hex[:12]}"
    exporter = CloudWatchExporter(
        group,
        log_stream_name=_STREAM,
        region="us-east-1",
        endpoint_url=url,
        batch_size=10_000,
        max_buffered=100_000,
        shutdown_timeout=DRAIN_TIMEOUT,
    )
    log = get_logger("bench", settings=Settings(core={"max_queue_size": 200_000}), sinks=[exporter], reuse=False)
    info = log.info
    clock = time.perf_counter
    start = clock()
    for i in range(n):
        info(MESSAGE, user_id=i, path=PATH, status=200, duration_ms=12.5)
    calls_done = clock()
    result = log.drain(DRAIN_TIMEOUT)
    closed = clock()
    stored = _stored_events(client, group)
    client.delete_log_group(logGroupName=group)  # moto keeps every event in memory
    dropped = result.dropped + exporter.stats().dropped + exporter.stats().failed
    return _CloudRun(calls_done - start, closed - start, stored, dropped)


def cloudwatch(sizes: Sizes) -> Table:
    n = sizes.cloudwatch
    title = f"3. CloudWatch Logs into moto's server (N = {count(n)})"
    method = (
        f'{count(n)} `log.info(...)` calls through a logger with `Settings(core={{"max_queue_size": 200_000}})` '
        "and `CloudWatchExporter(endpoint_url=..., batch_size=10_000, max_buffered=100_000)` putting into moto's "
        "`ThreadedMotoServer` on 127.0.0.1, started in this process. Records/s = events stored ÷ seconds from the "
        "first call until `drain()` returned; the events are then counted with `get_log_events`."
    )
    header = ["Setup", "Records/s", "Records/s, each run", "Caller µs per call", "Seconds after the last call",
              "Stored (worst run)", "Dropped or failed"]  # fmt: skip
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        return Table(title, method, header, [], [f"Skipped: {exc} (pip install boto3 'moto[server]')."])
    os.environ.update(_AWS_ENV)
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        client = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
        _cloud_run(url, client, sizes.warmup)
        runs: list[_CloudRun] = []
        round_robin(sizes.repeats, [lambda: runs.append(_cloud_run(url, client, n))])
    finally:
        server.stop()
    rates = [rate(r.stored, r.e2e_seconds) for r in runs]
    row = [
        "batch_size 10,000, one stream", count(Repeated(rates).value), runs_text(rates),
        us(Repeated([r.calls_seconds / n * 1e6 for r in runs]).value),
        f"{Repeated([r.e2e_seconds - r.calls_seconds for r in runs]).value:.2f}",
        f"{count(min(r.stored for r in runs))} / {count(n)}", count(max(r.dropped for r in runs)),
    ]  # fmt: skip
    notes = [
        "moto's server runs in this process: its handling of each PutLogEvents request (parsing the body, "
        "storing the events) shares the interpreter lock with the logger, so the figure includes moto's work; "
        "against AWS that part is network latency instead, on another machine."
    ]
    return Table(title, method, header, [row], notes)


# ---- 5. the rotating file ----------------------------------------------------------------------------------------


def _rotating(rotation: str | None) -> Sink:
    def sink(directory: Path) -> tuple[Any, Callable[[], None]]:
        return rotating_file(directory / "app.jsonl", rotation=rotation), lambda: None

    return sink


_FILE_SINKS: tuple[tuple[str, Sink], ...] = (
    ("`StdoutJsonExporter` on an open file (for comparison)", json_file),
    ("`rotating_file(path)` (never rotated)", _rotating(None)),
    ('`rotating_file(path, rotation="10 MB")`', _rotating("10 MB")),
)


_FILE_HEADER = ["Sink", "Records/s", "Records/s, each run", "Caller µs per call", "Log files at the end",
                "Delivered (worst run)"]  # fmt: skip


def rotating_files(sizes: Sizes) -> Table:
    n = sizes.pipeline
    results = run_file_setups([(lambda: {"settings": Settings(core=QUEUE)}, sink) for _, sink in _FILE_SINKS], sizes)
    rows = []
    for (label, _), result in zip(_FILE_SINKS, results, strict=True):
        rows.append(
            [label, count(Repeated(result.rates()).value), runs_text(result.rates()),
             us(result.caller_us(n)), str(max(r.files for r in result.runs)),
             f"{count(min(r.delivered for r in result.runs))} / {count(n)}"]
        )  # fmt: skip
    return Table(
        title=f"5. Rotating file (N = {count(n)})",
        method=(
            f"{count(n)} `log.info(...)` calls through a logger with the default settings and the production "
            "preset's queue, into each sink in a fresh directory. Records/s = lines delivered (counted over every "
            "file in the directory, rotated ones included) ÷ seconds from the first call until `drain()` returned."
        ),
        header=_FILE_HEADER,
        rows=rows,
    )
