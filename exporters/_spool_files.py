"""The segment files of one spool directory: which there are, the one appended to, the disk they use, and
when their bytes reach the disk.

``open_segments`` finds the segments of a directory at start-up: a file whose segment header is garbage is
renamed ``*.corrupt`` (one no longer than a header holds no record and is removed), and a torn or damaged
tail of the newest segment is cut off so that appends follow sound frames. ``SegmentFiles`` then appends
frames, starts new segments and deletes old ones, and keeps count of the bytes they use.

The fsync policy: ``batch`` syncs a frame, a finished segment, a new segment and the directory before
returning; ``interval`` leaves all of it to ``sync_work`` (the store's sync thread), so that no fsync runs on
an appending thread (the caller's, under the ``spill`` policy); ``never`` leaves it to the operating system.
``SegmentFiles`` is not thread-safe: the store's lock guards every call.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fapilog.exporters._spool_segment import (
    SEGMENT_HEADER,
    Frame,
    check_segment,
    read_frames,
    segment_header,
    segment_name,
    segment_seq,
)

__all__ = ["Opened", "Segment", "SegmentFiles", "open_segments", "sync_files"]

Policy = Literal["batch", "interval", "never"]


@dataclass(slots=True)
class Segment:
    """A segment file: the sequence number of its first record, and its size in bytes."""

    first: int
    path: Path
    size: int


@dataclass(slots=True)
class Opened:
    """What ``open_segments`` found: the sound segments, oldest first, the sequence number after their last
    sound frame, and the damage seen (records lost, or None when unknown; what and where)."""

    segments: list[Segment]
    next_seq: int
    damages: list[tuple[int | None, str]] = field(default_factory=list)
    appendable: bool = True  # whether the newest segment may be appended to (else a new one is started)


def open_segments(directory: Path, acked: int) -> Opened:
    """The segments of ``directory``, made sound to append to; damage to records at or after ``acked``
    (the first one not delivered) is reported with the number of records lost."""
    found = sorted((seq, p) for p in directory.iterdir() if (seq := segment_seq(p)) is not None and p.is_file())
    opened = Opened([], 0)
    for seq, path in found:
        try:
            size = path.stat().st_size
            if check_segment(path):
                opened.segments.append(Segment(seq, path, size))
            elif size <= SEGMENT_HEADER:  # created, killed before its header was written: no record in it
                path.unlink()
            else:  # not even a segment header: nothing in it can be trusted
                opened.damages.append((None, f"{path.name}: bad segment header, renamed {path.name}.corrupt"))
                path.rename(path.with_name(path.name + ".corrupt"))
        except OSError as exc:  # unreadable: left alone, and not used
            opened.damages.append((None, f"{path.name}: {exc}"))
    if opened.segments:
        _repair_tail(opened, acked)
    return opened


def _repair_tail(opened: Opened, acked: int) -> None:
    """Cut whatever follows the last sound frame of the newest segment, counting the records lost there."""
    last = opened.segments[-1]
    opened.next_seq = last.first
    sound_end = SEGMENT_HEADER
    lost: int | None = 0
    try:
        for item in read_frames(last.path, SEGMENT_HEADER, last.size):
            if isinstance(item, Frame):
                sound_end, lost = item.end, 0
                opened.next_seq = max(opened.next_seq, item.seq + item.count)
            elif item.seq is None or item.records is None or lost is None:
                lost = None
            else:  # a sound header: its records are known
                lost += max(0, item.seq + item.records - max(item.seq, acked))
        if sound_end < last.size:
            with open(last.path, "r+b") as f:
                f.truncate(sound_end)
            opened.damages.append((lost, f"{last.path.name}: damaged tail of {last.size - sound_end} bytes cut"))
            last.size = sound_end
    except OSError as exc:  # unreadable or not writable: read what can be read, append to a new segment
        opened.damages.append((None, f"{last.path.name}: {exc}"))
        opened.next_seq = max(opened.next_seq, last.first + 1)
        opened.appendable = False


class SegmentFiles:
    """The segments of a spool directory, the descriptor of the newest one (appended to), and the bytes they
    use (plus ``overhead``: the directory's other files)."""

    __slots__ = ("_dir_dirty", "_retired", "bytes", "directory", "fd", "fsync", "overhead", "segments")

    def __init__(self, directory: Path, segments: list[Segment], *, fsync: Policy, overhead: int) -> None:
        self.directory = directory
        self.segments = segments
        self.fsync = fsync
        self.overhead = overhead
        self.bytes = overhead + sum(s.size for s in segments)
        self.fd = -1  # the newest segment's, or -1 when none is open (a new one is started before a write)
        self._retired: list[int] = []  # descriptors of finished segments, synced and closed by sync_work
        self._dir_dirty = False

    def open_active(self, next_seq: int, segment_bytes: int, *, appendable: bool = True) -> None:
        """Append to the newest segment, or start one if it is full (or not ``appendable``) or there is none."""
        if appendable and self.segments and self.segments[-1].size < segment_bytes:
            self.fd = os.open(self.segments[-1].path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        else:
            self.start(next_seq)

    def delete_oldest(self) -> Segment:
        """Delete the oldest segment (there are at least two) and return it."""
        oldest = self.segments.pop(0)
        with contextlib.suppress(OSError):
            oldest.path.unlink()
        self.bytes -= oldest.size
        return oldest

    def write(self, frame: bytes, next_seq: int) -> None:
        """Append ``frame`` (records from ``next_seq`` on) with one ``write``: wholly, or not at all (a
        failed write is cut off, and raises OSError)."""
        if self.fd < 0:  # starting the last segment failed: try again
            self.start(next_seq)
        active = self.segments[-1]
        view = memoryview(frame)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, active.size)
            raise
        active.size += len(frame)
        self.bytes += len(frame)
        if self.fsync == "batch":
            os.fsync(self.fd)

    def rotate(self, next_seq: int) -> None:
        """Finish the newest segment and start one whose first record is ``next_seq`` (OSError if it could
        not be started: the next write tries again)."""
        self._retire()
        self.start(next_seq)

    def _retire(self) -> None:
        fd, self.fd = self.fd, -1
        if fd < 0:
            return
        if self.fsync == "interval":
            self._retired.append(fd)
            return
        try:
            if self.fsync == "batch":
                os.fsync(fd)
        finally:
            os.close(fd)

    def start(self, next_seq: int) -> None:
        """Start a segment whose first record is ``next_seq`` (and append to it from now on)."""
        self._retire()
        path = self.directory / segment_name(next_seq)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, segment_header(next_seq))
            if self.fsync == "batch":
                os.fsync(fd)
                _sync_directory(self.directory)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._dir_dirty = self.fsync == "interval"
        self.segments.append(Segment(next_seq, path, SEGMENT_HEADER))
        self.bytes += SEGMENT_HEADER
        self.fd = fd

    def sync_work(self) -> tuple[int, list[int], bool]:
        """What the sync thread is to do, handed over: the descriptor of the newest segment, the retired ones
        (to sync and close), and whether the directory changed."""
        retired, self._retired = self._retired, []
        dir_dirty, self._dir_dirty = self._dir_dirty, False
        return self.fd, retired, dir_dirty

    def close(self, *, sync: bool) -> None:
        """Close every descriptor, syncing them first when ``sync``."""
        fds = [*self._retired, *([self.fd] if self.fd >= 0 else [])]
        self._retired, self.fd = [], -1
        for fd in fds:
            with contextlib.suppress(OSError):
                if sync:
                    os.fsync(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
        if sync and self._dir_dirty:
            self._dir_dirty = False
            with contextlib.suppress(OSError):
                _sync_directory(self.directory)


def sync_files(fd: int, retired: list[int], directory: Path | None) -> None:
    """The sync thread's work (see ``SegmentFiles.sync_work``): fsync ``fd`` (unless -1), fsync and close the
    ``retired`` descriptors, and fsync ``directory`` (unless None). Raises the first OSError, after closing."""
    error: OSError | None = None
    for one in retired:
        try:
            os.fsync(one)
        except OSError as exc:
            error = error or exc
        finally:
            with contextlib.suppress(OSError):
                os.close(one)
    try:
        if fd >= 0:
            os.fsync(fd)
        if directory is not None:
            _sync_directory(directory)
    except OSError as exc:
        error = error or exc
    if error is not None:
        raise error


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
