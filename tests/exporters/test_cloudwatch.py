"""The CloudWatch Logs exporter, through fapilog, against moto's server over real HTTP (and a fault proxy)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapilog import Settings, get_logger
from fapilog.exporters._cw_batches import MAX_EVENT_BYTES, Event, chunks, fit
from fapilog.exporters.cloudwatch import CloudWatchExporter, EnvCloudWatchExporter
from fapilog.testing import CaptureExporter
from tests.exporters._cw_proxy import Fault, LimitsProxy

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

GROUP = "/fapilog/test"
STREAM = "unit"
FAST: dict[str, Any] = {"retry_base_delay": 0.01, "max_backoff": 0.05, "breaker_recovery": 0.1, "batch_timeout": 0.05}
HOUR_MS = 3600 * 1000
BIG_QUEUE = Settings(core={"max_queue_size": 100_000})


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's threaded server on 127.0.0.1, one per module (tests use log groups of their own)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def group(request: pytest.FixtureRequest) -> str:
    """A log group name of this test's own."""
    return f"/fapilog/{request.node.name.replace('[', '-').replace(']', '')}"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[LimitsProxy]:
    with LimitsProxy(moto_url) as p:
        yield p


def logs_client(url: str) -> Any:
    return boto3.client("logs", endpoint_url=url, region_name="us-east-1")


def stored(url: str, group: str, stream: str = STREAM) -> list[dict[str, Any]]:
    """Every event of the stream, oldest first, each message parsed as the fapilog envelope."""
    client = logs_client(url)
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = client.get_log_events(**kwargs)
        events.extend(page["events"])
        if not page["events"] or page.get("nextForwardToken") in (None, token):
            break
        token = page["nextForwardToken"]
    return [{**e, "envelope": _parsed(e["message"])} for e in events]


def _parsed(message: str) -> Any:
    try:
        return json.loads(message)
    except ValueError:
        return None  # a truncated event


def messages(url: str, group: str, stream: str = STREAM) -> list[Any]:
    return [e["envelope"]["log"]["message"] for e in stored(url, group, stream)]


def log_and_drain(exporter: CloudWatchExporter, *texts: str, **fields: Any) -> None:
    logger = get_logger("app.cloudwatch", sinks=[exporter], reuse=False)
    for text in texts:
        logger.info(text, **fields)
    logger.drain()


def records_at(offsets_ms: list[int]) -> list[Any]:
    """Records made by fapilog, one per offset, timestamped that many ms from now."""
    capture = CaptureExporter()
    logger = get_logger("app.cloudwatch", sinks=[capture], reuse=False)
    for i in range(len(offsets_ms)):
        logger.info(f"at {i}")
    logger.drain()
    now_ns = time.time_ns()
    for record, offset in zip(capture.records, offsets_ms, strict=True):
        record.log_record.timestamp = now_ns + offset * 1_000_000
    return list(capture.records)


def export_and_flush(exporter: CloudWatchExporter, records: list[Any]) -> None:
    async def main() -> None:
        exporter.export(records)
        await exporter.force_flush(30_000)
        await exporter.shutdown()

    asyncio.run(main())


# ---- through fapilog, healthy -------------------------------------------------------------------------------


