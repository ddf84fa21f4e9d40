"""The spool's on-disk format: segment files of checksummed frames, and a reader that survives damage.

A spool directory holds segments named ``<first sequence number, 20 digits>.seg``. A segment starts with a
16-byte header (``FSPLSEG1`` and the first sequence number, little-endian u64) and is followed by frames,
appended one ``write`` each::

    magic  u32  0x4C505346 ("FSPL")
    length u32  bytes of the payload
    seq    u64  sequence number of the frame's first record
    count  u32  records in the frame
    hcrc   u32  CRC-32 of the 20 bytes above
    pcrc   u32  CRC-32 of the payload
    payload     the records (``_spool_codec``)

The header checksum makes a frame's length and numbering trustworthy before its payload is read. A frame
whose header is sound but whose payload fails its checksum, or is cut short (a torn tail), is skipped exactly
(its ``count`` records are counted corrupt). A damaged header (a flipped byte, a torn tail) makes the reader
look for the next magic number whose header checks out; the records between are counted from the sequence
numbers on either side.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FRAME_HEADER",
    "SEGMENT_HEADER",
    "Damage",
    "Frame",
    "encode_frame",
    "check_segment",
    "parse_frames",
    "read_frames",
    "segment_header",
    "segment_name",
    "segment_seq",
]

SEGMENT_MAGIC = b"FSPLSEG1"
SEGMENT_HEADER = 16
_FRAME_MAGIC = 0x4C505346
_MAGIC_BYTES = struct.pack("<I", _FRAME_MAGIC)
_HEAD = struct.Struct("<IIQI")  # magic, length, seq, count: covered by hcrc
_CRCS = struct.Struct("<II")
FRAME_HEADER = _HEAD.size + _CRCS.size  # 28
_SEGMENT = struct.Struct("<8sQ")
_SUFFIX = ".seg"
MAX_PAYLOAD = 1 << 30


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{_SUFFIX}"


def segment_seq(path: Path) -> int | None:
    """The first sequence number a segment file's name says, or None for another file."""
    name = path.name
    if not name.endswith(_SUFFIX) or len(name) != 20 + len(_SUFFIX) or not name[:20].isdigit():
        return None
    return int(name[:20])


def segment_header(first_seq: int) -> bytes:
    return _SEGMENT.pack(SEGMENT_MAGIC, first_seq)


def encode_frame(seq: int, count: int, payload: bytes, payload_crc: int | None = None) -> bytes:
    """A frame of ``count`` records numbered from ``seq`` (``payload_crc``: the payload's CRC-32 if known)."""
    head = _HEAD.pack(_FRAME_MAGIC, len(payload), seq, count)
    pcrc = zlib.crc32(payload) if payload_crc is None else payload_crc
    return head + _CRCS.pack(zlib.crc32(head), pcrc) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    """A sound frame: where it is and what it holds."""

    offset: int
    end: int
    seq: int
    count: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes ``[offset, end)`` that are not sound frames; ``seq`` and ``records`` lost there when known (a
    sound header with a bad payload), else None (the caller counts them from the sequence numbers around)."""

    offset: int
    end: int
    seq: int | None
    records: int | None
    reason: str


def _header_at(data: bytes, pos: int) -> tuple[int, int, int, int] | None:
    """The (length, seq, count, payload crc) of a frame header at ``pos`` whose checksum holds, or None."""
    if pos + FRAME_HEADER > len(data):
        return None
    head = data[pos : pos + _HEAD.size]
    magic, length, seq, count = _HEAD.unpack(head)
    hcrc, pcrc = _CRCS.unpack_from(data, pos + _HEAD.size)
    if magic != _FRAME_MAGIC or zlib.crc32(head) != hcrc or length > MAX_PAYLOAD:
        return None
    return length, seq, count, pcrc


def _frame_length(data: bytes) -> int:
    return int(_HEAD.unpack_from(data, 0)[1]) if len(data) >= _HEAD.size else 0


def _resync(data: bytes, pos: int) -> int:
    """The offset of the next frame header that checks out after ``pos``, or the end of ``data``."""
    at = data.find(_MAGIC_BYTES, pos + 1)
    while at >= 0:
        if _header_at(data, at) is not None:
            return at
        at = data.find(_MAGIC_BYTES, at + 1)
    return len(data)


def parse_frames(data: bytes, base: int, *, final: bool) -> Iterator[Frame | Damage]:
    """The frames and damaged stretches of ``data`` (the file's bytes from offset ``base``), in order.

    With ``final=False`` the data is a chunk that the file continues after: a frame that runs past the chunk
    ends the iteration instead of counting as damage (the next chunk starts at it)."""
    pos = 0
    size = len(data)
    while pos < size:
        header = _header_at(data, pos)
        if header is None:
            if not final and pos + FRAME_HEADER > size:
                return
            nxt = _resync(data, pos)
            if not final and nxt == size:  # a sound header may straddle the chunk's end: look again there
                yield Damage(base + pos, base + max(pos + 1, size - FRAME_HEADER), None, None, "bad frame header")
                return
            yield Damage(base + pos, base + nxt, None, None, "torn tail" if nxt == size else "bad frame header")
            pos = nxt
            continue
        length, seq, count, pcrc = header
        end = pos + FRAME_HEADER + length
        if end > size:
            if not final:
                return
            nxt = _resync(data, pos)  # the header checks out, so its numbering holds: the records are known
            yield Damage(base + pos, base + nxt, seq, count, "short frame" if nxt < size else "torn tail")
            pos = nxt
            continue
        payload = data[pos + FRAME_HEADER : end]
        if zlib.crc32(payload) != pcrc:
            yield Damage(base + pos, base + end, seq, count, "bad checksum")
        else:
            yield Frame(base + pos, base + end, seq, count, payload)
        pos = end


def check_segment(path: Path) -> bool:
    """Whether the file at ``path`` starts with a sound segment header."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == SEGMENT_MAGIC
    except OSError:
        return False


def read_frames(path: Path, start: int, end: int, chunk: int = 4 << 20) -> Iterator[Frame | Damage]:
    """The frames of the segment at ``path`` between byte ``start`` and ``end``, read ``chunk`` bytes at a
    time (more when one frame is larger)."""
    start = max(start, SEGMENT_HEADER)
    with open(path, "rb") as f:
        pos = start
        while pos < end:
            want = min(end - pos, chunk)
            f.seek(pos)
            data = f.read(want)
            if not data:
                return
            final = pos + len(data) >= end
            last = pos
            for item in parse_frames(data, pos, final=final):
                last = item.end
                yield item
            if final:
                return
            if last == pos:  # one frame longer than the chunk: read it whole
                chunk = max(chunk * 2, _frame_length(data) + FRAME_HEADER)
            pos = last
