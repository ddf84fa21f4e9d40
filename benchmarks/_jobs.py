"""The scenarios and, for each, which library runs in which configuration (one child process per job)."""

from __future__ import annotations

from dataclasses import dataclass

OURS = "ours"
PEERS = "peers"
REPEATED = frozenset({"sync", "async", "burst"})  # scenarios run --repeat times (the others take seconds each)


@dataclass(frozen=True, slots=True)
class Sizes:
    steady: int  # records in the steady sync and asyncio loops
    burst: int
    slow: int  # records through the 3 ms sink
    stalled: int

    @classmethod
    def full(cls, steady: int = 100_000) -> Sizes:
        return cls(steady=steady, burst=50_000, slow=2_000, stalled=1_000_000)

    @classmethod
    def quick(cls, steady: int = 10_000) -> Sizes:
        return cls(steady=steady, burst=10_000, slow=200, stalled=200_000)


@dataclass(frozen=True, slots=True)
class Job:
    scenario: str
    library: str  # the workload script: _workloads/w_<library>.py
    variant: str
    label: str
    n: int
    group: str = "plain"  # rows are compared with our row of the same scenario and group

    @property
    def venv(self) -> str:
        return OURS if self.library == "ours" else PEERS

    @property
    def key(self) -> str:
        return f"{self.scenario}-{self.library}-{self.variant or 'default'}"

    @property
    def ours(self) -> bool:
        return self.library == "ours"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    description: str


SCENARIOS = (
    Scenario(
        "sync",
        "1. Steady sync loop",
        'N calls of `logger.info("request handled", user_id=i, path="/api/items", status=200, duration_ms=12.5)` '
        "in a plain loop; every record must reach the file.",
    ),
    Scenario("async", "2. asyncio loop", "The same loop inside `asyncio.run`, with the library's async API if any."),
    Scenario(
        "burst",
        "3. Burst",
        "A tight loop of records with our and fapilog 0.18.1's production presets and the peers' defaults.",
    ),
    Scenario(
        "slow_sink",
        "4. A sink taking 3 ms per write",
        "Every write (for batch exporters: every export call, i.e. every batch) sleeps 3 ms first.",
    ),
    Scenario(
        "stalled",
        "5. Stalled sink",
        "Our exporter blocks forever while a burst arrives; queue limits: 32 MiB and 10,000,000 records, drop "
        "policy. The process exits without draining.",
    ),
)


def _steady(scenario: str, n: int) -> list[Job]:
    jobs = [Job(scenario, "ours", "", "fapilog (ours), production preset", n)]
    if scenario == "sync":
        # Like fapilog 0.18.1 and the OTel SDK below: the defaults, with the queue sized to hold the run.
        jobs.append(Job(scenario, "ours", "defaults", "fapilog (ours), default settings, queue sized to N", n))
        jobs.append(Job(scenario, "ours", "span", "fapilog (ours), in a span + bound context", n, "span"))
    jobs.append(Job(scenario, "fapilog018", "", "fapilog 0.18.1, default pipeline", n))
    jobs.append(Job(scenario, "otel", "", "OTel SDK Logger.emit + BLRP", n))
    if scenario == "sync":
        jobs.append(Job(scenario, "otel", "span", "OTel SDK Logger.emit + BLRP, in a span", n, "span"))
    jobs += [
        Job(scenario, "stdlib", "", "stdlib logging + JSON formatter", n),
        Job(scenario, "structlog", "", "structlog (JSONRenderer, WriteLoggerFactory)", n),
        Job(scenario, "structlog", "orjson", "structlog (orjson, BytesLoggerFactory)", n),
        Job(scenario, "loguru", "", "loguru (serialize=True)", n),
        Job(scenario, "loguru", "enqueue", "loguru (serialize=True, enqueue=True)", n),
    ]
    return jobs


def jobs_for(sizes: Sizes, only: set[str] | None = None) -> list[Job]:
    n = sizes.burst
    s = sizes.slow
    jobs = [
        *_steady("sync", sizes.steady),
        *_steady("async", sizes.steady),
        Job("burst", "ours", "", "fapilog (ours), production preset", n),
        Job("burst", "fapilog018", "", "fapilog 0.18.1, production preset", n),
        Job("burst", "otel", "", "OTel SDK Logger.emit + BLRP (defaults)", n),
        Job("burst", "stdlib", "", "stdlib logging + JSON formatter", n),
        Job("burst", "structlog", "", "structlog (JSONRenderer, WriteLoggerFactory)", n),
        Job("burst", "loguru", "", "loguru (serialize=True)", n),
        Job("burst", "loguru", "enqueue", "loguru (serialize=True, enqueue=True)", n),
        Job("slow_sink", "ours", "exporter", "fapilog (ours): exporter, 3 ms per export call (batch)", s),
        Job("slow_sink", "ours", "seed_sink", "fapilog (ours): seed-contract sink, 3 ms per write", s),
        Job("slow_sink", "fapilog018", "", "fapilog 0.18.1: seed-contract sink, 3 ms per write", s),
        Job("slow_sink", "otel", "", "OTel SDK + BLRP: exporter, 3 ms per export call (batch)", s),
        Job("slow_sink", "stdlib", "", "stdlib logging: handler, 3 ms per record", s),
        Job("slow_sink", "structlog", "", "structlog: processor, 3 ms per record", s),
        Job("slow_sink", "loguru", "", "loguru: sink function, 3 ms per record", s),
        Job("slow_sink", "loguru", "enqueue", "loguru (enqueue=True): sink function, 3 ms per record", s),
        Job("stalled", "ours", "", "fapilog (ours), 32 MiB / 10M-record queue, drop newest", sizes.stalled),
    ]
    return [j for j in jobs if only is None or j.scenario in only]
