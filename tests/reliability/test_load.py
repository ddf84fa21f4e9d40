"""Load: 32 threads and 1,000 asyncio tasks logging at once through one pipeline: every record arrives exactly
once, each carrying its own producer's bound context, in its producer's order, with no deadlock; the same
through an HTTP exporter whose server fails every other request (retries on)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from fapilog import DrainResult, Settings, configure, get_async_logger, get_logger
from fapilog.exporters.http import HttpExporter
from fapilog.testing import CaptureExporter
from tests.exporters._servers import Receiver, Request

from ._figures import LOAD_RECORDS, LOAD_RECORDS_PER_TASK, LOAD_RECORDS_PER_THREAD, LOAD_TASKS, LOAD_THREADS
from .conftest import Figures

pytestmark = pytest.mark.reliability

HANG_GUARD = 120.0  # seconds: a deadlock fails the test instead of hanging it

QUEUES: dict[str, dict[str, Any]] = {
    # a queue that absorbs the burst (drop policy: a drop would be a lost record, and is asserted against)
    "roomy_queue": {"max_queue_size": 100_000, "backpressure_policy": "drop_newest"},
    # a queue far smaller than the burst: producers wait for room (block policy with a generous deadline)
    "tight_queue_block": {"max_queue_size": 256, "backpressure_policy": "block", "backpressure_wait_ms": 60_000},
}


def produce(queue: dict[str, Any], sinks: list[Any]) -> DrainResult:
    """Log from ``LOAD_THREADS`` threads and ``LOAD_TASKS`` tasks at once through the process-wide pipeline.

    Each producer binds its own id (``bound_owner``) and passes it as a field (``owner``) with a sequence
    number, so every record says who made it twice: once from the context captured at call time."""
    settings = Settings(core={**queue, "batch_max_size": 128, "batch_timeout_seconds": 0.01})
    configure(settings, sinks=sinks)
    sync_logger = get_logger("load.threads")
    start = threading.Barrier(LOAD_THREADS + 1, timeout=HANG_GUARD)
    errors: list[BaseException] = []

    def thread_body(n: int) -> None:
        try:
            owner = f"thread-{n}"
            sync_logger.bind(bound_owner=owner)
            start.wait()
            for seq in range(LOAD_RECORDS_PER_THREAD):
                sync_logger.info("thread record", owner=owner, seq=seq)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    async def tasks() -> None:
        async_logger = await get_async_logger("load.tasks")

        async def task_body(n: int) -> None:
            owner = f"task-{n}"
            async_logger.bind(bound_owner=owner)
            for seq in range(LOAD_RECORDS_PER_TASK):
                await async_logger.info("task record", owner=owner, seq=seq)
                await asyncio.sleep(0)  # let the other tasks interleave

        start.wait()
        await asyncio.wait_for(asyncio.gather(*(task_body(n) for n in range(LOAD_TASKS))), HANG_GUARD)

    threads = [threading.Thread(target=thread_body, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    asyncio.run(tasks())
    for thread in threads:
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "a logging thread never finished (deadlock?)"
    assert not errors, errors
    return sync_logger.drain(HANG_GUARD)


def check_records(records: list[dict[str, Any]]) -> None:
    """Exactly once per (owner, seq), own context on each, producer order kept."""
    seen = Counter((r["owner"], r["seq"]) for r in records)
    duplicated = [key for key, count in seen.items() if count > 1]
    assert not duplicated, f"{len(duplicated)} records arrived more than once, e.g. {duplicated[:3]}"
    expected = {(f"thread-{n}", s) for n in range(LOAD_THREADS) for s in range(LOAD_RECORDS_PER_THREAD)}
    expected |= {(f"task-{n}", s) for n in range(LOAD_TASKS) for s in range(LOAD_RECORDS_PER_TASK)}
    missing = expected - set(seen)
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:3]}"
    assert len(records) == LOAD_RECORDS
    mixed = [r for r in records if r["bound_owner"] != r["owner"]]
    assert not mixed, f"{len(mixed)} records carry another producer's context, e.g. {mixed[:2]}"
    order: dict[str, list[int]] = defaultdict(list)
    for r in records:
        order[r["owner"]].append(r["seq"])
    assert all(seqs == sorted(seqs) for seqs in order.values()), "a producer's records arrived out of order"


@pytest.mark.parametrize("queue", list(QUEUES), ids=list(QUEUES))
def test_threads_and_tasks_together_lose_nothing_duplicate_nothing_mix_nothing(queue: str, figures: Figures) -> None:
    """32 threads + 1,000 tasks: every record exactly once, with its own bound context, in order; counts exact."""
    capture = CaptureExporter()
    result = produce(QUEUES[queue], [capture])
    assert not result.timed_out
    assert (result.submitted, result.processed, result.dropped) == (LOAD_RECORDS, LOAD_RECORDS, 0)
    assert result.export_failures == 0
    records = [dict(r.log_record.attributes or {}) for r in capture.records]
    check_records(records)
    figures.add(f"load.{queue}.delivered", len(records))
    figures.add("load_records", len(records))
    owners = {str(r["owner"]) for r in records}
    figures.add("load_threads", sum(1 for owner in owners if owner.startswith("thread-")))
    figures.add("load_tasks", sum(1 for owner in owners if owner.startswith("task-")))
    if queue == "tight_queue_block":
        assert result.queue_depth_high_watermark <= QUEUES[queue]["max_queue_size"]
        figures.add("load.tight_queue_block.backpressure_waits", result.backpressure_retries)


class Flapping(Receiver):
    """An HTTP endpoint that answers 503 to every other request (the odd ones), 200 to the rest."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    def handle(self, request: Request) -> tuple[int, dict[str, str], str]:
        with self._lock:
            self._count += 1
            failing = self._count % 2 == 1
        return (503, {}, "flapping") if failing else (200, {}, "ok")


@pytest.fixture
def flapping() -> Iterator[Flapping]:
    with Flapping() as server:
        yield server


def test_a_flapping_exporter_under_the_same_load_delivers_everything_once(flapping: Flapping, figures: Figures) -> None:
    """Every other request fails: with retries every record is still delivered exactly once, the retries are
    counted, and an exporter beside it sees every record without a failure."""
    capture = CaptureExporter()
    exporter = HttpExporter(
        flapping.url,
        batch_format="ndjson",
        batch_size=500,
        batch_timeout=0.05,
        max_retries=3,
        backoff=0.001,
        max_backoff=0.01,
        max_buffered=LOAD_RECORDS,
    )
    result = produce(QUEUES["roomy_queue"], [exporter, capture])
    assert not result.timed_out
    assert (result.submitted, result.processed, result.dropped) == (LOAD_RECORDS, LOAD_RECORDS, 0)
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped) == (LOAD_RECORDS, 0, 0)
    delivered = flapping.delivered()
    failed = [r for r in flapping.requests if r.status == 503]
    assert failed, "the server never failed: the test did not test retries"
    assert result.retried == stats.retried == len(failed)
    records = [orjson.loads(line)["log"] for request in delivered for line in request.body.splitlines()]
    check_records([{**r["data"], **r["context"]} for r in records])
    check_records([dict(r.log_record.attributes or {}) for r in capture.records])
    figures.add("load.flapping.delivered", len(records))
    figures.add("load.flapping.failed_requests", len(failed))
    figures.add("load.flapping.retried", stats.retried)
