"""The non-blocking hand-off: bounds, backpressure policies, protected levels, order, flush, stop, faults."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from fapilog._chain import Chain, Finisher
from fapilog._handoff import NonBlockingProcessor
from fapilog._otel import (
    InstrumentationScope,
    LogRecordExportResult,
    ReadableLogRecord,
    Record,
    Resource,
    SeverityNumber,
    new_record,
)
from fapilog.testing import BlockingExporter, CaptureExporter

SCOPE = InstrumentationScope("t")


def rec(body: str, severity: SeverityNumber = SeverityNumber.INFO, **attrs: Any) -> Record:
    return new_record(time.time_ns(), severity, severity.name, body, dict(attrs), SCOPE, None)


def make(exporters: Sequence[Any], **kwargs: Any) -> NonBlockingProcessor:
    chain = Chain(finisher=Finisher(Resource.create({})), exporters=exporters)
    kwargs.setdefault("batch_timeout", 0.01)
    return NonBlockingProcessor(chain, **kwargs)


def stall(exporter: BlockingExporter, processor: NonBlockingProcessor) -> None:
    """Get the worker stuck inside an export of one record, so the queue fills behind it."""
    processor.on_emit(rec("first"))
    processor.flush(0)  # wake the worker now
    assert exporter.entered.wait(5)


def test_every_record_exported_in_order() -> None:
    """Records from several threads all arrive once, each thread's in the order it logged them."""
    exporter = CaptureExporter()
    processor = make([exporter], max_records=100_000)

    def produce(tid: int) -> None:
        for i in range(2_000):
            processor.on_emit(rec("m", thread=tid, seq=i))

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = processor.stop(10)
    assert result.submitted == result.processed == 8_000
    assert result.dropped == 0
    seen: dict[int, list[int]] = {}
    for r in exporter.records:
        attrs: dict[str, Any] = dict(r.log_record.attributes or {})
        seen.setdefault(attrs["thread"], []).append(attrs["seq"])
    assert all(seqs == list(range(2_000)) for seqs in seen.values())
    assert len(seen) == 4


def test_drop_newest_counts_drops_and_keeps_the_oldest() -> None:
    """With drop_newest, a full queue drops the incoming record and counts it."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=5, policy="drop_newest", protected_reserve=0)
    stall(exporter, processor)
    for i in range(10):
        processor.on_emit(rec(f"m{i}"))
    stats = processor.stats()
    assert stats.dropped_by_reason == {"queue_full": 6}
    exporter.release()
    result = processor.stop(10)
    assert exporter.messages() == ["first", "m0", "m1", "m2", "m3"]
    assert result.submitted == 11
    assert result.processed + result.dropped == result.submitted


def test_drop_oldest_evicts_the_oldest_unprotected() -> None:
    """With drop_oldest, the oldest queued record that is not protected makes room for the new one."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=4, policy="drop_oldest")
    stall(exporter, processor)
    processor.on_emit(rec("e0", SeverityNumber.ERROR))
    for i in range(5):
        processor.on_emit(rec(f"m{i}"))
    exporter.release()
    result = processor.stop(10)
    assert exporter.messages() == ["first", "e0", "m3", "m4"]
    assert result.dropped == 3
    assert processor.stats().dropped_by_reason == {"evicted_oldest": 3}


def test_block_waits_for_room_then_admits() -> None:
    """With block, a caller at a full queue waits until the worker frees room, and nothing is dropped."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=2, policy="block", block_timeout=10)
    stall(exporter, processor)
    processor.on_emit(rec("m0"))
    done = threading.Event()

    def late() -> None:
        processor.on_emit(rec("m1"))
        done.set()

    threading.Thread(target=late).start()
    assert not done.wait(0.2)  # still waiting: the queue is full
    exporter.release()
    assert done.wait(5)
    result = processor.stop(10)
    assert result.dropped == 0
    assert exporter.messages() == ["first", "m0", "m1"]
    assert result.backpressure_retries == 1


def test_block_drops_after_its_deadline() -> None:
    """With block, a caller waits at most block_timeout, then the record is dropped and counted."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=1, policy="block", block_timeout=0.05, protected_reserve=0)
    stall(exporter, processor)
    start = time.monotonic()
    processor.on_emit(rec("late"))
    assert time.monotonic() - start < 5
    assert processor.stats().dropped_by_reason == {"backpressure_timeout": 1}
    exporter.release()
    processor.stop(10)


