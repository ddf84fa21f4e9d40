"""The active log file, shared safely by every thread and process that writes to it.

The rule: a writer takes ``flock(LOCK_EX)`` on a lock file next to the log (``.<name>.lock``) around each
batch it writes and around each rotation. Holding the lock, it checks that its descriptor still refers to
the file now at the path (another process may have rotated it away) and reopens the path if not. So every
write lands whole, after the previous writer's last line, in the file that is current. A write that fails
part-way (disk full, file size limit) is cut back to where it began: the file never keeps a torn line.

The lock file is separate from the log so that it survives rotations. Locks held through a descriptor that
a forked child inherited would be shared with the parent, so a child must ``close()`` them (which leaves
the parent's lock alone) and take locks of its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

_flock: Callable[[int, int], object] | None
try:
    import fcntl

    _flock, _EXCLUSIVE, _UNLOCK = fcntl.flock, fcntl.LOCK_EX, fcntl.LOCK_UN
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock (the exporter still serializes threads)
    _flock, _EXCLUSIVE, _UNLOCK = None, 0, 0

__all__ = ["ActiveFile"]

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class ActiveFile:
    """The file at ``path``, opened for appending, with the lock that guards it."""

    __slots__ = ("_fd", "_identity", "_lock_fd", "lock_path", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(f".{path.name}.lock")
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._identity: tuple[int, int] | None = None

    def lock(self) -> None:
        """Take the exclusive lock (creating the directory and the lock file when they are missing).

        Once locked, the lock file must still be the one at its path: if it was deleted (with its directory,
        say) or replaced, other writers lock the new one, so the lock is taken again on that.
        """
        while True:
            fd = self._lock_fd
            if fd is None:
                try:
                    fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except FileNotFoundError:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._lock_fd = fd
            if _flock is None:  # pragma: no cover - not POSIX
                return
            _flock(fd, _EXCLUSIVE)
            mine = os.fstat(fd)
            try:
                there = os.stat(self.lock_path)
            except FileNotFoundError:
                there = None
            if there is not None and (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino):
                return
            self._lock_fd = None
            os.close(fd)  # releases the stale lock

    def unlock(self) -> None:
        if self._lock_fd is not None and _flock is not None:
            _flock(self._lock_fd, _UNLOCK)

    def current(self) -> tuple[os.stat_result, bool]:
        """The status of the file at the path, opened (or reopened) if our descriptor is not that file;
        and whether it was (re)opened. Call with the lock held."""
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if self._fd is not None and st is not None and (st.st_dev, st.st_ino) == self._identity:
            return st, False
        self.detach()
        try:
            fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        except FileNotFoundError:  # the directory went away (or never was): make it again
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, _OPEN_FLAGS, 0o644)
        st = os.fstat(fd)
        self._fd, self._identity = fd, (st.st_dev, st.st_ino)
        return st, True

    def append(self, data: bytes, size_before: int) -> None:
        """Write all of ``data``; on failure truncate the file back to ``size_before`` and raise."""
        fd = self._fd
        if fd is None:  # pragma: no cover - current() always comes first
            raise OSError(errno.EBADF, "log file is not open")
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                done += _write_some(fd, view[done:])
        except OSError:
            if done:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size_before)
            raise

    def rotate_to(self, target: Path) -> None:
        """Move the file at the path to ``target`` (with the lock held); the next ``current()`` opens a new one."""
        os.rename(self.path, target)
        self.detach()

    def detach(self) -> None:
        """Close the log's descriptor (the lock stays)."""
        fd, self._fd, self._identity = self._fd, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        """Close both descriptors (which also releases the lock)."""
        self.detach()
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _write_some(fd: int, data: memoryview) -> int:
    written = os.write(fd, data)
    if written <= 0:  # pragma: no cover - regular files report an error instead
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return written
