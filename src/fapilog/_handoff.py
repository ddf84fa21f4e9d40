"""The non-blocking hand-off: a bounded queue in front of a background worker, as an OTel processor.

The caller's side (``on_emit``) takes one uncontended lock, appends to a deque and, only when the queue has
just reached a full batch, wakes the worker. The worker is a daemon thread running its own asyncio loop (so
async exporters work without any loop of the application's); it takes everything queued in one swap and
runs it through the chain in batches of ``batch_size``. When the queue is empty it sleeps until a batch
fills, ``batch_timeout`` passes, or someone flushes.

Bounds count records and (estimated) bytes, both including the batch in flight. When they are reached the
backpressure policy decides: ``drop_newest`` drops the record being logged, ``drop_oldest`` drops the oldest
queued record that is not protected, ``block`` waits up to ``block_timeout`` for room and then drops.
Protected records (ERROR and above by default) are never dropped by policy: they may exceed the bounds by
up to ``protected_reserve`` records, and only past that reserve do they wait, like ``block``, and then count
as dropped (reason ``protected_overflow``). Every drop is counted by reason; the queue is one FIFO, so records
keep their order. After ``os.fork`` the child starts with an empty queue and its own worker.

The ``spill`` policy gives a record that finds the queue full to a disk spool instead (``spill``, a cheap
append on the caller's thread). With a ``spill_source`` (the same spool, read back), spilled records return
into the pipeline when there is room, in order: from the first spilled record until the spool is empty
again, every new record (protected ones too) goes to the spool behind it, and the worker processes the
queue first and then the spool, batch by batch. A flush waits for what was spilled before it.

The queue is one flat deque of fixed-width entries (see ``_entries``), which keeps the cyclic garbage
collector's work small while the queue is long.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

from fapilog._diagnostics import Diagnostics
from fapilog._drain import DrainResult, PipelineStats, SpoolCounts
from fapilog._entries import WIDTH, Marker, adopt, materialize, record_entry, severity, split_entries
from fapilog._otel import (
    Capture,
    LogRecordProcessor,
    ReadWriteLogRecord,
    Record,
    SeverityNumber,
    from_capture,
)
from fapilog._threads import start_daemon

__all__ = ["BackpressurePolicy", "BatchHandler", "NonBlockingProcessor", "SpillSource"]


class BackpressurePolicy(enum.StrEnum):
    """What happens to a record logged while the queue is full."""

    DROP_NEWEST = "drop_newest"
    DROP_OLDEST = "drop_oldest"
    BLOCK = "block"
    SPILL = "spill"


class BatchHandler(Protocol):
    """What the worker hands batches to (fapilog's ``Chain``, or a list of OTel processors)."""

    async def process_batch(self, batch: list[ReadWriteLogRecord]) -> None: ...
    async def flush(self, timeout_millis: int = ...) -> None: ...
    async def shutdown(self) -> None: ...


class SpillSource(Protocol):
    """Where spilled records are read back from (the disk spool): in order, acknowledged once processed."""

    @property
    def next_seq(self) -> int: ...
    @property
    def acked_seq(self) -> int: ...
    def take(self, limit: int) -> tuple[int, list[Any]]: ...
    def ack(self, end: int, *, replay: bool = ...) -> None: ...
    def pending(self) -> int: ...


_SPILL = -2  # _full's answer: give the record to the spill hook


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_live: weakref.WeakSet[NonBlockingProcessor] = weakref.WeakSet()


class NonBlockingProcessor(LogRecordProcessor):
    """A ``LogRecordProcessor`` whose ``on_emit`` only queues; a background worker does the rest."""

    def __init__(
        self,
        handler: BatchHandler,
        *,
        max_records: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        policy: BackpressurePolicy | str = BackpressurePolicy.DROP_NEWEST,
        block_timeout: float = 0.05,
        protected_severity: int = SeverityNumber.ERROR.value,
        protected_reserve: int = 10_000,
        batch_size: int = 256,
        batch_timeout: float = 0.25,
        diagnostics: Diagnostics | None = None,
        drop_summary: Callable[[dict[str, int]], ReadWriteLogRecord | None] | None = None,
        drop_summary_interval: float = 60.0,
        spill: Callable[[ReadWriteLogRecord], bool] | None = None,
        spill_source: SpillSource | None = None,
        spool_totals: Callable[[], SpoolCounts] | None = None,
    ) -> None:
        if max_records < 1 or max_bytes < 1 or batch_size < 1 or protected_reserve < 0:
            raise ValueError("queue limits and batch size must be positive")
        self._handler = handler
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._policy = BackpressurePolicy(policy)
        self._block_timeout = max(0.0, block_timeout)
        self._protected = protected_severity
        self._reserve = protected_reserve
        self._batch_size = batch_size
        self._batch_timeout = batch_timeout
        # A caller wakes the sleeping worker when the queue reaches this length (1 = every record).
        self._wake_slots = (batch_size if batch_timeout > 0 else 1) * WIDTH
        self._diagnostics = diagnostics or Diagnostics()
        self._drop_summary = drop_summary
        self._summary_interval = drop_summary_interval
        self._spill = spill
        self._spill_source = spill_source if spill is not None else None
        self._spool_totals = spool_totals
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._queue: deque[Any] = deque()  # flat: WIDTH slots per entry
        self._count = 0  # records queued or in flight
        self._written_off = 0  # in flight when a drain timed out (counted dropped): not counted again later
        self._bytes = 0
        self._accepted = 0
        self._processed = 0
        self._hwm = 0
        self._dropped: Counter[str] = Counter()
        self._reported_drops = 0
        self._waits = 0
        self._spilled = 0
        # While spilled records wait in the spool, _limit is 0, so every record takes the slow path to the
        # spool behind them (the fast path's one comparison is unchanged).
        self._limit = self._max_records
        self._spill_active = False
        self._spilling_now = 0  # spills decided and not finished (their appends run outside the lock)
        self._waiting = 0
        self._urgent = False
        self._stopping = False
        self._parked = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_fut: asyncio.Future[None] | None = None
        self._next_summary = time.monotonic() + self._summary_interval

    # ---- caller side ------------------------------------------------------------------------------------

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Queue a record (from any OpenTelemetry logger); never blocks beyond the ``block`` policy."""
        size = log_record.size if type(log_record) is Record else adopt(log_record)
        self.offer(record_entry(log_record, size), size)

    def offer(self, entry: Capture | tuple[Any, ...], size: int) -> None:
        """Queue an entry: a ``Capture`` (fapilog's loggers; the worker makes the record) or a record entry."""
        with self._lock:
            if self._count < self._limit and self._bytes + size <= self._max_bytes:
                self._queue.extend(entry)
                self._count += 1
                self._bytes += size
                self._accepted += 1
                if self._count > self._hwm:  # noqa: PLR1730 - cheaper than max() on the hot path
                    self._hwm = self._count
                depth = len(self._queue)
            else:
                depth = self._full(entry, size)
        if depth == _SPILL:
            self._spill_record(entry)
        elif depth == self._wake_slots or self._thread is None:
            self._wake()

    def resume_spill(self) -> None:
        """Records wait in the spill source (left by an earlier process): replay them before new ones."""
        if self._spill_source is None:
            return
        with self._lock:
            self._spill_active = True
            self._limit = 0
        self._wake()

    def disable_spill(self) -> None:
        """Stop spilling (a forked child must not write into its parent's spool): a full queue then follows
        the plain policy, and spill mode ends."""
        with self._lock:
            self._spill = None
            self._spill_source = None
            self._spill_active = False
            self._limit = self._max_records

    def count_drop(self, reason: str) -> None:
        """Count a record lost before it reached the queue (e.g. it could not be captured)."""
        with self._lock:
            self._dropped[reason] += 1

    def _full(self, record: Any, size: int) -> int:
        """Apply the policy to ``record`` arriving at a full queue (lock held). Returns the new depth or -1."""
        if self._spill_source is not None:  # the spool takes it, behind any record spilled before
            self._spill_active = True
            self._limit = 0
            self._spilling_now += 1
            return _SPILL
        if severity(record) >= self._protected:
            if self._count < self._max_records + self._reserve:
                return self._admit(record, size)
            return self._wait_then_admit(record, size, "protected_overflow")
        if self._spill is not None:
            return _SPILL
        if self._policy is BackpressurePolicy.DROP_OLDEST and self._evict_oldest():
            return self._admit(record, size)
        if self._policy is BackpressurePolicy.BLOCK:
            return self._wait_then_admit(record, size, "backpressure_timeout")
        self._dropped["queue_full"] += 1
        return -1

    def _spill_record(self, entry: Any) -> None:
        """Hand a record that found the queue full to the spill hook (the disk spool), outside the lock."""
        try:
            record = materialize(entry)
            kept = bool(self._spill(record)) if self._spill is not None else False
        except Exception as exc:
            kept = False
            self._diagnostics.warn("worker", "spill hook raised", error=exc)
        wake = False
        with self._lock:
            if self._spill_source is not None:
                self._spilling_now -= 1
                wake = True
            if kept:
                self._spilled += 1
            elif self._spill_source is not None and severity(entry) >= self._protected:
                self._admit(entry, entry[-1])  # never dropped by policy: into memory, beyond the bounds
            else:
                self._dropped["spill_failed"] += 1
        if wake and (self._thread is None or self._parked):
            self._wake()

    def _admit(self, entry: Any, size: int) -> int:
        self._queue.extend(entry)
        self._count += 1
        self._bytes += size
        self._accepted += 1
        self._hwm = max(self._hwm, self._count)
        return len(self._queue)

    def _evict_oldest(self) -> bool:
        queue = self._queue
        for start in range(0, len(queue), WIDTH):
            entry = (queue[start], queue[start + 1])
            if type(entry[0]) is not Marker and severity(entry) < self._protected:
                size = queue[start + WIDTH - 1]
                queue.rotate(-start)
                for _ in range(WIDTH):
                    queue.popleft()
                queue.rotate(start)
                self._count -= 1
                self._bytes -= size
                self._accepted -= 1
                self._dropped["evicted_oldest"] += 1
                return True
        return False

    def _wait_then_admit(self, record: Any, size: int, reason: str) -> int:
        if threading.current_thread() is self._thread:  # the worker itself must never wait on itself
            self._dropped[reason] += 1
            return -1
        deadline = time.monotonic() + self._block_timeout
        limit = self._max_records + (self._reserve if reason == "protected_overflow" else 0)
        self._waits += 1
        self._waiting += 1
        try:
            while self._count >= limit or (reason != "protected_overflow" and self._bytes + size > self._max_bytes):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    self._dropped[reason] += 1
                    return -1
                self._space.wait(remaining)
        finally:
            self._waiting -= 1
        return self._admit(record, size)

    def _wake(self) -> None:
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()
            return
        fut, loop = self._wake_fut, self._loop
        if self._parked and fut is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_resolve, fut)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = start_daemon(self._run, "fapilog-worker")

    # ---- worker side ------------------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # pragma: no cover - the loop itself failing
            self._diagnostics.warn("worker", "worker stopped unexpectedly", error=exc)
        finally:
            self._parked = False
            self._loop = None
            loop.close()
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
                queue = self._queue
                pending = len(queue) > 0  # records, or flush markers someone waits on, queued behind the stop
            if pending:  # logged (or flushed) while stopping: a new worker takes them
                self._start()

    async def _main(self) -> None:
        while True:
            with self._lock:
                items = self._queue
                if items:
                    self._queue = deque()
                self._urgent = False
                stopping = self._stopping
                spilling = self._spill_active
            if items:
                taken = len(items) // WIDTH
                if await self._handle(items):
                    return
                if taken >= self._batch_size or spilling:  # a backlog: keep going without sleeping
                    continue
            elif spilling:
                if await self._replay_spill():
                    continue
                if stopping:  # what could not be read back stays in the spool for the next start
                    return
            elif stopping:
                return
            await self._maybe_summarise()
            await self._park()

    async def _park(self) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._wake_fut = fut
        self._parked = True
        with self._lock:
            ready = self._urgent or self._stopping or len(self._queue) >= self._wake_slots
        if ready:
            self._parked = False
            return
        timeout = self._batch_timeout if self._batch_timeout > 0 else self._summary_interval
        handle = loop.call_later(timeout, _resolve, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._parked = False

    async def _handle(self, items: deque[Any]) -> bool:
        """Process queued entries in order; returns True when a stop marker was reached.

        Entries queued after a stop marker go back to the front of the queue for the next worker.
        """
        chunk: list[ReadWriteLogRecord] = []
        chunk_bytes = 0
        entries = zip(*[iter(items)] * WIDTH, strict=True)  # lazily: no list of all entries at once
        for entry in entries:
            first = entry[0]
            if type(first) is Marker:
                if chunk:
                    await self._process(chunk, chunk_bytes)
                    chunk, chunk_bytes = [], 0
                if self._spill_active and first.spill_mark is not None:  # what was spilled before it goes first
                    await self._drain_spill(first.spill_mark)
                if first.stop:
                    with self._lock:
                        for rest in reversed(list(entries)):
                            self._queue.extendleft(reversed(rest))
                await self._complete(first)
                if first.stop:
                    return True
                continue
            chunk_bytes += entry[-1]
            chunk.append(from_capture(entry) if type(first) is int else first)
            if len(chunk) >= self._batch_size:
                await self._process(chunk, chunk_bytes)
                chunk, chunk_bytes = [], 0
        if chunk:
            await self._process(chunk, chunk_bytes)
        return False

    async def _process(self, chunk: list[ReadWriteLogRecord], chunk_bytes: int) -> None:
        try:
            await self._handler.process_batch(chunk)
        except Exception as exc:
            self._diagnostics.warn("worker", "batch handler raised", error=exc, records=len(chunk))
        with self._lock:
            late = min(self._written_off, len(chunk))
            if late:  # a timed-out drain counted these as dropped: they were processed after all
                self._written_off -= late
                self._dropped["shutdown_timeout"] -= late
                self._accepted += late
            self._count -= len(chunk) - late
            self._bytes = max(0, self._bytes - chunk_bytes)
            self._processed += len(chunk)
            if self._waiting:
                self._space.notify_all()
        # Between batches the loop's other tasks run: network exporters' deliveries send what the batches
        # before gave them, while the backlog is still being worked through.
        await asyncio.sleep(0)

    async def _replay_spill(self) -> bool:
        """Run the next batch of spilled records through the handler; False when there was none to take.

        When the spool is empty and no spill is under way, the queue's fast path is restored."""
        source = self._spill_source
        if source is None:
            return False
        try:
            seq, batch = source.take(self._batch_size)
        except Exception as exc:
            self._diagnostics.warn("worker", "reading the spool failed", error=exc)
            return False
        if not batch:
            with self._lock:
                if self._spilling_now == 0 and source.pending() == 0:
                    self._spill_active = False
                    self._limit = self._max_records
                    return True
            return False
        try:
            await self._handler.process_batch(batch)
        except Exception as exc:
            self._diagnostics.warn("worker", "batch handler raised", error=exc, records=len(batch))
        source.ack(seq + len(batch), replay=True)
        await asyncio.sleep(0)  # as between queued batches: the loop's other tasks run
        return True

    async def _drain_spill(self, end: int) -> None:
        """Replay what was spilled before ``end`` (records queued after a marker are newer than those, and
        what is spilled meanwhile waits, so a flush ends under load)."""
        source = self._spill_source
        if source is None:
            return
        while source.acked_seq < end and self._spill_active:
            if not await self._replay_spill():
                return

    async def _complete(self, marker: Marker) -> None:
        try:
            if marker.stop:
                await self._maybe_summarise(force=True)
            await self._handler.flush()
            if marker.close:
                await self._handler.shutdown()
        except Exception as exc:
            self._diagnostics.warn("worker", "flush failed", error=exc)
        finally:
            marker.done.set()
            if marker.notify is not None:
                try:
                    marker.notify()
                except Exception as exc:  # e.g. the waiting event loop has closed
                    self._diagnostics.warn("worker", "flush waiter gone", error=exc)

    async def _maybe_summarise(self, *, force: bool = False) -> None:
        """Emit a drop-summary record when records were dropped since the last one (at most per interval)."""
        if self._drop_summary is None:
            return
        now = time.monotonic()
        if not force and now < self._next_summary:
            return
        self._next_summary = now + self._summary_interval
        with self._lock:
            total = sum(self._dropped.values())
            if total == self._reported_drops:
                return
            counts = dict(self._dropped)
            new = total - self._reported_drops
            self._reported_drops = total
        record = self._drop_summary({**counts, "dropped_since_last_summary": new})
        if record is not None:  # straight to the handler: a summary is not one of the caller's records
            try:
                await self._handler.process_batch([record])
            except Exception as exc:
                self._diagnostics.warn("worker", "drop summary failed", error=exc)

    # ---- control ----------------------------------------------------------------------------------------

    def _enqueue_marker(self, marker: Marker) -> None:
        source = self._spill_source
        if source is not None:
            marker.spill_mark = source.next_seq
        with self._lock:
            self._queue.extend(record_entry(marker, 0))
            self._urgent = True
            if marker.stop:
                self._stopping = True
                self._space.notify_all()
        self._wake()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged before this call has been exported; False if ``timeout`` passed."""
        if threading.current_thread() is self._thread:
            return False
        marker = Marker()
        self._enqueue_marker(marker)
        return marker.done.wait(timeout)

    async def flush_async(self, timeout: float | None = None) -> bool:
        """``flush`` for async callers: waits without blocking the caller's event loop."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def notify() -> None:
            loop.call_soon_threadsafe(_resolve, fut)

        marker = Marker(notify=notify)
        self._enqueue_marker(marker)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return False
        return True

    def stop(self, timeout: float | None = None, *, close: bool = False) -> DrainResult:
        """Process everything queued, flush exporters and stop the worker (a later record restarts it).

        With ``close=True`` the stages and exporters are also shut down (files closed, clients released).
        """
        start = time.perf_counter()
        if threading.current_thread() is self._thread:
            return self._drain_result(0.0, timed_out=True)
        marker = Marker(stop=True, close=close)
        thread = self._thread
        self._enqueue_marker(marker)
        done = marker.done.wait(timeout)
        if done and thread is not None:
            thread.join(timeout)
        return self._drain_result(time.perf_counter() - start, timed_out=not done)

    async def stop_async(self, timeout: float | None = None, *, close: bool = False) -> DrainResult:
        """``stop`` for async callers: waits in a helper thread, never blocking the caller's loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.stop(timeout, close=close))

    def _drain_result(self, latency: float, *, timed_out: bool) -> DrainResult:
        delivery = self._delivery_totals()  # outside the lock: it asks the exporters
        spool = self._spool_counts()
        with self._lock:
            if timed_out:  # whatever is still queued or in flight is not delivered: count it
                self._dropped["shutdown_timeout"] += self._count
                self._accepted -= self._count
                queued = split_entries(self._queue)
                kept = [e for e in queued if type(e[0]) is Marker]
                self._written_off += self._count - (len(queued) - len(kept))  # the worker still holds these
                self._queue = deque(slot for entry in kept for slot in entry)
                self._count = 0
                self._bytes = 0
            dropped = sum(self._dropped.values())
            failures = getattr(self._handler, "export_failures", 0) + delivery["failed"] + delivery["dropped"]
            return DrainResult(
                submitted=self._accepted + dropped + self._spilled,
                processed=self._processed,
                dropped=dropped,
                retried=delivery["retried"],
                queue_depth_high_watermark=self._hwm,
                flush_latency_seconds=latency,
                backpressure_retries=self._waits,
                export_failures=failures,
                timed_out=timed_out,
                spilled=self._spilled,
                **spool,
            )

    def _spool_counts(self) -> SpoolCounts:
        """The spools' counts, named as ``DrainResult``'s fields (none without a spool)."""
        if self._spool_totals is None:
            return {}
        try:
            return self._spool_totals()
        except Exception as exc:
            self._diagnostics.warn("worker", "spool stats failed", error=exc)
            return {}

    def _delivery_totals(self) -> dict[str, int]:
        totals = getattr(self._handler, "delivery_totals", None)
        return totals() if totals is not None else {"retried": 0, "failed": 0, "dropped": 0}

    def stats(self) -> PipelineStats:
        """A snapshot of the self-metrics."""
        delivery = self._delivery_totals()
        spool = self._spool_counts()
        with self._lock:
            dropped = dict(self._dropped)
            return PipelineStats(
                submitted=self._accepted + sum(dropped.values()) + self._spilled,
                processed=self._processed,
                dropped=sum(dropped.values()),
                dropped_by_reason=dropped,
                queue_depth=self._count,
                queue_bytes=self._bytes,
                high_water_mark=self._hwm,
                exported=getattr(self._handler, "exported", 0),
                export_failures=getattr(self._handler, "export_failures", 0) + delivery["failed"] + delivery["dropped"],
                retried=delivery["retried"],
                export_latency_seconds=getattr(self._handler, "export_latency", 0.0),
                backpressure_waits=self._waits,
                spilled=self._spilled,
                **spool,
            )

    def shutdown(self, timeout: float | None = None) -> None:
        """Drain, then shut the stages and exporters down; the processor is not used afterwards."""
        self.stop(timeout, close=True)
        _live.discard(self)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.flush(timeout_millis / 1000)

    def _after_fork_in_child(self) -> None:
        """The child never re-sends the parent's queue: it starts empty, with fresh locks and no worker."""
        self._init_state()


def _after_fork() -> None:
    for processor in list(_live):
        processor._after_fork_in_child()


def live_processors() -> list[NonBlockingProcessor]:
    return list(_live)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