def test_protected_levels_are_never_dropped_by_policy() -> None:
    """ERROR and above are admitted past a full queue (within the reserve) and keep their order."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=2, policy="drop_newest", protected_reserve=100)
    stall(exporter, processor)
    processor.on_emit(rec("i0"))
    processor.on_emit(rec("i1"))  # dropped: the queue holds 2 (one in flight)
    processor.on_emit(rec("e1", SeverityNumber.ERROR))
    processor.on_emit(rec("c1", SeverityNumber.FATAL))
    exporter.release()
    result = processor.stop(10)
    assert exporter.messages() == ["first", "i0", "e1", "c1"]
    assert result.dropped == 1


def test_byte_limit_bounds_the_queue() -> None:
    """The byte bound stops admission even when the record bound is far away."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=1_000_000, max_bytes=50_000, protected_reserve=0)
    stall(exporter, processor)
    for _ in range(200):
        processor.on_emit(rec("x" * 1_000))
    stats = processor.stats()
    assert stats.queue_bytes <= 50_000 + 2_000
    assert stats.dropped > 100
    exporter.release()
    processor.stop(10)


def test_flush_returns_when_the_queue_is_empty_not_after_a_timeout() -> None:
    """flush() with a long batch timeout returns as soon as the records are exported."""
    exporter = CaptureExporter()
    processor = make([exporter], batch_timeout=30.0)
    for i in range(10):
        processor.on_emit(rec(f"m{i}"))
    start = time.monotonic()
    assert processor.flush(10)
    assert time.monotonic() - start < 5
    assert len(exporter.records) == 10
    processor.stop(5)


def test_batch_timeout_delivers_without_a_flush() -> None:
    """A record below a full batch is exported once the batch timeout passes, with no flush."""
    exporter = CaptureExporter()
    processor = make([exporter], batch_timeout=0.05)
    processor.on_emit(rec("alone"))
    deadline = time.monotonic() + 5
    while not exporter.records and time.monotonic() < deadline:
        time.sleep(0.01)
    assert exporter.messages() == ["alone"]
    processor.stop(5)


def test_stop_then_log_restarts_the_worker() -> None:
    """After stop() a later record restarts the worker and is delivered."""
    exporter = CaptureExporter()
    processor = make([exporter])
    processor.on_emit(rec("before"))
    processor.stop(5)
    processor.on_emit(rec("after"))
    processor.stop(5)
    assert exporter.messages() == ["before", "after"]


def test_raising_exporter_does_not_reach_caller_or_other_exporters() -> None:
    """An exporter that raises is counted; the other exporter still receives every record."""

    class Boom(CaptureExporter):
        def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
            raise RuntimeError("sink down")

    good = CaptureExporter()
    processor = make([Boom(), good])
    for i in range(50):
        processor.on_emit(rec(f"m{i}"))
    result = processor.stop(5)
    assert len(good.records) == 50
    assert result.export_failures == 50
    assert processor.stats().exported == 50


def test_hanging_exporter_never_blocks_the_caller() -> None:
    """With the worker stuck in an exporter, log calls still return at once (drop policy)."""
    exporter = BlockingExporter()
    processor = make([exporter], max_records=100, policy="drop_newest")
    stall(exporter, processor)
    start = time.monotonic()
    for i in range(10_000):
        processor.on_emit(rec(f"m{i}"))
    elapsed = time.monotonic() - start
    exporter.release()
    result = processor.stop(10)
    assert result.processed + result.dropped == result.submitted == 10_001
    assert elapsed < 10  # returned: nothing waited on the hung exporter


def test_stop_with_a_hung_exporter_times_out_and_counts_what_is_left() -> None:
    """stop() honours its deadline when an exporter hangs and counts queued records as dropped."""
    exporter = BlockingExporter()
    processor = make([exporter])
    stall(exporter, processor)
    for i in range(5):
        processor.on_emit(rec(f"m{i}"))
    result = processor.stop(0.2)
    assert result.timed_out
    assert result.submitted == result.processed + result.dropped
    assert result.dropped == 6
    exporter.release()