def test_records_read_back_in_order_and_complete_and_group_and_stream_are_created(moto_url: str, group: str) -> None:
    """250 records: the group and stream are created on demand; all come back once, in order, as envelopes."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=moto_url)
    log_and_drain(exporter, *[f"m{i}" for i in range(250)], region="eu")
    events = stored(moto_url, group)
    assert [e["envelope"]["log"]["message"] for e in events] == [f"m{i}" for i in range(250)]
    assert events[0]["envelope"]["log"]["data"] == {"region": "eu"}
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert exporter._sender.created == ["group", "stream"]
    names = [g["logGroupName"] for g in logs_client(moto_url).describe_log_groups()["logGroups"]]
    assert group in names
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped, stats.retried, stats.batches) == (250, 0, 0, 0, 3)


def test_existing_group_is_success_and_only_the_stream_is_created(moto_url: str, group: str) -> None:
    """ResourceAlreadyExistsException for the group counts as success; the missing stream is created."""
    logs_client(moto_url).create_log_group(logGroupName=group)
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=moto_url)
    log_and_drain(exporter, "one")
    assert exporter._sender.created == ["stream"]
    assert messages(moto_url, group) == ["one"]


def test_without_auto_create_a_missing_group_fails_and_nothing_is_created(moto_url: str, group: str) -> None:
    """create_log_group/stream off: ResourceNotFoundException is permanent (failed, not retried)."""
    exporter = CloudWatchExporter(
        group, log_stream_name=STREAM, endpoint_url=moto_url, create_log_group=False, create_log_stream=False
    )
    log_and_drain(exporter, "a", "b")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 2, 0)
    assert "ResourceNotFoundException" in stats.last_error
    names = [g["logGroupName"] for g in logs_client(moto_url).describe_log_groups()["logGroups"]]
    assert group not in names


def test_default_stream_is_hostname_pid(moto_url: str, group: str) -> None:
    """Without log_stream_name, each process writes <hostname>-<pid>."""
    exporter = CloudWatchExporter(group, endpoint_url=moto_url)
    expected = f"{socket.gethostname()}-{os.getpid()}".replace(":", "_").replace("*", "_")
    assert exporter.log_stream_name == expected
    log_and_drain(exporter, "hello")
    assert messages(moto_url, group, expected) == ["hello"]


# ---- limits, with real payloads (checked by the proxy: moto does not enforce them) --------------------------


def test_requests_are_cut_at_10000_events(proxy: LimitsProxy, moto_url: str, group: str) -> None:
    """25,000 small events in one delivery batch: PutLogEvents requests of 10,000, 10,000 and 5,000; all stored.

    (fapilog's envelopes are ~350 bytes, so through a logger the 1 MiB limit binds first, at ~2,700 events:
    the next test. Here the exporter's own codec and sender put short messages over real HTTP.)"""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, batch_size=10_000)
    now = int(time.time() * 1000)
    events = [Event(now + i // 100, str(i), len(str(i)) + 26) for i in range(25_000)]

    async def main() -> Any:
        return await exporter._sender(exporter._codec.encode(events))

    reply = asyncio.run(main())
    assert exporter._codec.classify(reply).kind == "delivered"
    assert [len(p.events) for p in proxy.delivered_puts()] == [10_000, 10_000, 5_000]
    assert all(not p.violations() for p in proxy.puts)
    assert [e["message"] for e in stored(moto_url, group)] == [str(i) for i in range(25_000)]


def test_a_burst_through_fapilog_is_cut_at_1_mib_and_stored_complete(
    proxy: LimitsProxy, moto_url: str, group: str
) -> None:
    """25,000 records through a logger with batch_size 10,000: requests within every limit, all stored in order."""
    exporter = CloudWatchExporter(
        group, log_stream_name=STREAM, endpoint_url=proxy.url, batch_size=10_000, max_buffered=25_000, **FAST
    )
    logger = get_logger("app.cloudwatch", settings=BIG_QUEUE, sinks=[exporter], reuse=False)
    for i in range(25_000):
        logger.info(str(i))
    assert logger.drain().dropped == 0
    puts = proxy.delivered_puts()
    assert sum(len(p.events) for p in puts) == 25_000
    assert all(not p.violations() for p in proxy.puts)
    assert max(p.size for p in puts) > 1_000_000
    assert messages(moto_url, group) == [str(i) for i in range(25_000)]


def test_batches_are_cut_at_1_mib_counting_26_bytes_per_event(proxy: LimitsProxy, moto_url: str, group: str) -> None:
    """Twelve 200 KB records (multi-byte text): each request stays within 1,048,576 bytes (UTF-8 + 26)."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, batch_size=10_000, **FAST)
    texts = [f"{i}:" + "é" * 100_000 for i in range(12)]  # 200,000 UTF-8 bytes each
    log_and_drain(exporter, *texts)
    puts = proxy.delivered_puts()
    assert len(puts) >= 3
    assert all(p.size <= 1_048_576 for p in puts)
    assert all(not p.violations() for p in proxy.puts)
    assert max(p.size for p in puts) > 800_000  # requests are filled, not cut early
    assert messages(moto_url, group) == texts
    assert exporter.events_truncated == 0


def test_batches_are_sorted_and_cut_to_span_under_24_hours(proxy: LimitsProxy, moto_url: str, group: str) -> None:
    """Records 30 h apart, handed over out of order: sorted, and cut so no request spans 24 h."""
    offsets = [-5 * HOUR_MS, -30 * HOUR_MS, 0, -20 * HOUR_MS, -29 * HOUR_MS]
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    export_and_flush(exporter, records_at(offsets))
    puts = proxy.delivered_puts()
    assert [[e["timestamp"] for e in p.events] == sorted(e["timestamp"] for e in p.events) for p in puts] == [True] * 2
    assert [len(p.events) for p in puts] == [3, 2]  # -30h, -29h, -20h | -5h, 0
    assert all(not p.violations() for p in proxy.puts)
    assert sorted(messages(moto_url, group)) == [f"at {i}" for i in range(5)]
    assert exporter.stats().batches == 1  # one delivery batch, two PutLogEvents requests


def test_an_event_over_the_limit_is_truncated_with_a_marker_and_counted(
    proxy: LimitsProxy, moto_url: str, group: str
) -> None:
    """A 300 KB message is cut to 256 KiB - 26 bytes (character boundary, marker), counted; others intact."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    log_and_drain(exporter, "before", "€" * 100_000, "after")
    events = proxy.delivered_puts()[0].events
    big = events[1]["message"]
    assert len(big.encode()) <= MAX_EVENT_BYTES
    assert len(big.encode()) > MAX_EVENT_BYTES - 64
    assert big.endswith(" bytes]")
    assert "...[truncated " in big
    assert exporter.events_truncated == 1
    assert not proxy.puts[0].violations()
    got = [e["message"] for e in stored(moto_url, group)]
    assert json.loads(got[0])["log"]["message"] == "before"
    assert json.loads(got[2])["log"]["message"] == "after"
    assert exporter.stats().sent == 3


# ---- throttling, 5xx, sequence tokens: a fault-injecting proxy in front of moto ------------------------------


def test_throttling_is_retried_with_backoff_and_does_not_open_the_circuit(
    proxy: LimitsProxy, moto_url: str, group: str
) -> None:
    """Two 400 ThrottlingException answers: retried, then stored once; throttling never opens the breaker."""
    exporter = CloudWatchExporter(
        group, log_stream_name=STREAM, endpoint_url=proxy.url, breaker_threshold=1, max_retries=3, **FAST
    )
    proxy.fail_next("PutLogEvents", Fault(400, "ThrottlingException", "Rate exceeded"))
    proxy.fail_next("PutLogEvents", Fault(400, "ThrottlingException", "Rate exceeded"))
    log_and_drain(exporter, "x", "y")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried, stats.circuit_opened) == (2, 0, 2, 0)
    assert messages(moto_url, group) == ["x", "y"]
    assert [p.status for p in proxy.puts][-3:] == [400, 400, 200]


@pytest.mark.parametrize(
    "fault", [Fault(500), Fault(503, "ServiceUnavailableException"), Fault(502)], ids=["500", "503", "502"]
)
def test_5xx_is_retried(proxy: LimitsProxy, moto_url: str, group: str, fault: Fault) -> None:
    """A 5xx answer is retried with backoff; the batch is stored once."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    proxy.fail_next("PutLogEvents", fault)
    log_and_drain(exporter, "x")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (1, 0, 1)
    assert messages(moto_url, group) == ["x"]


def test_persistent_5xx_gives_up_after_max_retries_and_counts_failed(
    proxy: LimitsProxy, moto_url: str, group: str
) -> None:
    """max_retries=2 and three 503s: three attempts, then the records are counted failed."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, max_retries=2, **FAST)
    proxy.fail_next("PutLogEvents", *[Fault(503, "ServiceUnavailableException")] * 3)
    log_and_drain(exporter, "a", "b")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 2, 2)
    assert len(proxy.puts) == 3
    assert "ServiceUnavailableException" in stats.last_error


def test_a_retry_resumes_after_the_requests_already_put(proxy: LimitsProxy, moto_url: str, group: str) -> None:
    """A batch cut into two requests, the second throttled: the retry sends only the second (no duplicates)."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    logs_client(moto_url).create_log_group(logGroupName=group)
    logs_client(moto_url).create_log_stream(logGroupName=group, logStreamName=STREAM)
    proxy.fail_next("PutLogEvents", Fault(0), Fault(400, "ThrottlingException"))
    export_and_flush(exporter, records_at([-30 * HOUR_MS, 0]))
    assert [(len(p.events), p.status) for p in proxy.puts] == [(1, 200), (1, 400), (1, 200)]
    assert sorted(messages(moto_url, group)) == ["at 0", "at 1"]
    assert exporter.stats().duplicates_possible == 0


def test_invalid_sequence_token_is_answered_with_the_expected_token(
    proxy: LimitsProxy, moto_url: str, group: str
) -> None:
    """Legacy InvalidSequenceTokenException: the put is repeated with expectedSequenceToken, no retry counted."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    logs_client(moto_url).create_log_group(logGroupName=group)
    logs_client(moto_url).create_log_stream(logGroupName=group, logStreamName=STREAM)
    proxy.fail_next("PutLogEvents", Fault(400, "InvalidSequenceTokenException", extra={"expectedSequenceToken": "42"}))
    log_and_drain(exporter, "z")
    assert [p.body.get("sequenceToken") for p in proxy.puts] == [None, "42"]
    assert messages(moto_url, group) == ["z"]
    assert exporter.stats().retried == 0


# ---- rejectedLogEventsInfo -------------------------------------------------------------------------------------


def test_too_new_events_rejected_by_moto_are_counted(moto_url: str, group: str) -> None:
    """moto refuses an event 3 h in the future (rejectedLogEventsInfo): counted too_new, the rest stored."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=moto_url, **FAST)
    export_and_flush(exporter, records_at([-1000, 0, 3 * HOUR_MS]))
    assert exporter.events_rejected == {"too_old": 0, "too_new": 1, "expired": 0}
    assert messages(moto_url, group) == ["at 0", "at 1"]
    stats = exporter.stats()
    assert (stats.sent, stats.dropped_by_reason) == (2, {"rejected": 1})


def test_rejected_info_is_counted_by_aws_index_semantics(proxy: LimitsProxy, group: str) -> None:
    """CloudWatch's answer (canned by the proxy, since moto cannot expire events nor reports indexes as AWS
    documents them): too-old end index exclusive, too-new start inclusive; each reason counted."""
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=proxy.url, **FAST)
    info = {"tooOldLogEventEndIndex": 2, "expiredLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}
    proxy.fail_next("PutLogEvents", Fault(200, extra={"nextSequenceToken": "1", "rejectedLogEventsInfo": info}))
    log_and_drain(exporter, *"abcdef")
    assert exporter.events_rejected == {"too_old": 2, "too_new": 2, "expired": 0}
    stats = exporter.stats()
    assert (stats.sent, stats.dropped_by_reason, stats.failed) == (2, {"rejected": 4}, 0)
    proxy.fail_next("PutLogEvents", Fault(200, extra={"rejectedLogEventsInfo": {"expiredLogEventEndIndex": 3}}))
    log_and_drain(exporter, *"ghi")
    assert exporter.events_rejected == {"too_old": 2, "too_new": 2, "expired": 3}


# ---- the event loop, settings, the environment ------------------------------------------------------------------


class _GatedClient:
    """The real boto3 client whose put waits (up to 10 s) until the event loop has ticked three times while
    it waits, noting the thread it ran on and whether the loop released it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.threads: list[threading.Thread] = []
        self.in_put = threading.Event()
        self.release = threading.Event()
        self.released_by_loop: bool | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_log_events(self, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread())
        self.in_put.set()
        self.released_by_loop = self.release.wait(10)
        return self._client.put_log_events(**kwargs)


