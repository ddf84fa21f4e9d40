"""The shared delivery mechanism: backoff, Retry-After, circuit breaker (pure), and Delivery over real sockets."""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from fapilog.exporters._breaker import CircuitBreaker
from fapilog.exporters._delivery import Delivery, Outcome, Payload, Reply
from fapilog.exporters._network import NetworkExporter
from fapilog.exporters._retry import RetryPolicy, backoff_delay, parse_retry_after
from fapilog.exporters._transport import HttpSender, status_outcome, transport_outcome
from fapilog.testing import CaptureExporter
from tests.exporters._servers import Fault, Receiver

# ---- pure: timing and the breaker ------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def state(breaker: CircuitBreaker) -> str:
    """The breaker's state, read fresh (not narrowed by an earlier check)."""
    return breaker.state


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    """The n-th retry waits rng * min(max_delay, base * 2**(n-1)): 0 at rng 0, the ceiling at rng 1."""
    policy = RetryPolicy(max_retries=10, base_delay=0.5, max_delay=3.0)
    assert [backoff_delay(policy, n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(policy, 3, lambda: 0.0) == 0.0
    assert backoff_delay(policy, 3, lambda: 0.25) == 0.5


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After as delta seconds or an HTTP date; unreadable values are ignored, past dates mean now."""
    now = 1_700_000_000.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


def test_breaker_opens_then_allows_one_probe_then_closes() -> None:
    """closed -> open after threshold failures -> half-open after recovery with ONE probe -> closed."""
    t = FakeTime()
    breaker = CircuitBreaker(threshold=3, recovery=10.0, clock=t.clock)
    for _ in range(2):
        breaker.failure()
    assert state(breaker) == "closed"
    assert breaker.allow()
    breaker.failure()
    assert state(breaker) == "open"
    assert not breaker.allow()
    assert breaker.wait_time() == 10.0
    t.now += 10.0
    assert state(breaker) == "half_open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    breaker.success()
    assert state(breaker) == "closed"
    assert breaker.allow()
    assert breaker.opened == 1


def test_breaker_failed_probe_reopens_for_a_full_period() -> None:
    """A failed half-open probe opens the circuit again for another recovery period."""
    t = FakeTime()
    breaker = CircuitBreaker(threshold=1, recovery=5.0, clock=t.clock)
    breaker.failure()
    t.now += 5.0
    assert breaker.allow()
    breaker.failure()
    assert state(breaker) == "open"
    assert not breaker.allow()
    t.now += 4.9
    assert not breaker.allow()
    t.now += 0.1
    assert breaker.allow()
    assert breaker.opened == 2


def test_status_classification() -> None:
    """2xx delivered; 408, 429, 5xx retried (503/429 known not stored); other 4xx rejected; 3xx failed."""
    assert status_outcome(Reply(200)).kind == "delivered"
    retry = status_outcome(Reply(429, {"retry-after": "3"}))
    assert (retry.kind, retry.retry_after, retry.unknown) == ("retry", 3.0, False)
    assert status_outcome(Reply(500)).unknown
    assert status_outcome(Reply(408)).kind == "retry"
    assert status_outcome(Reply(404, text="nope")).kind == "rejected"
    assert status_outcome(Reply(302)).kind == "failed"
    assert status_outcome(Reply(200), success=frozenset({204})).kind == "failed"


# ---- Delivery over real sockets ------------------------------------------------------------------------------


class LinesCodec:
    """Items are strings; a batch is their lines."""

    def item(self, record: Any) -> str:
        return str(record)

    def size(self, item: str) -> int:
        return len(item) + 1

    def encode(self, items: Sequence[str]) -> Payload:
        return Payload("".join(f"{i}\n" for i in items).encode(), {"Content-Type": "text/plain"})

    def classify(self, reply: Reply) -> Outcome:
        return status_outcome(reply)


def make(server: Receiver, **options: Any) -> tuple[Delivery[str], HttpSender]:
    sender = HttpSender(server.url + "/ingest", timeout=options.pop("timeout", 5.0))
    options.setdefault("retry", RetryPolicy(max_retries=5, base_delay=0.01, max_delay=0.05, deadline=10))
    options.setdefault("transport_outcome", transport_outcome)
    delivery: Delivery[str] = Delivery(LinesCodec(), sender, name="test", **options)
    return delivery, sender


def received_lines(server: Receiver) -> list[str]:
    return [line for r in server.delivered() for line in r.body.decode().splitlines()]


def run(delivery: Delivery[str], sender: HttpSender, records: list[Any], timeout: float = 10.0) -> bool:
    async def main() -> bool:
        delivery.submit(records)
        done = await delivery.flush(timeout)
        await sender.release()
        return done

    return asyncio.run(main())


def test_every_record_arrives_once_in_order_in_count_batches() -> None:
    """Healthy server: 250 records in batches of 100 arrive exactly once, in order, in 3 requests."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=100)
        records = [f"r{i}" for i in range(250)]
        assert run(delivery, sender, records)
    assert received_lines(server) == records
    assert [len(r.body.splitlines()) for r in server.requests] == [100, 100, 50]
    stats = delivery.stats()
    assert (stats.sent, stats.failed, stats.dropped, stats.retried, stats.batches) == (250, 0, 0, 0, 3)
    assert stats.last_latency > 0


def test_batches_are_bounded_by_bytes() -> None:
    """No request carries more than batch_bytes (unless one item alone is bigger)."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=1000, batch_bytes=50)
        records = [f"record-{i:03d}" for i in range(40)]  # 11 bytes each with the newline
        assert run(delivery, sender, records)
    assert received_lines(server) == records
    assert all(len(r.body) <= 50 for r in server.requests)
    assert len(server.requests) == 10


def test_a_batch_goes_when_its_oldest_record_is_old_enough() -> None:
    """Without a flush or a full batch, records are sent once the oldest is batch_age seconds old."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=1000, batch_age=0.05)

        async def main() -> None:
            delivery.submit(["a", "b"])
            assert server.requests == []
            for _ in range(200):
                if server.requests:
                    break
                await asyncio.sleep(0.01)
            await sender.release()

        asyncio.run(main())
    assert received_lines(server) == ["a", "b"]


def test_submit_never_waits_for_a_slow_server() -> None:
    """submit returns while the server takes its time; the records arrive on flush."""
    with Receiver() as server:
        server.fail_next(Fault(delay=0.5))
        delivery, sender = make(server, batch_size=1)

        async def main() -> float:
            start = time.perf_counter()
            for i in range(20):
                delivery.submit([f"r{i}"])
            spent = time.perf_counter() - start
            assert await delivery.flush(10)
            await sender.release()
            return spent

        spent = asyncio.run(main())
    assert spent < 0.4  # generous: 20 submits, while the first request alone takes 0.5 s
    assert received_lines(server) == [f"r{i}" for i in range(20)]


def test_one_batch_in_flight_unless_configured() -> None:
    """By default a single request is out at a time; max_in_flight=3 allows three."""
    for limit in (1, 3):
        with Receiver() as server:
            server.fail_next(*[Fault(delay=0.15)] * 6)
            delivery, sender = make(server, batch_size=1, max_in_flight=limit)
            assert run(delivery, sender, [f"r{i}" for i in range(6)])
        assert server.max_active == limit
        assert sorted(received_lines(server)) == sorted(f"r{i}" for i in range(6))


def test_429_retry_after_is_honoured() -> None:
    """A 429 with Retry-After: 2 waits at least 2 s (even above max_delay) and then delivers once."""
    t = FakeTime()
    with Receiver() as server:
        server.fail_next(Fault(status=429, retry_after="2"))
        delivery, sender = make(server, clock=t.clock, sleep=t.sleep)
        assert run(delivery, sender, ["x", "y"])
    assert t.sleeps == [2.0]
    assert received_lines(server) == ["x", "y"]
    assert server.statuses() == [429, 200]
    stats = delivery.stats()
    assert (stats.sent, stats.retried, stats.duplicates_possible) == (2, 1, 0)


def test_retry_after_past_the_deadline_gives_up_at_once() -> None:
    """A Retry-After longer than what is left of the deadline fails the batch without waiting."""
    t = FakeTime()
    with Receiver() as server:
        server.fail_next(Fault(status=503, retry_after="3600"))
        delivery, sender = make(server, clock=t.clock, sleep=t.sleep)
        assert run(delivery, sender, ["x"])
    assert t.sleeps == []
    assert (delivery.stats().failed, delivery.stats().sent) == (1, 0)
    assert "deadline" in delivery.stats().last_error


def test_backoff_grows_and_gives_up_after_max_retries() -> None:
    """Transient failures are retried max_retries times with growing jitter ceilings, then counted failed."""
    t = FakeTime()
    with Receiver() as server:
        server.fail_next(*[Fault(status=500)] * 10)
        policy = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=100.0, deadline=1000)
        delivery, sender = make(server, clock=t.clock, sleep=t.sleep, rng=lambda: 1.0, retry=policy)
        assert run(delivery, sender, ["x"])
    assert t.sleeps == [1.0, 2.0, 4.0]
    assert len(server.requests) == 4
    stats = delivery.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 1, 3)