def test_async_exporters_run_on_the_workers_loop() -> None:
    """An exporter whose export is a coroutine is awaited on the worker's own event loop."""
    loops: list[asyncio.AbstractEventLoop] = []

    class AsyncExporter(CaptureExporter):
        async def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:  # type: ignore[override]
            loops.append(asyncio.get_running_loop())
            await asyncio.sleep(0)
            return super().export(batch)

    exporter = AsyncExporter()
    processor = make([exporter])
    processor.on_emit(rec("a"))
    processor.stop(5)
    assert exporter.messages() == ["a"]
    assert loops


def test_the_loops_other_tasks_run_between_the_batches_of_a_backlog() -> None:
    """A task that an exporter starts on the worker's loop (a network delivery) runs right after the batch
    that started it, not only once the whole backlog has been worked through."""
    exports_when_task_ran: list[int] = []

    class StartsTasks(BlockingExporter):
        calls = 0

        def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
            result = super().export(batch)
            self.calls += 1

            async def deliver() -> None:
                exports_when_task_ran.append(self.calls)

            asyncio.get_running_loop().create_task(deliver())
            return result

    exporter = StartsTasks()
    processor = make([exporter], batch_size=10, max_records=1_000)
    stall(exporter, processor)  # the worker waits inside the first export...
    for i in range(100):  # ...while a backlog of ten batches builds up behind it
        processor.on_emit(rec(f"m{i}"))
    exporter.release()
    assert processor.stop(5).processed == 101
    assert exporter.calls == 11
    assert exports_when_task_ran == list(range(1, 12))


def test_drop_summary_record_reports_counts() -> None:
    """After drops, the worker emits a summary record with the counts by reason."""
    exporter = BlockingExporter()
    summaries: list[dict[str, int]] = []

    def summary(counts: dict[str, int]) -> Record:
        summaries.append(counts)
        return rec("fapilog dropped records", SeverityNumber.WARN, **{f"dropped.{k}": v for k, v in counts.items()})

    chain = Chain(finisher=Finisher(Resource.create({})), exporters=[exporter])
    processor = NonBlockingProcessor(
        chain,
        max_records=1,
        protected_reserve=0,
        batch_timeout=0.01,
        drop_summary=summary,
        drop_summary_interval=0.05,
    )
    stall(exporter, processor)
    for _ in range(3):
        processor.on_emit(rec("x"))
    exporter.release()
    processor.stop(5)
    assert summaries
    assert summaries[-1]["queue_full"] == 3
    assert "fapilog dropped records" in exporter.messages()


@pytest.mark.parametrize("policy", ["drop_newest", "drop_oldest", "block"])
def test_counts_add_up_under_pressure(policy: str) -> None:
    """For every policy, submitted == processed + dropped after a burst against a slow exporter."""

    class Slow(CaptureExporter):
        def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
            time.sleep(0.001)
            return super().export(batch)

    exporter = Slow()
    processor = make([exporter], max_records=50, policy=policy, block_timeout=0.001, batch_size=8)
    for i in range(3_000):
        processor.on_emit(rec(f"m{i}"))
    result = processor.stop(10)
    assert result.submitted == 3_000
    assert result.processed + result.dropped == 3_000
    assert len(exporter.records) == result.processed


def test_spill_hook_takes_what_a_full_queue_cannot() -> None:
    """With a spill hook (the disk spool's seam), overflow goes to the hook and is counted as spilled."""
    exporter = BlockingExporter()
    spilled: list[str] = []

    def spill(record: Record) -> bool:
        spilled.append(str(record.log_record.body))
        return str(record.log_record.body) != "refused"

    processor = make([exporter], max_records=2, protected_reserve=0, spill=spill)
    stall(exporter, processor)
    processor.on_emit(rec("queued"))
    processor.on_emit(rec("overflow"))
    processor.on_emit(rec("refused"))
    exporter.release()
    result = processor.stop(10)
    assert spilled == ["overflow", "refused"]
    assert exporter.messages() == ["first", "queued"]
    assert (result.spilled, result.dropped) == (1, 1)
    assert result.submitted == result.processed + result.dropped + result.spilled == 4