def test_boto3_runs_off_the_event_loop(moto_url: str, group: str) -> None:
    """While a put blocks in boto3, the event loop keeps running (it is what releases the put): calls run in
    another thread."""
    client = _GatedClient(logs_client(moto_url))
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, client=client, **FAST)

    async def main() -> None:
        async def ticker() -> None:
            ticks_during_put = 0
            while True:
                if client.in_put.is_set():
                    ticks_during_put += 1
                    if ticks_during_put >= 3:
                        client.release.set()
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        exporter.export(records_at([0, 1]))
        await exporter.force_flush(30_000)
        task.cancel()
        assert threading.current_thread() not in client.threads

    asyncio.run(main())
    assert client.threads
    assert client.released_by_loop is True
    assert len(messages(moto_url, group)) == 2


def test_seed_settings_snippet_builds_the_exporter(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's Settings(sinks=[{"type": "cloudwatch", ...}]) works, verbatim, against moto (boto3 takes the
    endpoint from its standard AWS_ENDPOINT_URL variable)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    settings = Settings(
        sinks=[
            {
                "type": "cloudwatch",
                "log_group_name": "/myapp/production",
                "log_stream_name": "api-server-1",
                "region": "us-east-1",
                "batch_size": 50,
            }
        ]
    )
    logger = get_logger("seed", settings=settings, reuse=False)
    for i in range(120):
        logger.info(f"s{i}")
    logger.drain()
    assert messages(moto_url, "/myapp/production", "api-server-1") == [f"s{i}" for i in range(120)]


