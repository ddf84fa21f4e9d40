"""The spool's store and on-disk format: round trips, restart, corruption, the disk bound, the lock."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fapilog._otel import InstrumentationScope, Record, Resource, SeverityNumber, new_record
from fapilog._render import envelope
from fapilog.exporters._spool_codec import decode_batch, encode_batch
from fapilog.exporters._spool_segment import FRAME_HEADER, SEGMENT_HEADER, Frame, read_frames
from fapilog.exporters._spool_store import Store
from fapilog.exporters.spool import SpoolLockedError
from tests.test_docs import clean_env

SCOPE = InstrumentationScope("spool-test", "1.2")
RESOURCE = Resource.create({"service.name": "svc"})


def rec(seq: int, **attrs: Any) -> Record:
    record = new_record(time.time_ns(), SeverityNumber.INFO, "INFO", f"m{seq}", {"seq": seq, **attrs}, SCOPE, None)
    record.resource = RESOURCE
    return record


def seq_of(record: Any) -> int:
    """The ``seq`` attribute of a record."""
    return int(dict(record.log_record.attributes or {})["seq"])


def fill(store: Store, batches: int, size: int = 10) -> None:
    for b in range(batches):
        assert store.append([rec(b * size + i) for i in range(size)])


def drain(store: Store, limit: int = 7) -> list[int]:
    """Take and acknowledge everything; the seq attribute of each record, in order."""
    out: list[int] = []
    while True:
        seq, batch = store.take(limit)
        if not batch:
            return out
        out.extend(seq_of(r) for r in batch)
        store.ack(seq + len(batch))


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


class _Span:
    trace_id = 0x0AF7651916CD43DD8448EB211C80319C
    span_id = 0xB7AD6B7169203331
    trace_flags = 1
    is_valid = True


def test_records_round_trip_losslessly() -> None:
    """Every field a record carries comes back from bytes: envelope, ids, severity, scope, resource, odd values."""
    record = new_record(
        1_767_323_045_123_456_789,
        SeverityNumber.FATAL,
        "AUDIT",
        "login",
        {"b": b"\x00\xff", "nested": {"\x00b": "looks like a tag", "l": [1, 2.5, None, True]}, "big": 2**62},
        SCOPE,
        _Span(),
        event_name="user.login",
    )
    record.log_record.observed_timestamp += 5
    record.resource = RESOURCE
    record.context = {"request_id": "r-1"}
    odd = rec(1, inf=math.inf, neg=-math.inf)
    back, back_odd = decode_batch(encode_batch([record, odd]))
    assert envelope(back) == envelope(record)
    lr, blr = record.log_record, back.log_record
    assert (blr.trace_id, blr.span_id, int(blr.trace_flags or 0)) == (lr.trace_id, lr.span_id, 1)
    assert (blr.severity_number, blr.event_name, blr.observed_timestamp) == (
        SeverityNumber.FATAL,
        "user.login",
        lr.observed_timestamp,
    )
    assert back.instrumentation_scope == SCOPE
    assert back.context == {"request_id": "r-1"}
    assert back.resource is not None
    assert dict(back.resource.attributes) == dict(RESOURCE.attributes)
    assert back_odd.log_record.attributes == odd.log_record.attributes
    nan = decode_batch(encode_batch([rec(2, x=math.nan)]))[0]
    value: Any = dict(nan.log_record.attributes or {})["x"]
    assert math.isnan(value)


def test_records_survive_a_restart_in_order_and_acks_persist(tmp_path: Path) -> None:
    """Records appended before close are handed out after reopening, from the cursor on, in order."""
    store = Store(tmp_path, segment_bytes=2_000, cache_records=0)
    fill(store, 10)
    seq, batch = store.take(15)
    store.ack(seq + len(batch))
    store.close()
    store = Store(tmp_path, segment_bytes=2_000)
    assert store.stats().pending == 100 - len(batch)
    assert drain(store) == list(range(len(batch), 100))
    assert store.stats().replayed == 100 - len(batch)  # from an earlier process
    assert len(segments(tmp_path)) == 1  # delivered segments are deleted
    store.close()


def test_a_truncated_segment_is_detected_cut_and_counted(tmp_path: Path) -> None:
    """A torn tail (a segment cut mid-frame) is cut off at start-up and counted; the rest is delivered and new
    records append after it."""
    store = Store(tmp_path, cache_records=0)
    fill(store, 5)
    store.close()
    (seg,) = segments(tmp_path)
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - 40)
    store = Store(tmp_path, cache_records=0)
    stats = store.stats()
    assert (stats.corrupt_regions, stats.corrupt) == (1, 1)
    assert stats.next_seq == 40
    assert store.append([rec(50), rec(51)])
    assert drain(store) == [*range(40), 50, 51]
    store.close()


def test_a_flipped_payload_byte_loses_exactly_that_frame(tmp_path: Path) -> None:
    """A flipped byte in a frame's payload fails its checksum: its records are skipped and counted, the
    frames around it are delivered."""
    store = Store(tmp_path, cache_records=0)
    fill(store, 5)
    store.close()
    (seg,) = segments(tmp_path)
    frames = [f for f in read_frames(seg, SEGMENT_HEADER, seg.stat().st_size) if isinstance(f, Frame)]
    _flip(seg, frames[2].offset + FRAME_HEADER + 5)
    store = Store(tmp_path, cache_records=0)
    assert store.stats().corrupt == 0  # not the tail: found when read
    assert drain(store) == [*range(20), *range(30, 50)]
    stats = store.stats()
    assert (stats.corrupt, stats.corrupt_regions) == (10, 1)
    store.close()


def test_a_flipped_header_byte_is_resynchronised_and_counted_from_sequence_numbers(tmp_path: Path) -> None:
    """A flipped byte in a frame header: the reader finds the next sound frame and counts the records between."""
    store = Store(tmp_path, cache_records=0)
    fill(store, 5)
    store.close()
    (seg,) = segments(tmp_path)
    frames = [f for f in read_frames(seg, SEGMENT_HEADER, seg.stat().st_size) if isinstance(f, Frame)]
    _flip(seg, frames[1].offset + 9)  # inside the sequence number
    store = Store(tmp_path, cache_records=0)
    assert drain(store) == [*range(10), *range(20, 50)]
    assert store.stats().corrupt == 10
    store.close()


def test_a_damaged_segment_header_is_quarantined_without_failing_start_up(tmp_path: Path) -> None:
    """A segment whose header is garbage is renamed *.corrupt and counted; start-up goes on."""
    store = Store(tmp_path, segment_bytes=1_000, cache_records=0)
    fill(store, 6)
    store.close()
    first = segments(tmp_path)[0]
    _flip(first, 0)
    store = Store(tmp_path, cache_records=0)
    got = drain(store)
    assert got
    assert got == sorted(got)
    assert 0 not in got
    assert store.stats().corrupt >= 1
    assert list(tmp_path.glob("*.corrupt"))
    store.close()


def test_the_disk_bound_holds_and_drop_oldest_counts_what_it_deletes(tmp_path: Path) -> None:
    """With nothing consuming, disk use never passes max_bytes; the oldest records go first, counted, and
    spooled == delivered + dropped."""
    store = Store(tmp_path, max_bytes=20_000, segment_bytes=4_000, cache_records=0)
    for b in range(200):
        assert store.append([rec(b * 5 + i) for i in range(5)])
        assert store.stats().disk_bytes <= 20_000
        assert sum(p.stat().st_size for p in segments(tmp_path)) <= 20_000
    got = drain(store)
    stats = store.stats()
    assert stats.dropped > 0
    assert got == list(range(1_000 - len(got), 1_000))  # the newest, in order
    assert stats.spooled == len(got) + stats.dropped == 1_000
    store.close()


def test_the_block_overflow_waits_then_refuses_and_counts(tmp_path: Path) -> None:
    """overflow=block: at the bound an append waits block_timeout for room, then is refused and counted."""
    store = Store(tmp_path, max_bytes=8_000, segment_bytes=2_000, overflow="block", block_timeout=0.05)
    accepted = sum(store.append([rec(b * 5 + i) for i in range(5)]) for b in range(40))
    stats = store.stats()
    assert 0 < accepted < 40
    assert stats.dropped == (40 - accepted) * 5
    assert stats.disk_bytes <= 8_000
    assert drain(store) == list(range(accepted * 5))
    store.close()


def test_a_second_opener_is_refused_naming_the_directory_and_holder(tmp_path: Path) -> None:
    """Two spools on one directory: in this process and in another one, a SpoolLockedError naming both."""
    store = Store(tmp_path)
    with pytest.raises(SpoolLockedError, match=str(os.getpid())) as info:
        Store(tmp_path)
    assert str(tmp_path) in str(info.value)
    code = f"from fapilog.exporters._spool_store import Store\nStore({str(tmp_path)!r})\n"
    other = subprocess.run(
        [sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert other.returncode != 0
    assert f"spool directory {tmp_path} is locked by process {os.getpid()}" in other.stderr
    store.close()
    Store(tmp_path).close()  # released: the next opener gets it


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    """The lock dies with its process: after SIGKILL the directory opens again."""
    code = (
        "import os, signal\nfrom fapilog.exporters._spool_store import Store\n"
        f"Store({str(tmp_path)!r})\nos.kill(os.getpid(), signal.SIGKILL)\n"
    )
    gone = subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True, timeout=60, check=False)
    assert gone.returncode == -9
    Store(tmp_path).close()


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
