"""One process (and one spool object) per spool directory: an exclusive ``flock`` on ``<directory>/lock``.

The lock file holds the pid of its holder, so the error for a second opener can name it. The lock goes with
the process: a process killed with SIGKILL leaves the file but not the lock, and the next opener takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["DirectoryLock", "SpoolLockedError"]

_NAME = "lock"


class SpoolLockedError(RuntimeError):
    """The spool directory is in use by another spool object or process."""

    def __init__(self, directory: Path, holder: int | None) -> None:
        who = f"process {holder}" if holder is not None else "another process"
        mine = " (this process: another spool object)" if holder == os.getpid() else ""
        super().__init__(
            f"spool directory {directory} is locked by {who}{mine}; each exporter needs a spool directory of "
            "its own, and one process at a time may use it"
        )
        self.directory = directory
        self.holder = holder


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class DirectoryLock:
    """An exclusive, non-blocking lock on a directory; ``release`` (or the process ending) frees it."""

    __slots__ = ("_fd", "path", "size")

    def __init__(self, directory: Path) -> None:
        self.path = directory / _NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpoolLockedError(directory, _holder(self.path)) from None
        except BaseException:
            os.close(fd)
            raise
        holder = f"{os.getpid()}\n".encode("ascii")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder, 0)
        except OSError:  # the pid only serves the error message of a second opener
            holder = b""
        self.size = len(holder)  # bytes the lock file holds
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking the parent's lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing one of two descriptors of a description keeps its flock
