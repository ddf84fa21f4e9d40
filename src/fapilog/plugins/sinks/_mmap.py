"""``MemoryMappedPersistence``: an append-only file written through a memory map, for fast custom sinks.

The file is mapped with room to spare (``initial_size``). An append is a copy into the mapping, with no
system call; when an append does not fit, the file grows by ``growth_factor`` (at least enough for the
append) and is mapped again. Its disk space is allocated as it grows, so a full disk is an ``OSError`` from
``open()`` or an append, never a ``SIGBUS``. Past the written length the file holds zeros until ``close()``
truncates it to exactly the bytes written. If the process dies without ``close()``, what was appended is
still in the file (the kernel writes the mapping back), followed by zeros: ``open()`` finds the end of the
data again by skipping trailing zero bytes, and appends continue from there. (So data should not end in
zero bytes; lines never do.)

``sync`` says when the data is forced to the storage device:

* ``"never"``: never; the kernel writes back when it likes (a process crash loses nothing, a power cut may);
* ``"close"`` (the default): at ``close()`` (``msync`` and ``fsync``), and whenever ``flush()`` is awaited;
* ``"always"``: after every append (``msync`` of the pages it touched); durable per append, and slow.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Literal

from fapilog._units import parse_size

__all__ = ["MemoryMappedPersistence", "SyncMode"]

SyncMode = Literal["never", "close", "always"]
_SYNC_MODES = ("never", "close", "always")
_SCAN_BLOCK = 64 * 1024


class MemoryMappedPersistence:
    """Append bytes (or lines) to ``path`` through a growing memory map. Not a sink itself: a building block."""

    __slots__ = ("_capacity", "_fd", "_growth", "_initial", "_lock", "_map", "_path", "_sync", "_written")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        initial_size: int | str = 1024 * 1024,
        growth_factor: float = 2.0,
        sync: SyncMode = "close",
    ) -> None:
        initial = parse_size(initial_size)
        if initial < 1:
            raise ValueError("initial_size must be at least 1 byte")
        if not growth_factor > 1.0:
            raise ValueError(f"growth_factor must be greater than 1, not {growth_factor!r}")
        if sync not in _SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(_SYNC_MODES)}, not {sync!r}")
        self._path = Path(path)
        self._initial = _round_up(initial)
        self._growth = float(growth_factor)
        self._sync: SyncMode = sync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._written = 0

    @property
    def path(self) -> Path:
        return self._path

    @property
    def written(self) -> int:
        """Bytes of data in the file (appended now and found at ``open()``)."""
        return self._written

    @property
    def capacity(self) -> int:
        """Bytes mapped (the file's size while it is open)."""
        return self._capacity

    @property
    def is_open(self) -> bool:
        return self._map is not None

    async def open(self) -> None:
        """Open (creating the file and its directory if missing) and map it; appends go after existing data."""
        with self._lock:
            if self._map is not None:
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                size = os.fstat(fd).st_size
                written = _data_end(fd, size)
                capacity = max(self._initial, size)
                if capacity != size:
                    _reserve(fd, size, capacity)
                self._map = mmap.mmap(fd, capacity, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            except BaseException:
                os.close(fd)
                raise
            self._fd, self._capacity, self._written = fd, capacity, written

    async def append(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data`` (any contiguous bytes-like object, copied once); returns its offset in the file."""
        return self._append(memoryview(data), None)

    async def append_line(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` followed by a newline."""
        self._append(memoryview(data), b"\n")

    def _append(self, view: memoryview, tail: bytes | None) -> int:
        with self._lock:
            mapped, fd = self._map, self._fd
            if mapped is None or fd is None:
                raise RuntimeError(f"MemoryMappedPersistence({str(self._path)!r}) is not open")
            size = view.nbytes
            need = size + (len(tail) if tail else 0)
            start = self._written
            if start + need > self._capacity:
                mapped = self._grow(mapped, fd, start + need)
            mapped[start : start + size] = view
            if tail:
                mapped[start + size : start + need] = tail
            self._written = start + need
            if self._sync == "always":
                first = start - start % mmap.PAGESIZE
                mapped.flush(first, start + need - first)
            return start

    def _grow(self, mapped: mmap.mmap, fd: int, minimum: int) -> mmap.mmap:
        """Grow the file to at least ``minimum`` bytes and map it again (the lock is held)."""
        capacity = _round_up(max(int(self._capacity * self._growth), minimum))
        _reserve(fd, self._capacity, capacity)
        grown = mmap.mmap(fd, capacity, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        mapped.close()
        self._map, self._capacity = grown, capacity
        return grown

    async def flush(self) -> None:
        """Force what was appended to the storage device (unless ``sync="never"``)."""
        with self._lock:
            if self._map is not None and self._fd is not None and self._sync != "never":
                self._map.flush()
                os.fsync(self._fd)

    async def close(self) -> None:
        """Unmap, truncate the file to the bytes written, sync (unless ``sync="never"``) and close. Idempotent."""
        with self._lock:
            mapped, fd = self._map, self._fd
            if mapped is None or fd is None:
                return
            self._map, self._fd = None, None
            try:
                if self._sync != "never":
                    mapped.flush()
                mapped.close()
                os.ftruncate(fd, self._written)
                if self._sync != "never":
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._capacity = 0

    async def health_check(self) -> bool:
        """Whether it is open and the path still names the mapped file (not deleted or replaced)."""
        with self._lock:
            if self._map is None or self._fd is None or self._map.closed:
                return False
            try:
                mine, there = os.fstat(self._fd), os.stat(self._path)
            except OSError:
                return False
            return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    async def __aenter__(self) -> MemoryMappedPersistence:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _round_up(size: int) -> int:
    granularity = mmap.ALLOCATIONGRANULARITY
    return -(-size // granularity) * granularity


def _reserve(fd: int, size: int, capacity: int) -> None:
    """Extend the file from ``size`` to ``capacity`` bytes with its disk space allocated, so that a full disk
    is an ``OSError`` here rather than a ``SIGBUS`` when the mapping is written."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None:  # pragma: no cover - not POSIX: a sparse extension
        os.ftruncate(fd, capacity)
        return
    try:
        allocate(fd, size, capacity - size)
    except OSError:
        os.ftruncate(fd, size)  # undo a partial allocation
        raise


def _data_end(fd: int, size: int) -> int:
    """The length of the file's data: its size without trailing zero bytes (left by an unclosed map)."""
    end = size
    while end > 0:
        start = max(0, end - _SCAN_BLOCK)
        block = os.pread(fd, end - start, start).rstrip(b"\x00")
        if block:
            return start + len(block)
        end = start
    return 0