def test_an_outage_spanning_several_retry_periods_delivers_at_least_once() -> None:
    """503s for 0.6 s (several backoff periods): every record arrives once the server is back."""
    with Receiver() as server:
        server.outage(0.6)
        policy = RetryPolicy(max_retries=50, base_delay=0.05, max_delay=0.1, deadline=20)
        delivery, sender = make(server, batch_size=10, retry=policy)
        records = [f"r{i}" for i in range(30)]
        assert run(delivery, sender, records)
    assert sorted(set(received_lines(server))) == sorted(records)
    stats = delivery.stats()
    assert stats.sent == 30
    assert stats.failed == 0
    assert stats.retried >= 3
    assert server.statuses().count(503) >= 3


def test_retry_jitter_leaves_the_random_modules_state_alone() -> None:
    """Retries draw their jitter from fapilog's own generator: an application that seeds ``random`` gets the
    same numbers whether or not a delivery retried meanwhile."""
    state = random.getstate()
    with Receiver() as server:
        server.fail_next(*[Fault(status=503)] * 3)
        delivery, sender = make(server)
        assert run(delivery, sender, ["x"])
    assert delivery.stats().retried == 3
    assert random.getstate() == state


def test_permanent_errors_are_not_retried_and_counted() -> None:
    """A 400 is final: one request, the batch counted dropped (rejected) with the server's message."""
    with Receiver() as server:
        server.fail_next(Fault(status=400))
        delivery, sender = make(server)
        assert run(delivery, sender, ["a", "b", "c"])
    assert len(server.requests) == 1
    stats = delivery.stats()
    assert (stats.sent, stats.dropped, stats.retried) == (0, 3, 0)
    assert stats.dropped_by_reason == {"rejected": 3}
    assert "400" in stats.last_error


