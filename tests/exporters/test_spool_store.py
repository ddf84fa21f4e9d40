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
    """A torn tail (a segment cut mid-frame) is cut off at start-up and its records counted exactly; the rest is
    delivered and new records append after it."""
    store = Store(tmp_path, cache_records=0)
    fill(store, 5)
    store.close()
    (seg,) = segments(tmp_path)
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - 40)
    store = Store(tmp_path, cache_records=0)
    stats = store.stats()
    assert (stats.corrupt_regions, stats.corrupt) == (1, 10)  # the torn frame's header tells its 10 records
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
        assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 20_000  # the cursor and lock file too
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


def test_a_batch_larger_than_the_bound_is_refused_without_deleting_anything(tmp_path: Path) -> None:
    """A batch that could never fit under max_bytes is refused and counted at once; what the spool held stays."""
    for overflow in ("drop_oldest", "block"):
        store = Store(tmp_path / overflow, max_bytes=20_000, segment_bytes=4_000, overflow=overflow, cache_records=0)
        fill(store, 10)
        assert not store.append([rec(1_000 + i, pad="x" * 100) for i in range(200)])
        stats = store.stats()
        assert (stats.dropped, stats.pending) == (200, 100)
        assert drain(store) == list(range(100))
        store.close()


def test_dropping_the_segment_of_a_batch_out_for_delivery_counts_each_record_once(tmp_path: Path) -> None:
    """drop_oldest while a batch is out: the batch, once acknowledged, counts as delivered; the records deleted
    unread count as dropped; nothing counts twice (spooled == acked + dropped, acked == delivered)."""
    store = Store(tmp_path, max_bytes=20_000, segment_bytes=4_000, cache_records=0)
    fill(store, 5, 5)
    seq, out = store.take(5)
    for b in range(200):
        assert store.append([rec(1_000 + b * 5 + i) for i in range(5)])
    assert store.stats().dropped > 0
    assert store.stats().spooled == store.stats().dropped + store.stats().pending
    store.ack(seq + len(out))
    delivered = len(out) + len(drain(store))
    stats = store.stats()
    assert stats.acked == delivered
    assert stats.spooled == stats.acked + stats.dropped == 1_025
    assert stats.pending == 0
    store.close()


def test_a_batch_given_up_after_its_segment_was_dropped_counts_as_dropped(tmp_path: Path) -> None:
    """A batch out for delivery whose segment drop_oldest deleted, then given up on (not_sent at shutdown), is
    counted as dropped: it is on disk nowhere."""
    store = Store(tmp_path, max_bytes=20_000, segment_bytes=4_000, cache_records=0)
    fill(store, 5, 5)
    _, out = store.take(5)
    for b in range(200):
        assert store.append([rec(1_000 + b * 5 + i) for i in range(5)])
    dropped = store.stats().dropped
    store.not_sent()
    stats = store.stats()
    assert stats.dropped == dropped + len(out)
    assert stats.spooled == stats.dropped + stats.pending  # nothing delivered
    store.close()
    reopened = Store(tmp_path, max_bytes=20_000, segment_bytes=4_000, cache_records=0)
    assert all(seq >= 1_000 for seq in drain(reopened))
    assert reopened.stats().duplicates == 0
    reopened.close()


def test_a_removed_directory_refuses_batches_counted_and_the_spool_recovers(tmp_path: Path) -> None:
    """With its directory gone (a cleaner removed it), appends that need a new segment are refused and counted,
    never raised; once the directory is back, appends and delivery go on, in order."""
    directory, aside = tmp_path / "spool", tmp_path / "aside"
    store = Store(directory, segment_bytes=1_000, cache_records=0)
    fill(store, 2)
    directory.rename(aside)
    results = [store.append([rec(100 + i)]) for i in range(30)]
    assert False in results
    accepted = [100 + i for i, ok in enumerate(results) if ok]
    assert store.stats().dropped == results.count(False)
    aside.rename(directory)
    assert store.append([rec(200)])
    assert drain(store) == [*range(20), *accepted, 200]
    store.close()


def test_a_segment_left_empty_by_a_crash_is_removed_without_counting_damage(tmp_path: Path) -> None:
    """A segment file created and never written (killed before its header) holds no record: removed, no
    corruption counted, and the spool appends after the records it has."""
    store = Store(tmp_path, cache_records=0)
    fill(store, 2)
    store.close()
    (tmp_path / "00000000000000000020.seg").touch()
    store = Store(tmp_path, cache_records=0)
    assert store.stats().corrupt == 0
    assert not list(tmp_path.glob("*.corrupt"))
    assert store.append([rec(20)])
    assert drain(store) == list(range(21))
    store.close()


def test_segments_acknowledged_before_a_crash_are_deleted_at_start_up(tmp_path: Path) -> None:
    """A crash between moving the cursor and deleting a delivered segment leaves the segment: the next start
    deletes it, and its disk use is not counted."""
    store = Store(tmp_path, segment_bytes=1_000, cache_records=0)
    fill(store, 6)
    first = segments(tmp_path)[0]
    kept = first.read_bytes()
    assert drain(store, limit=1_000) == list(range(60))
    first.write_bytes(kept)  # as if the deletion had not happened
    store.close()
    store = Store(tmp_path, segment_bytes=1_000, cache_records=0)
    assert not first.exists()
    stats = store.stats()
    assert (stats.pending, stats.segments) == (0, len(segments(tmp_path)))
    assert stats.disk_bytes == sum(p.stat().st_size for p in tmp_path.iterdir())
    store.close()


def test_the_interval_policy_never_fsyncs_on_the_appending_thread(tmp_path: Path) -> None:
    """With fsync=interval (the spill policy's), appends that start new segments leave every fsync to the sync
    thread; sync() then makes them durable."""
    store = Store(tmp_path, segment_bytes=1_000, fsync="interval", fsync_interval=3600, cache_records=0)
    calls: list[str] = []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and arg in (os.fsync, os.fdatasync):
            calls.append(arg.__name__)

    sys.setprofile(watch)
    try:
        fill(store, 10)
    finally:
        sys.setprofile(None)
    assert len(segments(tmp_path)) > 2
    assert calls == []
    store.sync()
    assert store.stats().synced_seq == 100
    store.close()
