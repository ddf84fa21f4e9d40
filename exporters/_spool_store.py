"""The spool's store: one directory, appended by producers, read and acknowledged by one consumer.

Records are numbered in the order they are appended (sequence numbers never go back, across restarts too).
``append`` writes one frame per batch to the newest segment (``_spool_files``, ``_spool_segment``) with a
single ``write``; ``take`` hands out the next records, from a small in-memory copy of the newest batches when
it has them and from the segment files otherwise (``_spool_reader``); ``ack`` moves the cursor
(``_spool_cursor``) past records the exporter accepted and deletes segments that are wholly acknowledged.
The consumer takes one batch at a time: it acknowledges (or gives up on) a batch before taking the next.

Durability follows ``fsync``: ``batch`` syncs every append before it returns; ``interval`` syncs from a
background thread every ``fsync_interval`` seconds when something was written (new and finished segments and
the directory included, so an appending thread never waits for an fsync); ``never`` leaves it to the
operating system. (A process killed with SIGKILL loses nothing written either way: the kernel still has
it. The policy is about the machine losing power.) The cursor is synced by the same thread, at least every
``fsync_interval`` seconds (except with ``never``).

Disk use is bounded by ``max_bytes``: the segments, whole, and the cursor and lock files. A batch that could
not fit even in an empty spool is refused at once. At the bound, ``drop_oldest`` deletes the oldest segment:
its records not yet handed out count as ``dropped`` at once, those handed out and not yet acknowledged (no
longer on disk) count as ``dropped`` only if the consumer gives up on them; ``block`` waits up to
``block_timeout`` seconds for the consumer to free room, then refuses the batch (counted as ``dropped``).
Errors (a full disk, a removed directory) are contained: the batch is refused and counted, never raised.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fapilog._diagnostics import Diagnostics
from fapilog._threads import start_daemon
from fapilog.exporters._spool_codec import encode_batch
from fapilog.exporters._spool_cursor import CURSOR_BYTES, Cursor
from fapilog.exporters._spool_files import SegmentFiles, open_segments, sync_files
from fapilog.exporters._spool_lock import DirectoryLock
from fapilog.exporters._spool_reader import read_records
from fapilog.exporters._spool_segment import FRAME_HEADER, SEGMENT_HEADER, encode_frame

__all__ = ["FsyncPolicy", "OverflowPolicy", "SpoolStats", "Store"]

FsyncPolicy = Literal["batch", "interval", "never"]
OverflowPolicy = Literal["drop_oldest", "block"]
_MIN_BYTES = 256


@dataclass(frozen=True, slots=True)
class SpoolStats:
    """A snapshot of a spool's counters (records unless said otherwise; counts since it was opened)."""

    spooled: int = 0  # appended to disk
    acked: int = 0  # acknowledged by the consumer (delivered)
    replayed: int = 0  # of those, delivered from a backlog: after a failure or from an earlier process
    duplicates: int = 0  # re-sent after a restart though possibly delivered before it
    dropped: int = 0  # lost to the disk bound (drop_oldest) or refused (block timed out, write errors)
    corrupt: int = 0  # lost to damage found on disk (torn tails, failed checksums)
    corrupt_regions: int = 0  # damaged stretches found
    retried: int = 0  # delivery attempts that failed and were retried
    pending: int = 0  # on disk and not yet acknowledged
    disk_bytes: int = 0  # segments, cursor and lock file
    segments: int = 0
    next_seq: int = 0  # the sequence number the next record gets
    synced_seq: int = 0  # every record below it is as durable as the policy makes it (written, with never)
    acked_seq: int = 0  # every record below it is acknowledged


class _Cached:
    """A recent batch kept in memory: its records and where its frame ends on disk."""

    __slots__ = ("end", "records", "segment", "seq")

    def __init__(self, seq: int, records: list[Any], segment: int, end: int) -> None:
        self.seq = seq
        self.records = records
        self.segment = segment
        self.end = end