def test_dropped_connection_and_timeout_are_retried_duplicates_counted() -> None:
    """A dropped connection and a timed-out (but stored) request are retried; re-sends after an unknown
    outcome count as possible duplicates, and the server indeed stored a duplicate."""
    with Receiver() as server:
        server.fail_next(Fault(drop=True), Fault(delay=0.6))
        delivery, sender = make(server, timeout=0.3)
        assert run(delivery, sender, ["only"])
        time.sleep(0.5)  # let the slow handler finish answering
    stats = delivery.stats()
    assert stats.sent == 1
    assert stats.retried == 2
    assert stats.duplicates_possible == 2
    assert received_lines(server).count("only") >= 1
    assert sum(r.body == b"only\n" for r in server.requests) == 3


def test_circuit_opens_diverts_to_fallback_and_recovers_with_one_probe() -> None:
    """After 2 failures the circuit opens: batches go to the fallback without touching the server;
    after the recovery period one probe goes through, succeeds, and closes the circuit."""
    fallback = CaptureExporter()
    with Receiver() as server:
        server.fail_next(Fault(status=500), Fault(status=500))
        breaker = CircuitBreaker(threshold=2, recovery=0.3)
        policy = RetryPolicy(max_retries=5, base_delay=0.01, max_delay=0.01, deadline=10)
        delivery, sender = make(server, batch_size=1, breaker=breaker, fallback=fallback, retry=policy)

        async def main() -> None:
            delivery.submit(["first"])  # fails twice: the circuit opens; the batch goes to the fallback
            assert await delivery.flush(5)
            assert state(breaker) == "open"
            calls = len(server.requests)
            delivery.submit(["second", "third"])
            assert await delivery.flush(5)
            assert len(server.requests) == calls  # the server was left alone while open
            await asyncio.sleep(0.35)
            assert state(breaker) == "half_open"
            delivery.submit(["fourth"])  # the probe
            assert await delivery.flush(5)
            assert state(breaker) == "closed"
            delivery.submit(["fifth"])
            assert await delivery.flush(5)
            await sender.release()

        asyncio.run(main())
    assert [str(r) for r in fallback.records] == ["first", "second", "third"]
    assert received_lines(server) == ["fourth", "fifth"]
    stats = delivery.stats()
    assert (stats.diverted, stats.sent, stats.circuit, stats.circuit_opened) == (3, 2, "closed", 1)


