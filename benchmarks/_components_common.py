"""What the component benchmarks share: sizes, the typical record, timing with repeats, and result tables."""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry._logs import SeverityNumber

from fapilog._otel import InstrumentationScope, Record, Resource, new_record

MESSAGE = "request handled"
MARKER = MESSAGE.encode()
PATH = "/api/items"
SCOPE = InstrumentationScope("bench")
# What a pipeline's resource looks like (``Resource.create`` adds the SDK's telemetry.sdk.* attributes).
RESOURCE = Resource.create(
    {"service.name": "bench", "service.version": "1.0.0", "deployment.environment.name": "benchmark"}
)
DRAIN_TIMEOUT = 600.0
_CLEARED_PREFIXES = ("FAPILOG_", "OTEL_")


@dataclass(frozen=True, slots=True)
class Sizes:
    stage: int  # records per stage measurement
    pipeline: int  # logger.info calls into a file (stages end to end, rotating file)
    loki: int
    cloudwatch: int
    postgres: int
    repeats: int = 3

    @classmethod
    def full(cls) -> Sizes:
        return cls(stage=100_000, pipeline=200_000, loki=100_000, cloudwatch=50_000, postgres=200_000)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(stage=10_000, pipeline=20_000, loki=10_000, cloudwatch=5_000, postgres=20_000)

    @property
    def warmup(self) -> int:
        """Records of the unmeasured run that comes first (imports, caches, first allocations)."""
        return max(1_000, self.stage // 20)


def clean_environment() -> None:
    """Drop the variables that would configure fapilog or OpenTelemetry, so each setup is what it says."""
    for name in [n for n in os.environ if n.startswith(_CLEARED_PREFIXES)]:
        del os.environ[name]


def attributes(i: int) -> dict[str, object]:
    return {"user_id": i, "path": PATH, "status": 200, "duration_ms": 12.5}


def make_record(i: int) -> Record:
    """The typical record, as the worker holds it when the stages run: INFO, no trace, the resource set."""
    record = new_record(time.time_ns(), SeverityNumber.INFO, "INFO", MESSAGE, attributes(i), SCOPE, None)
    record.resource = RESOURCE
    return record


def quiet_gc() -> None:
    """A full collection between measurements, so one run does not pay for the garbage of the one before."""
    gc.collect()


@dataclass(slots=True)
class Repeated:
    """The runs of one measurement; ``value`` is their median."""

    runs: list[float] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")


def round_robin(repeats: int, steps: Sequence[Callable[[], None]]) -> None:
    """Run every step once per repeat, in turn, so a noisy moment of the machine does not hit one step's runs."""
    for _ in range(repeats):
        for step in steps:
            quiet_gc()
            step()


def count_lines(paths: Sequence[Path]) -> int:
    """Lines carrying the workload's message, over ``paths``."""
    total = 0
    for path in paths:
        with path.open("rb") as f:
            total += sum(1 for line in f if MARKER in line)
    return total


@dataclass(frozen=True, slots=True)
class Table:
    """One group's result: a markdown table with a heading, what was measured, and notes under it."""

    title: str
    method: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = ()
    left: int = 1  # leading columns of text (left-aligned); the others hold numbers

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.method, ""]
        if self.rows:
            lines.append("| " + " | ".join(self.header) + " |")
            lines.append("|" + "---|" * self.left + "--:|" * (len(self.header) - self.left))
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        lines += [line for note in self.notes for line in ("", note)]
        return "\n".join(lines)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def runs_text(values: Sequence[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)
