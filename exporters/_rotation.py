"""Rotated files: their names, time periods, retention, and the gzip of a rotated file.

A rotated file keeps the active file's name with the UTC time of its rotation between stem and suffix:
``app.log`` becomes ``app.2025-01-31T14-00-00.000000Z.log``, and ``...Z.log.gz`` once compressed. The stamp
has a fixed width, so the names sort in time order. Time periods are multiples of the interval since the
Unix epoch: hourly rotation happens on the hour, daily at 00:00 UTC, every 15 minutes at :00, :15, :30, :45.
"""

from __future__ import annotations

import calendar
import contextlib
import gzip
import math
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Rotated", "expired", "gzip_file", "maintain", "period_end", "rotated_files", "rotated_path"]

_STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{6}Z"


def _stamp(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(seconds)) + f".{fraction:06d}Z"


def _micros(stamp: str) -> int:
    fields = (stamp[0:4], stamp[5:7], stamp[8:10], stamp[11:13], stamp[14:16], stamp[17:19])
    seconds = calendar.timegm((*(int(f) for f in fields), 0, 0, 0))
    return seconds * 1_000_000 + int(stamp[20:26])


def rotated_path(active: Path, when: float) -> Path:
    """The name for ``active`` rotated at ``when``: later than every rotated file there already (by a
    microsecond if need be), so that names keep sorting in rotation order even if the clock stalls or
    steps back."""
    micros = round(when * 1_000_000)
    existing = rotated_files(active)
    if existing:
        micros = max(micros, _micros(existing[-1].stamp) + 1)
    return active.with_name(f"{active.stem}.{_stamp(micros)}{active.suffix}")


def period_end(when: float, interval: float) -> float:
    """The end of the period of ``interval`` seconds (aligned to the epoch) that ``when`` falls in."""
    return (math.floor(when / interval) + 1) * interval


@dataclass(frozen=True, slots=True)
class Rotated:
    """One rotated file: its stamp, its path(s) (plain and/or ``.gz`` while being compressed), its size."""

    stamp: str
    paths: tuple[Path, ...]
    size: int


def rotated_files(active: Path) -> list[Rotated]:
    """The rotated files of ``active``, oldest first."""
    pattern = re.compile(re.escape(f"{active.stem}.") + f"({_STAMP})" + re.escape(active.suffix) + r"(\.gz)?")
    found: dict[str, dict[bool, tuple[Path, int]]] = {}
    try:
        entries = list(os.scandir(active.parent))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            size = entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:  # deleted meanwhile (by another process's retention)
            continue
        found.setdefault(match.group(1), {})[match.group(2) is not None] = (Path(entry.path), size)
    out = []
    for stamp in sorted(found):
        variants = found[stamp]
        size = variants[True][1] if True in variants else variants[False][1]
        out.append(Rotated(stamp, tuple(path for path, _ in variants.values()), size))
    return out


def expired(files: list[Rotated], *, max_files: int | None, max_total_bytes: int | None) -> list[Rotated]:
    """Which of ``files`` (oldest first) to delete: the oldest beyond ``max_files``, then the oldest until
    the rest add up to at most ``max_total_bytes``."""
    keep = list(files)
    doomed: list[Rotated] = []
    if max_files is not None and len(keep) > max_files:
        cut = len(keep) - max_files
        doomed, keep = keep[:cut], keep[cut:]
    if max_total_bytes is not None:
        total = sum(f.size for f in keep)
        while keep and total > max_total_bytes:
            oldest = keep.pop(0)
            doomed.append(oldest)
            total -= oldest.size
    return doomed


def gzip_file(path: Path) -> Path | None:
    """Compress ``path`` to ``path.gz`` (written aside, synced, then renamed) and delete ``path``.

    Returns the ``.gz`` path, or ``None`` when ``path`` vanished first (another process's retention).
    """
    target = path.with_name(path.name + ".gz")
    part = path.with_name(f".{path.name}.gz.{os.getpid()}.part")  # hidden; never matched by retention
    try:
        with path.open("rb") as source, part.open("wb") as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, compresslevel=6) as packed:
                shutil.copyfileobj(source, packed, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, target)
        path.unlink(missing_ok=True)
    except FileNotFoundError:
        part.unlink(missing_ok=True)
        return None
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise
    return target


def maintain(
    rotated: Path, *, active: Path, compress: bool, max_files: int | None, max_total_bytes: int | None
) -> None:
    """After a rotation (off the hot path): compress the rotated file, then apply retention."""
    if compress:
        gzip_file(rotated)
    if max_files is None and max_total_bytes is None:
        return
    for old in expired(rotated_files(active), max_files=max_files, max_total_bytes=max_total_bytes):
        for path in old.paths:
            path.unlink(missing_ok=True)