class Store:
    """A spool directory, opened (and locked) for as long as the object lives; ``close`` releases it."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval: float = 0.1,
        max_bytes: int = 256 * 1024 * 1024,
        segment_bytes: int = 16 * 1024 * 1024,
        overflow: OverflowPolicy = "drop_oldest",
        block_timeout: float = 1.0,
        cache_records: int = 4096,
        diagnostics: Diagnostics | None = None,
    ) -> None:
        if fsync not in ("batch", "interval", "never"):
            raise ValueError(f"fsync must be batch, interval or never, not {fsync!r}")
        if overflow not in ("drop_oldest", "block"):
            raise ValueError(f"overflow must be drop_oldest or block, not {overflow!r}")
        if max_bytes < _MIN_BYTES or segment_bytes < 1 or fsync_interval <= 0:
            raise ValueError(f"max_bytes (>= {_MIN_BYTES}), segment_bytes and fsync_interval must be positive")
        self.directory = Path(directory)
        self.fsync: FsyncPolicy = fsync
        self.fsync_interval = fsync_interval
        self.max_bytes = max_bytes
        self.segment_bytes = min(segment_bytes, max(max_bytes // 4, SEGMENT_HEADER + FRAME_HEADER))
        self.overflow = overflow
        self.block_timeout = max(0.0, block_timeout)
        self.cache_records = max(0, cache_records)
        self._diagnostics = diagnostics or Diagnostics()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = DirectoryLock(self.directory)
        self._new_locks()
        self._counts = dict.fromkeys(("spooled", "acked", "replayed", "duplicates", "dropped", "retried"), 0)
        self._corrupt = 0
        self._corrupt_regions = 0
        self._closed = False
        self._epoch = 0  # changes whenever segments are dropped: a read made outside the lock is then stale
        self._cache: deque[_Cached] = deque()
        self._cached = 0
        self._leftover: list[Any] = []
        self._gap: tuple[int, int] | None = None  # records skipped (lost) while a batch was out: acked past
        self._orphan_end = 0  # records below it that are out have no copy on disk (dropped): lost if refused
        try:
            self._cursor = Cursor(self.directory)
            self._recover()
        except BaseException:
            self._lock_file.release()
            raise
        self._syncer: threading.Thread | None = None
        self._stop_sync = threading.Event()
        if fsync != "never":
            self._syncer = start_daemon(self._sync_loop, "fapilog-spool-sync")

    def _new_locks(self) -> None:
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._data = threading.Condition(self._lock)
        self._sync_lock = threading.Lock()  # one sync at a time, and none while closing

    # ---- opening ------------------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Find the segments (``open_segments`` makes them sound) and place the reader at the cursor."""
        cursor = self._cursor
        opened = open_segments(self.directory, cursor.acked)
        for records, detail in opened.damages:
            self._count_damage(records, detail)
        segments = opened.segments
        next_seq = max(cursor.acked, cursor.sending, opened.next_seq)
        first = segments[0].first if segments else next_seq
        self._acked = min(max(cursor.acked, first), next_seq)
        self._files = SegmentFiles(
            self.directory, segments, fsync=self.fsync, overhead=CURSOR_BYTES + self._lock_file.size
        )
        while len(segments) > 1 and segments[1].first <= self._acked:  # acknowledged, not yet deleted
            self._files.delete_oldest()
        self._next_seq = next_seq
        self._dup_until = min(cursor.sending, next_seq)  # taken before the restart, maybe delivered
        self._backlog_until = next_seq  # records from an earlier process: replayed when delivered
        self._read_seq = self._acked
        self._disk_seq = self._acked  # the first record the next frame read from disk must give
        self._read_segment = 0
        self._read_offset = SEGMENT_HEADER
        self._files.open_active(next_seq, self.segment_bytes, appendable=opened.appendable)
        self._synced_seq = next_seq
        self._dirty = False
        self._mark(self._acked, max(self._acked, self._dup_until))

    def _count_damage(self, records: int | None, detail: str) -> None:
        """A damaged stretch: ``records`` lost when known (else counted as one)."""
        self._corrupt_regions += 1
        self._corrupt += records if records is not None else 1
        self._diagnostics.warn("spool", "damaged spool data skipped", directory=str(self.directory), detail=detail)

    def _mark(self, acked: int, sending: int) -> None:
        """Write the cursor; a failure is reported (the position in memory is right, the file catches up)."""
        try:
            self._cursor.write(acked, sending)
        except OSError as exc:
            self._diagnostics.warn("spool", "cursor write failed", directory=str(self.directory), error=exc)

    # ---- producers ----------------------------------------------------------------------------------------

    def append(self, records: Sequence[Any]) -> bool:
        """Write ``records`` as one frame; False (and counted as dropped) when refused or not written."""
        if not records:
            return True
        try:
            payload = encode_batch(records)
        except Exception as exc:
            self._count("dropped", len(records))
            self._diagnostics.warn("spool", "records could not be encoded", error=exc, records=len(records))
            return False
        return self._append_payload(payload, len(records), list(records))

    def _append_payload(self, payload: bytes, n: int, records: list[Any]) -> bool:
        size = FRAME_HEADER + len(payload)
        pcrc = zlib.crc32(payload)
        with self._lock:
            if self._closed:
                self._counts["dropped"] += n
                return False
            files = self._files
            try:
                if not self._make_room(size, n):
                    return False
                if files.fd >= 0 and self._rotation_due(size):
                    files.rotate(self._next_seq)
                seq = self._next_seq
                files.write(encode_frame(seq, n, payload, pcrc), seq)
            except OSError as exc:
                self._counts["dropped"] += n
                self._diagnostics.warn("spool", "spool write failed", directory=str(self.directory), error=exc)
                return False
            self._next_seq = seq + n
            self._counts["spooled"] += n
            if self.cache_records:
                self._cache.append(_Cached(seq, records, len(files.segments) - 1, files.segments[-1].size))
                self._cached += n
                while self._cached > self.cache_records:
                    self._cached -= len(self._cache.popleft().records)
            if self.fsync == "batch":
                try:
                    os.fsync(files.fd)
                    self._synced_seq = self._next_seq
                except OSError as exc:
                    self._diagnostics.warn("spool", "fsync failed", directory=str(self.directory), error=exc)
            else:
                self._dirty = True
            self._data.notify_all()
        return True

    def _make_room(self, size: int, n: int) -> bool:
        """Apply the overflow policy until a frame of ``size`` bytes fits, with the segment it may start
        (lock held); False: refused, counted. (OSError when a segment could not be started.)"""
        files = self._files
        if files.overhead + SEGMENT_HEADER + size > self.max_bytes:  # never fits: keep what is there
            return self._refuse(n, "batch larger than the spool's max_bytes refused")
        deadline = None
        while files.bytes + self._footprint(size) > self.max_bytes:
            if self.overflow == "drop_oldest":
                if len(files.segments) > 1:
                    self._drop_oldest()
                    continue
                if files.segments and files.segments[-1].size > SEGMENT_HEADER:  # so that the old one can go
                    files.rotate(self._next_seq)
                    continue
            else:
                if deadline is None:
                    deadline = time.monotonic() + self.block_timeout
                remaining = deadline - time.monotonic()
                if remaining > 0 and not self._closed:
                    self._room.wait(remaining)
                    continue
            return self._refuse(n, "spool full: records refused")
        return True

    def _footprint(self, size: int) -> int:
        """The bytes a frame of ``size`` bytes adds: a new segment's header too when one must be started."""
        files = self._files
        if files.fd < 0:
            return size + SEGMENT_HEADER
        return size + (SEGMENT_HEADER if self._rotation_due(size) else 0)

    def _rotation_due(self, size: int) -> bool:
        active = self._files.segments[-1]
        return active.size > SEGMENT_HEADER and active.size + size > self.segment_bytes

    def _refuse(self, n: int, why: str) -> bool:
        self._counts["dropped"] += n
        self._diagnostics.warn("spool", why, directory=str(self.directory), records=n)
        return False

    def _drop_oldest(self) -> None:
        """Delete the oldest segment (lock held). Its records not yet handed out are counted as dropped; those
        handed out and not acknowledged are counted only if the consumer gives up on them (``not_sent``)."""
        oldest = self._files.delete_oldest()
        end = self._files.segments[0].first
        lost = max(0, end - max(oldest.first, self._read_seq))
        if self._read_seq > max(oldest.first, self._acked):
            self._orphan_end = max(self._orphan_end, min(self._read_seq, end))
        self._epoch += 1
        if lost:
            self._counts["dropped"] += lost
            self._diagnostics.warn("spool", "spool full: oldest records dropped", records=lost)
        self._segment_deleted()
        if self._read_segment == 0:
            self._disk_seq = max(self._disk_seq, end)
        if self._read_seq < end:
            self._leftover = []
            self._skip_to(end)
        while self._cache and self._cache[0].seq < end:
            self._cached -= len(self._cache.popleft().records)

    def _segment_deleted(self) -> None:
        """The oldest segment is gone: shift the positions that index the segments (lock held)."""
        if self._read_segment == 0:  # it was read to its end (or dropped): go on at the start of the next
            self._read_offset = SEGMENT_HEADER
        else:
            self._read_segment -= 1
        for entry in self._cache:
            entry.segment -= 1

    # ---- the consumer -------------------------------------------------------------------------------------

    def wait_for_data(self, timeout: float) -> bool:
        """Wait until there is something to take (or ``timeout`` passes, or the store closes)."""
        with self._lock:
            if self._read_seq < self._next_seq or self._closed:
                return True
            self._data.wait(timeout)
            return self._read_seq < self._next_seq

    def wake(self) -> None:
        """Wake a consumer waiting for data (to stop it)."""
        with self._lock:
            self._data.notify_all()

    def take(self, limit: int) -> tuple[int, list[Any]]:
        """The next up to ``limit`` records not yet handed out, and the sequence number of the first."""
        for _ in range(8):  # a read raced with a drop: try again from the new position
            with self._lock:
                seq = self._read_seq
                if self._closed:
                    return seq, []
                if self._leftover:
                    out, self._leftover = self._leftover[:limit], self._leftover[limit:]
                    return self._hand_out(seq, out)
                if seq >= self._next_seq:
                    return seq, []
                while self._cache and self._cache[0].seq < self._disk_seq:
                    self._cached -= len(self._cache.popleft().records)
                if self._cache and self._cache[0].seq == self._disk_seq:
                    entry = self._cache.popleft()
                    self._cached -= len(entry.records)
                    self._read_segment, self._read_offset = entry.segment, entry.end
                    self._disk_seq = entry.seq + len(entry.records)
                    return self._hand_out(seq, self._keep(entry.seq, entry.records, limit))
                parts = [
                    (s.path, self._read_offset if i == self._read_segment else SEGMENT_HEADER, s.size, s.first)
                    for i, s in enumerate(self._files.segments)
                    if i >= self._read_segment
                ]
                epoch, index, disk_seq, end_seq = self._epoch, self._read_segment, self._disk_seq, self._next_seq
            got = read_records(
                parts, index, disk_seq, wanted=seq, limit=limit, end_seq=end_seq, diagnostics=self._diagnostics
            )
            with self._lock:
                if epoch != self._epoch or seq != self._read_seq:
                    continue
                for records, detail in got.damages:
                    self._count_damage(records, detail)
                self._read_segment, self._read_offset, self._disk_seq = got.segment, got.offset, got.expected
                first = got.first
                if first is None or not got.records:
                    self._skip_to(max(seq, got.expected))
                    if first is None:
                        return self._read_seq, []
                    continue
                self._skip_to(max(seq, first))
                return self._hand_out(self._read_seq, self._keep(first, got.records, limit))
        return self._read_seq, []

    def _skip_to(self, seq: int) -> None:
        """Move the read position over records that cannot be handed out (lost), lock held. The acknowledged
        position follows at once when nothing is out, else when what is out is acknowledged (``ack``), so
        lost records are neither waited for nor counted as delivered."""
        if seq <= self._read_seq:
            return
        if self._acked >= self._read_seq:
            self._acked = seq
            self._mark(seq, seq)
        else:
            self._gap = (self._gap[0] if self._gap is not None else self._read_seq, seq)
        self._read_seq = seq

    def _keep(self, first: int, records: list[Any], limit: int) -> list[Any]:
        """The part of a batch at or after the read position, up to ``limit``; the rest waits (lock held)."""
        skip = self._read_seq - first
        if skip > 0:
            records = records[skip:]
        self._leftover = records[limit:]
        return records[:limit]

    def _hand_out(self, seq: int, records: list[Any]) -> tuple[int, list[Any]]:
        end = seq + len(records)
        self._read_seq = end
        if records:
            self._mark(self._acked, end)
        return seq, records

    def ack(self, end: int, *, replay: bool = False) -> None:
        """Everything below ``end`` was delivered: move the cursor and delete wholly delivered segments.

        ``replay`` says the records came from a backlog (after a failed attempt); records from an earlier
        process count as replayed anyway."""
        with self._lock:
            start = self._acked
            if end <= start or self._closed:
                return
            n = end - start
            self._counts["acked"] += n
            backlog = n if replay else max(0, min(end, self._backlog_until) - start)
            self._counts["replayed"] += backlog
            self._counts["duplicates"] += max(0, min(end, self._dup_until) - start)
            if self._gap is not None and end >= self._gap[0]:  # what was lost meanwhile is not waited for
                end = max(end, self._gap[1])
                self._gap = None
            self._acked = end
            self._mark(end, max(end, self._read_seq))
            segments = self._files.segments
            while len(segments) > 1 and segments[1].first <= end:
                self._files.delete_oldest()
                self._segment_deleted()
            self._room.notify_all()

    def not_sent(self) -> None:
        """The records handed out and not acknowledged were refused by the exporter (not delivered): the next
        process sends them without counting them as possible duplicates; those no longer on disk (the
        overflow policy deleted them meanwhile) are counted as dropped. (Before closing.)"""
        with self._lock:
            if self._closed:
                return
            lost = max(0, min(self._orphan_end, self._read_seq) - self._acked)
            if lost:  # the first records out: counted, and not waited for
                self._counts["dropped"] += lost
                self._diagnostics.warn("spool", "spool full: undelivered records dropped", records=lost)
                self._acked += lost
                if self._gap is not None and self._acked >= self._gap[0]:
                    self._acked, self._gap = self._gap[1], None
            self._mark(self._acked, self._acked)

    def count_retry(self) -> None:
        self._count("retried", 1)

    def _count(self, key: str, n: int) -> None:
        with self._lock:
            self._counts[key] += n

    # ---- state ----------------------------------------------------------------------------------------------

    def pending(self) -> int:
        """Records on disk (or out for delivery) not yet acknowledged."""
        with self._lock:
            return self._pending()

    def _pending(self) -> int:
        gap = self._gap[1] - self._gap[0] if self._gap is not None else 0
        return self._next_seq - self._acked - gap

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def acked_seq(self) -> int:
        return self._acked

    def stats(self) -> SpoolStats:
        with self._lock:
            c = self._counts
            return SpoolStats(
                spooled=c["spooled"],
                acked=c["acked"],
                replayed=c["replayed"],
                duplicates=c["duplicates"],
                dropped=c["dropped"],
                corrupt=self._corrupt,
                corrupt_regions=self._corrupt_regions,
                retried=c["retried"],
                pending=self._pending(),
                disk_bytes=self._files.bytes,
                segments=len(self._files.segments),
                next_seq=self._next_seq,
                synced_seq=self._synced_seq if self.fsync != "never" else self._next_seq,
                acked_seq=self._acked,
            )

    # ---- durability -----------------------------------------------------------------------------------------

    def sync(self) -> None:
        """fsync what was written, finished and started segments, the directory and the cursor, now."""
        with self._sync_lock:
            with self._lock:
                if self._closed:
                    return
                fd, retired, dir_dirty = self._files.sync_work()
                dirty, self._dirty = self._dirty, False
                upto = self._next_seq
            try:
                sync_files(fd if dirty else -1, retired, self.directory if dir_dirty else None)
                self._cursor.sync()
            except OSError as exc:
                self._diagnostics.warn("spool", "fsync failed", directory=str(self.directory), error=exc)
                with self._lock:
                    self._dirty = True  # try again; what was written is not known to be synced
                return
            with self._lock:
                self._synced_seq = max(self._synced_seq, upto)

    def _sync_loop(self) -> None:
        while not self._stop_sync.wait(self.fsync_interval):
            self.sync()

    def close(self) -> None:
        """Sync (unless the policy is never), close the files and release the directory. Records not yet
        acknowledged stay on disk for the next opener, and are reported."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            left = self._pending()
            if left:
                self._diagnostics.warn(
                    "spool", "records left on disk for the next start", directory=str(self.directory), records=left
                )
            self._room.notify_all()
            self._data.notify_all()
        self._stop_sync.set()
        if self._syncer is not None and self._syncer is not threading.current_thread():
            self._syncer.join(5.0)
        with self._sync_lock:
            sync = self.fsync != "never"
            self._files.close(sync=sync)
            if sync:
                try:
                    self._cursor.sync()
                except OSError as exc:
                    self._diagnostics.warn("spool", "fsync failed", directory=str(self.directory), error=exc)
            self._cursor.close()
        self._lock_file.release()

    @property
    def closed(self) -> bool:
        return self._closed

    def forget(self) -> None:
        """In a forked child: drop the parent's descriptors without touching the parent's files or lock, with
        fresh locks (another thread of the parent may have held one at the fork)."""
        self._new_locks()
        self._closed = True
        self._stop_sync = threading.Event()  # the parent's may be mid-wait: its lock is not the child's to take
        self._stop_sync.set()
        self._syncer = None
        self._files.close(sync=False)
        self._cursor.close()
        self._lock_file.forget()
