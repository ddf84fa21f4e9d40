"""The Loki push request in protobuf, written by hand (proto3 wire format, Loki's field numbers).

PushRequest        { 1: repeated StreamAdapter streams }
StreamAdapter      { 1: string labels; 2: repeated EntryAdapter entries }
EntryAdapter       { 1: Timestamp timestamp; 2: string line; 3: repeated LabelPairAdapter structuredMetadata }
Timestamp          { 1: int64 seconds; 2: int32 nanos }
LabelPairAdapter   { 1: string name; 2: string value }
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["Entry", "encode_push"]

# (timestamp in ns since the epoch, line, structured metadata pairs)
Entry = tuple[int, str, Sequence[tuple[str, str]]]

_LEN = 2  # wire type: length-delimited
_VARINT = 0


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 negatives take ten bytes, two's complement
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _bytes_field(number: int, data: bytes) -> bytes:
    return _tag(number, _LEN) + _varint(len(data)) + data


def _timestamp(ns: int) -> bytes:
    seconds, nanos = divmod(ns, 1_000_000_000)
    out = b""
    if seconds:
        out += _tag(1, _VARINT) + _varint(seconds)
    if nanos:
        out += _tag(2, _VARINT) + _varint(nanos)
    return out


def _entry(entry: Entry) -> bytes:
    ns, line, metadata = entry
    out = _bytes_field(1, _timestamp(ns)) + _bytes_field(2, line.encode("utf-8", "backslashreplace"))
    for name, value in metadata:
        out += _bytes_field(
            3, _bytes_field(1, name.encode()) + _bytes_field(2, value.encode("utf-8", "backslashreplace"))
        )
    return out


def encode_push(streams: Iterable[tuple[str, Sequence[Entry]]]) -> bytes:
    """The serialized ``PushRequest`` of ``(labels, entries)`` streams (labels in Loki's ``{k="v"}`` form)."""
    parts: list[bytes] = []
    for labels, entries in streams:
        body = _bytes_field(1, labels.encode()) + b"".join([_bytes_field(2, _entry(e)) for e in entries])
        parts.append(_bytes_field(1, body))
    return b"".join(parts)
