"""Reading spooled records back from segment files, outside the store's lock, accounting for damage.

``read_records`` walks the segments from the read position and returns the records of consecutive sound
frames (up to a limit) at or after the wanted sequence number, where reading stopped, and the damaged
stretches it crossed, each with the records lost there: exactly for a frame whose header is sound, else from
the sequence numbers of the sound frames on either side (at least one). Only records not yet delivered count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fapilog._diagnostics import Diagnostics
from fapilog.exporters._spool_codec import decode_batch
from fapilog.exporters._spool_segment import SEGMENT_HEADER, Damage, Frame, read_frames

__all__ = ["Read", "read_records"]

Part = tuple[Path, int, int, int]  # a segment to read: path, start offset, end offset, its first sequence number


@dataclass(slots=True)
class Read:
    """The records found (``first`` is the sequence number of the first; None when there were none), where
    reading stopped (segment index, offset), the sequence number expected next, and the damage seen."""

    records: list[Any]
    first: int | None
    segment: int
    offset: int
    expected: int
    damages: list[tuple[int | None, str]] = field(default_factory=list)


class _Tally:
    """Damage accounting of one read."""

    __slots__ = ("damages", "expected", "unknown", "wanted")

    def __init__(self, expected: int, wanted: int) -> None:
        self.expected = expected
        self.wanted = wanted
        self.damages: list[tuple[int | None, str]] = []
        self.unknown: str | None = None  # a damaged stretch whose records the next sound frame tells

    def gap(self, seq: int, where: str) -> None:
        """Records before ``seq`` that no sound frame held."""
        start = max(self.expected, self.wanted)
        lost = seq - start
        if self.unknown is not None:
            if seq > self.wanted:
                self.damages.append((max(lost, 1), self.unknown))
            self.unknown = None
        elif lost > 0:
            self.damages.append((lost, f"{where}: records {start}..{seq - 1} missing"))

    def damage(self, item: Damage, name: str) -> None:
        where = f"{name} at byte {item.offset}: {item.reason}"
        if item.records is None or item.seq is None:
            if self.unknown is None:
                self.unknown = where
            return
        self.gap(item.seq, name)
        lost = item.seq + item.records - max(item.seq, self.wanted)
        if lost > 0:
            self.damages.append((lost, where))
        self.passed(item.seq + item.records)

    def passed(self, end: int) -> None:
        self.expected = max(self.expected, end)


def read_records(
    parts: list[Part],
    index: int,
    expected: int,
    *,
    wanted: int,
    limit: int,
    end_seq: int,
    diagnostics: Diagnostics,
) -> Read:
    """Read ``parts`` (from segment ``index`` on) until sound frames give records at or after ``wanted``;
    ``expected`` is the sequence number the next frame should start with and ``end_seq`` where the written
    records end, so records missing anywhere, the very end included, are counted."""
    tally = _Tally(expected, wanted)
    segment, offset = index, parts[0][1] if parts else SEGMENT_HEADER
    got: list[Any] = []
    first = 0
    for n, (path, start, end, seg_first) in enumerate(parts):
        segment, offset = index + n, start
        if n > 0:
            tally.gap(max(seg_first, tally.expected), path.name)
            tally.passed(seg_first)
        try:
            for item in read_frames(path, start, end):
                if got and (isinstance(item, Damage) or item.seq != tally.expected or len(got) >= limit):
                    return Read(got, first, segment, item.offset, tally.expected, tally.damages)  # stop before it
                if isinstance(item, Damage):
                    tally.damage(item, path.name)
                    offset = item.end
                    continue
                records = _decode(item) if item.seq + item.count > wanted else []
                if records is None:  # undecodable: counted by a read that starts at it
                    if got:
                        return Read(got, first, segment, item.offset, tally.expected, tally.damages)
                    tally.gap(item.seq, path.name)
                    tally.damages.append((item.count, f"{path.name} at byte {item.offset}: undecodable"))
                    records = []
                tally.gap(item.seq, path.name)
                if records and not got:
                    first = item.seq
                got.extend(records)
                offset = item.end
                tally.passed(item.seq + item.count)
        except OSError as exc:
            diagnostics.warn("spool", "spool read failed", path=str(path), error=exc)
            return Read(got, first if got else None, segment, offset, tally.expected, tally.damages)
        if got:
            return Read(got, first, segment, offset, tally.expected, tally.damages)
    tally.gap(max(end_seq, tally.expected), "end of the spool")
    return Read([], None, segment, offset, max(end_seq, tally.expected), tally.damages)


def _decode(item: Frame) -> list[Any] | None:
    """The frame's records, or None when its payload, though its checksum holds, cannot be decoded."""
    try:
        return decode_batch(item.payload)
    except Exception:
        return None
