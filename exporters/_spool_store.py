"""The spool's store: one directory, appended by producers, read and acknowledged by one consumer.

Records are numbered in the order they are appended (sequence numbers never go back, across restarts too).
``append`` writes one frame per batch to the active segment (``_spool_segment``) with a single ``write``;
``take`` hands out the next records, from a small in-memory copy of the newest batches when it has them and
from the segment files otherwise; ``ack`` moves the cursor (``_spool_cursor``) past records the exporter
accepted and deletes segments that are wholly acknowledged.

Durability follows ``fsync``: ``batch`` syncs every append before it returns; ``interval`` syncs from a
background thread every ``fsync_interval`` seconds when something was written; ``never`` leaves it to the
operating system. (A process killed with SIGKILL loses nothing written either way: the kernel still has
it. The policy is about the machine losing power.)

Disk use is bounded by ``max_bytes`` (segments included whole). At the bound, ``drop_oldest`` deletes the
oldest segment (its records not yet handed out count as ``dropped``); ``block`` waits up to
``block_timeout`` seconds for the consumer to free room, then refuses the batch (counted as ``dropped``).
"""

from __future__ import annotations

import contextlib
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
from fapilog.exporters._spool_codec import encode_batch
from fapilog.exporters._spool_cursor import Cursor
from fapilog.exporters._spool_lock import DirectoryLock
from fapilog.exporters._spool_reader import read_records
from fapilog.exporters._spool_segment import (
    FRAME_HEADER,
    SEGMENT_HEADER,
    Frame,
    check_segment,
    encode_frame,
    read_frames,
    segment_header,
    segment_name,
    segment_seq,
)

__all__ = ["FsyncPolicy", "OverflowPolicy", "SpoolStats", "Store"]

FsyncPolicy = Literal["batch", "interval", "never"]
OverflowPolicy = Literal["drop_oldest", "block"]


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
    disk_bytes: int = 0
    segments: int = 0
    next_seq: int = 0  # the sequence number the next record gets
    synced_seq: int = 0  # every record below it is on disk and (per the policy) synced
    acked_seq: int = 0  # every record below it is acknowledged