def test_env_exporter_reads_fapilog_cloudwatch_variables(
    moto_url: str, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EnvCloudWatchExporter (OTEL_LOGS_EXPORTER=fapilog_cloudwatch) takes FAPILOG_CLOUDWATCH__* alone."""
    monkeypatch.setenv("FAPILOG_CLOUDWATCH__ENDPOINT_URL", moto_url)
    monkeypatch.setenv("FAPILOG_CLOUDWATCH__LOG_GROUP_NAME", group)
    monkeypatch.setenv("FAPILOG_CLOUDWATCH__LOG_STREAM_NAME", STREAM)
    monkeypatch.setenv("FAPILOG_CLOUDWATCH__BATCH_SIZE", "7")
    exporter = EnvCloudWatchExporter()
    assert exporter.delivery.batch_size == 7
    for name in [n for n in os.environ if n.startswith("FAPILOG_CLOUDWATCH__")]:
        monkeypatch.delenv(name)  # until Settings mounts the section, Settings() refuses these variables
    log_and_drain(exporter, "env")
    assert messages(moto_url, group) == ["env"]


def test_invalid_options_fail_at_start_up() -> None:
    """A batch_size over 10,000 or an unknown option fails when the logger is built, naming the sink."""
    with pytest.raises(ValueError, match="cloudwatch"):
        get_logger("x", sinks=[{"type": "cloudwatch", "batch_size": 20_000}], reuse=False)
    with pytest.raises(ValueError, match="cloudwatch"):
        get_logger("x", sinks=[{"type": "cloudwatch", "log_group": "/typo"}], reuse=False)


# ---- the limits as pure functions ------------------------------------------------------------------------------

_events = st.lists(
    st.builds(
        lambda ts, n: Event(ts, "x" * n, n + 26),
        st.integers(0, 4 * 24 * HOUR_MS),
        st.integers(0, 300_000),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_events, st.integers(1, 20))
def test_chunks_respect_every_limit_and_keep_sorted_order(events: list[Event], max_events: int) -> None:
    """Any events: requests within count, bytes and span, chronological, and together the stable sort."""
    out = chunks(events, max_events=max_events)
    assert [e for chunk in out for e in chunk] == sorted(events, key=lambda e: e.timestamp)
    for chunk in out:
        assert 1 <= len(chunk) <= max_events
        assert sum(e.size for e in chunk) <= 1_048_576 or len(chunk) == 1
        assert chunk[-1].timestamp - chunk[0].timestamp < 24 * HOUR_MS


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=3000), st.integers(64, 2000))
def test_fit_cuts_on_a_character_boundary_within_the_limit(text: str, limit: int) -> None:
    """fit keeps valid UTF-8 within the limit, a prefix of the input, and says how much it cut."""
    data = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()
    out, cut = fit(data, limit)
    assert len(out) <= limit
    out.decode()
    if cut == 0:
        assert out == data
    else:
        kept = out[: out.rindex(b"...[truncated ")]
        assert data.startswith(kept)
        assert len(data) - len(kept) == cut
        assert out.endswith(f"...[truncated {cut} bytes]".encode())


# ---- throughput (reported, not asserted) --------------------------------------------------------------------


def test_throughput_50000_records_into_moto(moto_url: str, group: str, capsys: pytest.CaptureFixture[str]) -> None:
    """50,000 records through fapilog into moto over HTTP: every one stored; the rate is printed."""
    n = 50_000
    exporter = CloudWatchExporter(
        group, log_stream_name=STREAM, endpoint_url=moto_url, batch_size=10_000, max_buffered=n
    )
    logger = get_logger("bench", settings=BIG_QUEUE, sinks=[exporter], reuse=False)
    start = time.perf_counter()
    for i in range(n):
        logger.info("request handled", user_id=i, path="/api/items", status=200, duration_ms=12.5)
    result = logger.drain(60.0)  # moto takes seconds to store them all: the default deadline (3 s) can be too short
    assert result.dropped == 0
    assert not result.timed_out
    elapsed = time.perf_counter() - start
    assert exporter.stats().sent == n, (result, exporter.stats())
    assert len(stored(moto_url, group)) == n
    with capsys.disabled():
        print(f"\ncloudwatch -> moto: {n} records in {elapsed:.2f} s = {n / elapsed:,.0f} records/s")


def test_no_region_fails_at_once_without_retries(
    moto_url: str, group: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """No region anywhere (boto3's NoRegionError): the batch fails at once, counted, never retried."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    exporter = CloudWatchExporter(group, log_stream_name=STREAM, endpoint_url=moto_url, **FAST)
    log_and_drain(exporter, "lost")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 1, 0)
    assert "NoRegionError" in stats.last_error


def test_builder_add_cloudwatch_delivers_to_moto(moto_url: str, group: str) -> None:
    """LoggerBuilder().add_cloudwatch(...) builds a logger whose records land in the log group, in order."""
    from fapilog import LoggerBuilder

    logger = (
        LoggerBuilder("built")
        .add_cloudwatch(group, region="us-east-1", log_stream_name=STREAM, endpoint_url=moto_url)
        .with_circuit_breaker(enabled=True, threshold=3)
        .build()
    )
    for i in range(30):
        logger.info(f"b{i}")
    logger.drain()
    assert messages(moto_url, group, STREAM) == [f"b{i}" for i in range(30)]
