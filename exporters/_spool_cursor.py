"""Where replay has got to: the ``cursor`` file of a spool directory.

Two 32-byte slots are written in turn, each ``generation u64, acked u64, sending u64, crc u32`` plus padding;
the sound slot with the higher generation wins, so a torn write leaves the previous position readable.
``acked`` is the sequence number of the first record not yet acknowledged by the exporter; ``sending`` is
the end of the batch handed to it and not yet acknowledged (equal to ``acked`` when none is). After a crash
the records in ``[acked, sending)`` may have been delivered already: they are sent again and counted as
possible duplicates, so duplicates are bounded by one batch.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

__all__ = ["CURSOR_BYTES", "Cursor"]

_SLOT = struct.Struct("<QQQI4x")  # 32 bytes
_BODY = struct.Struct("<QQQ")
_NAME = "cursor"
CURSOR_BYTES = 2 * _SLOT.size  # the file's size once written


class Cursor:
    """The cursor file of a spool directory, open for the spool's lifetime."""

    __slots__ = ("_fd", "_generation", "acked", "sending")

    def __init__(self, directory: Path) -> None:
        self._fd = os.open(directory / _NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._generation = 0
        self.acked = 0
        self.sending = 0
        best: tuple[int, int, int] | None = None
        data = os.pread(self._fd, 2 * _SLOT.size, 0)
        for i in range(2):
            chunk = data[i * _SLOT.size : (i + 1) * _SLOT.size]
            if len(chunk) < _SLOT.size:
                continue
            generation, acked, sending, crc = _SLOT.unpack(chunk)
            if zlib.crc32(chunk[: _BODY.size]) != crc or sending < acked:
                continue
            if best is None or generation > best[0]:
                best = (generation, acked, sending)
        if best is not None:
            self._generation, self.acked, self.sending = best

    def write(self, acked: int, sending: int) -> None:
        """Record a new position (no fsync: the spool's policy syncs the directory's files)."""
        self._generation += 1
        body = _BODY.pack(self._generation, acked, sending)
        slot = self._generation % 2
        os.pwrite(self._fd, body + struct.pack("<I4x", zlib.crc32(body)), slot * _SLOT.size)
        self.acked, self.sending = acked, sending

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