def test_open_circuit_without_fallback_waits_for_the_probe() -> None:
    """With no fallback, a batch waits for the half-open probe (within its deadline) and is delivered."""
    t = FakeTime()
    with Receiver() as server:
        server.fail_next(Fault(status=500))
        breaker = CircuitBreaker(threshold=1, recovery=30.0, clock=t.clock)
        policy = RetryPolicy(max_retries=3, base_delay=0.1, deadline=100)
        delivery, sender = make(server, clock=t.clock, sleep=t.sleep, breaker=breaker, rng=lambda: 0.0, retry=policy)
        assert run(delivery, sender, ["x"])
    assert received_lines(server) == ["x"]
    assert sum(t.sleeps) == pytest.approx(30.0)
    assert breaker.state == "closed"


def test_buffer_is_bounded_and_overflow_is_counted() -> None:
    """Beyond max_buffered the oldest buffered records are dropped and counted (buffer_full)."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=1000, batch_age=60, max_buffered=5)
        assert run(delivery, sender, [f"r{i}" for i in range(8)])
    assert received_lines(server) == ["r3", "r4", "r5", "r6", "r7"]
    assert delivery.stats().dropped_by_reason == {"buffer_full": 3}


def test_shutdown_flushes_within_its_deadline_and_counts_the_rest() -> None:
    """close(timeout) gives up after the deadline during an outage: what is left is counted, nothing hangs."""
    with Receiver() as server:
        server.outage(30)
        policy = RetryPolicy(max_retries=100, base_delay=0.05, max_delay=0.05, deadline=60)
        delivery, sender = make(server, batch_size=2, retry=policy)

        async def main() -> tuple[bool, float]:
            delivery.submit(["a", "b", "c", "d", "e"])
            start = time.perf_counter()
            done = await delivery.close(0.3)
            await sender.release()
            return done, time.perf_counter() - start

        done, spent = asyncio.run(main())
    assert not done
    assert spent < 5
    stats = delivery.stats()
    assert stats.sent == 0
    assert stats.dropped_by_reason == {"shutdown": 5}


def test_a_new_event_loop_gets_a_fresh_client_and_carries_on() -> None:
    """After one loop ends (a drained worker), the next loop's records go out on a client of its own."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=1000, batch_age=60)
        assert run(delivery, sender, ["one"])
        assert run(delivery, sender, ["two"])
    assert received_lines(server) == ["one", "two"]


def test_network_exporter_works_without_an_event_loop() -> None:
    """Called from a plain thread (an OpenTelemetry SDK pipeline), export buffers on a private loop and
    force_flush / shutdown block until done."""
    with Receiver() as server:
        delivery, sender = make(server, batch_size=1000, batch_age=60)
        exporter = NetworkExporter(delivery, release=sender.release, shutdown_timeout=5)
        results: list[Any] = []
        batch: Any = ["a", "b"]
        more: Any = ["c"]
        late: Any = ["d"]

        def worker() -> None:
            results.append(exporter.export(batch))
            results.append(exporter.force_flush(5000))
            results.append(exporter.export(more))
            results.append(exporter.shutdown())
            results.append(exporter.export(late))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(15)
    assert [str(r) for r in results] == [
        "LogRecordExportResult.SUCCESS",
        "True",
        "LogRecordExportResult.SUCCESS",
        "None",
        "LogRecordExportResult.FAILURE",
    ]
    assert received_lines(server) == ["a", "b", "c"]