class _Segment:
    __slots__ = ("first", "path", "size")

    def __init__(self, first: int, path: Path, size: int) -> None:
        self.first = first
        self.path = path
        self.size = size


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
        if max_bytes < 2 * SEGMENT_HEADER + 2 * FRAME_HEADER or segment_bytes < 1 or fsync_interval <= 0:
            raise ValueError("max_bytes, segment_bytes and fsync_interval must be positive (max_bytes >= 128)")
        self.directory = Path(directory)
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self.max_bytes = max_bytes
        self.segment_bytes = min(segment_bytes, max(max_bytes // 4, SEGMENT_HEADER + FRAME_HEADER))
        self.overflow = overflow
        self.block_timeout = max(0.0, block_timeout)
        self.cache_records = max(0, cache_records)
        self._diagnostics = diagnostics or Diagnostics()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = DirectoryLock(self.directory)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._data = threading.Condition(self._lock)
        self._counts = dict.fromkeys(("spooled", "acked", "replayed", "duplicates", "dropped", "retried"), 0)
        self._corrupt = 0
        self._corrupt_regions = 0
        self._closed = False
        self._epoch = 0  # changes whenever segments are dropped: a read made outside the lock is then stale
        self._cache: deque[_Cached] = deque()
        self._cached = 0
        self._leftover: list[Any] = []
        try:
            self._cursor = Cursor(self.directory)
            self._recover()
        except BaseException:
            self._lock_file.release()
            raise
        self._syncer: threading.Thread | None = None
        self._stop_sync = threading.Event()
        if fsync != "never":
            self._syncer = threading.Thread(target=self._sync_loop, name="fapilog-spool-sync", daemon=True)
            self._syncer.start()

    # ---- opening ------------------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Find the segments, make the newest one sound to append to, and place the reader at the cursor."""
        found = sorted(
            (seq, p) for p in self.directory.iterdir() if (seq := segment_seq(p)) is not None and p.is_file()
        )
        segments: list[_Segment] = []
        for seq, path in found:
            if check_segment(path):
                segments.append(_Segment(seq, path, path.stat().st_size))
            else:  # not even a segment header: nothing in it can be trusted
                self._quarantine(path, "bad segment header")
        next_seq = max(self._cursor.acked, self._cursor.sending)
        if segments:
            last = segments[-1]
            next_seq = max(next_seq, last.first)
            sound_end = SEGMENT_HEADER
            for item in read_frames(last.path, SEGMENT_HEADER, last.size):
                if isinstance(item, Frame):
                    sound_end = item.end
                    next_seq = max(next_seq, item.seq + item.count)
            if sound_end < last.size:  # a torn or damaged tail: cut it off so appends follow sound frames
                self._count_damage(None, f"{last.path.name}: damaged tail of {last.size - sound_end} bytes cut")
                with open(last.path, "r+b") as f:
                    f.truncate(sound_end)
                last.size = sound_end
        self._segments = segments
        self._next_seq = next_seq
        first = segments[0].first if segments else next_seq
        self._acked = min(max(self._cursor.acked, first), next_seq)
        self._dup_until = min(self._cursor.sending, next_seq)  # taken before the restart, maybe delivered
        self._backlog_until = next_seq  # records from an earlier process: replayed when delivered
        self._read_seq = self._acked
        self._disk_seq = self._acked  # the first record the next frame read from disk must give
        self._read_segment = 0
        self._read_offset = SEGMENT_HEADER
        self._bytes = sum(s.size for s in segments)
        if not segments or segments[-1].size >= self.segment_bytes:
            self._new_segment()
        else:
            self._open_active()
        self._synced_seq = next_seq
        self._dirty = False
        self._cursor.write(self._acked, max(self._acked, self._dup_until))

    def _quarantine(self, path: Path, reason: str) -> None:
        self._count_damage(None, f"{path.name}: {reason}")
        with contextlib.suppress(OSError):
            path.rename(path.with_name(path.name + ".corrupt"))

    def _count_damage(self, records: int | None, detail: str) -> None:
        """A damaged stretch: ``records`` lost when known (else counted as one)."""
        self._corrupt_regions += 1
        self._corrupt += records if records is not None else 1
        self._diagnostics.warn("spool", "damaged spool data skipped", directory=str(self.directory), detail=detail)

    def _open_active(self) -> None:
        active = self._segments[-1]
        self._fd = os.open(active.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    def _new_segment(self) -> None:
        path = self.directory / segment_name(self._next_seq)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        os.write(fd, segment_header(self._next_seq))
        self._segments.append(_Segment(self._next_seq, path, SEGMENT_HEADER))
        self._bytes += SEGMENT_HEADER
        self._fd = fd
        if self.fsync != "never":
            os.fsync(fd)
            self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

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
            active = self._segments[-1]
            if active.size > SEGMENT_HEADER and active.size + size > self.segment_bytes:
                self._rotate()
            if not self._make_room(size, n):
                return False
            seq = self._next_seq
            frame = encode_frame(seq, n, payload, pcrc)
            active = self._segments[-1]
            try:
                _write_all(self._fd, frame)
            except OSError as exc:
                self._undo_write(active)
                self._counts["dropped"] += n
                self._diagnostics.warn("spool", "spool write failed", directory=str(self.directory), error=exc)
                return False
            active.size += size
            self._bytes += size
            self._next_seq = seq + n
            self._counts["spooled"] += n
            if self.cache_records:
                self._cache.append(_Cached(seq, records, len(self._segments) - 1, active.size))
                self._cached += n
                while self._cached > self.cache_records:
                    self._cached -= len(self._cache.popleft().records)
            if self.fsync == "batch":
                try:
                    os.fsync(self._fd)
                    self._synced_seq = self._next_seq
                except OSError as exc:
                    self._diagnostics.warn("spool", "fsync failed", directory=str(self.directory), error=exc)
            else:
                self._dirty = True
            self._data.notify_all()
        return True

    def _undo_write(self, active: _Segment) -> None:
        """After a failed write (a full disk): cut whatever part of the frame landed."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, active.size)

    def _rotate(self) -> None:
        old = self._fd
        try:
            if self.fsync != "never":
                os.fsync(old)
        finally:
            os.close(old)
        self._synced_seq = self._next_seq if self.fsync != "never" else self._synced_seq
        self._new_segment()

    def _make_room(self, size: int, n: int) -> bool:
        """Apply the overflow policy until ``size`` more bytes fit (lock held); False: refused, counted."""
        deadline = None
        while self._bytes + size > self.max_bytes:
            if self.overflow == "drop_oldest":
                if len(self._segments) > 1:
                    self._drop_oldest()
                    continue
                if self._segments[-1].size > SEGMENT_HEADER:  # start a new segment so the old one can go
                    self._rotate()
                    continue
            else:
                if deadline is None:
                    deadline = time.monotonic() + self.block_timeout
                remaining = deadline - time.monotonic()
                if remaining > 0 and not self._closed:
                    self._room.wait(remaining)
                    continue
            self._counts["dropped"] += n
            self._diagnostics.warn("spool", "spool full: records refused", directory=str(self.directory), records=n)
            return False
        return True

    def _drop_oldest(self) -> None:
        """Delete the oldest segment (lock held); its records not yet handed out are counted as dropped."""
        oldest = self._segments.pop(0)
        end = self._segments[0].first
        lost = max(0, end - max(oldest.first, self._read_seq))
        with contextlib.suppress(OSError):
            oldest.path.unlink()
        self._bytes -= oldest.size
        self._epoch += 1
        if lost:
            self._counts["dropped"] += lost
            self._diagnostics.warn("spool", "spool full: oldest records dropped", records=lost)
        if self._read_segment == 0:
            self._read_offset = SEGMENT_HEADER
            self._disk_seq = max(self._disk_seq, end)
        else:
            self._read_segment -= 1
        if self._read_seq < end:
            self._leftover = []
            self._skip_to(end)
        for entry in self._cache:
            entry.segment -= 1
        while self._cache and self._cache[0].seq < end:
            self._cached -= len(self._cache.popleft().records)

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
                    for i, s in enumerate(self._segments)
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
        """Move the read position over records that cannot be handed out (lost), lock held; with nothing in
        flight the acknowledged position follows, so lost records are not waited for."""
        if seq <= self._read_seq:
            return
        idle = self._acked >= self._read_seq
        self._read_seq = seq
        if idle:
            self._acked = seq
            self._cursor.write(seq, seq)

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
            self._cursor.write(self._acked, end)
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
            self._acked = end
            self._cursor.write(end, max(end, self._read_seq))
            while len(self._segments) > 1 and self._segments[1].first <= end:
                done = self._segments.pop(0)
                with contextlib.suppress(OSError):
                    done.path.unlink()
                self._bytes -= done.size
                if self._read_segment == 0:  # it was read to its end: go on at the start of the next
                    self._read_offset = SEGMENT_HEADER
                else:
                    self._read_segment -= 1
                for entry in self._cache:
                    entry.segment -= 1
            self._room.notify_all()

    def not_sent(self) -> None:
        """The records handed out and not acknowledged were refused by the exporter (not delivered): the next
        process sends them without counting them as possible duplicates. (Before closing.)"""
        with self._lock:
            if not self._closed:
                self._cursor.write(self._acked, self._acked)

    def count_retry(self) -> None:
        self._count("retried", 1)

    def _count(self, key: str, n: int) -> None:
        with self._lock:
            self._counts[key] += n

    # ---- state ----------------------------------------------------------------------------------------------

    def pending(self) -> int:
        """Records on disk not yet acknowledged."""
        with self._lock:
            return self._next_seq - self._acked

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
                pending=self._next_seq - self._acked,
                disk_bytes=self._bytes,
                segments=len(self._segments),
                next_seq=self._next_seq,
                synced_seq=self._synced_seq if self.fsync != "never" else self._next_seq,
                acked_seq=self._acked,
            )

    # ---- durability -----------------------------------------------------------------------------------------

    def sync(self) -> None:
        """fsync what was written (and the cursor) now."""
        with self._lock:
            if self._closed:
                return
            fd, upto, dirty = self._fd, self._next_seq, self._dirty
            self._dirty = False
        try:
            if dirty:
                os.fsync(fd)
            self._cursor.sync()
        except OSError as exc:  # a descriptor closed by a rotation meanwhile (the rotation synced it)
            if not self._closed:
                self._diagnostics.warn("spool", "fsync failed", directory=str(self.directory), error=exc)
        with self._lock:
            self._synced_seq = max(self._synced_seq, upto)

    def _sync_loop(self) -> None:
        while not self._stop_sync.wait(self.fsync_interval):
            self.sync()

    def close(self) -> None:
        """Sync (unless the policy is never), close the files and release the directory."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._room.notify_all()
            self._data.notify_all()
        self._stop_sync.set()
        if self._syncer is not None and self._syncer is not threading.current_thread():
            self._syncer.join(5.0)
        with contextlib.suppress(OSError):
            if self.fsync != "never":
                os.fsync(self._fd)
                self._cursor.sync()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._cursor.close()
        self._lock_file.release()

    @property
    def closed(self) -> bool:
        return self._closed

    def forget(self) -> None:
        """In a forked child: drop the parent's descriptors without touching the parent's files or lock."""
        self._closed = True
        self._stop_sync.set()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._cursor.close()
        self._lock_file.forget()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
