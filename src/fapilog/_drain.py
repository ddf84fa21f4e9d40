"""What a drain reports, and the pipeline's self-metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

__all__ = ["DrainResult", "PipelineStats", "SpoolCounts"]


@dataclass(frozen=True, slots=True)
class DrainResult:
    """The outcome of draining a logger's pipeline.

    Every record that passed the level check was ``processed`` (taken off the queue and run through the
    stages and exporters), ``dropped`` (by the backpressure policy, or still queued when the drain's deadline
    passed) or ``spilled`` (handed to the spill hook when the queue was full), so
    ``submitted == processed + dropped + spilled`` always holds.

    With the disk spool on: ``spooled`` records were written to a spool (the exporters' spools and the queue's
    overflow spool), ``replayed`` were read back from one and delivered after an outage, from the overflow,
    or from an earlier process; ``corrupt`` were lost to damage found on disk (torn tails, failed checksums);
    ``duplicates`` were sent again after a restart although they may have been delivered before it (at most
    one batch per spool); ``spool_dropped`` were lost to a spool's disk bound (``drop_oldest``, or ``block``
    timing out) or refused by it. These count since the spools were opened.
    """

    submitted: int
    processed: int
    dropped: int
    retried: int
    queue_depth_high_watermark: int
    flush_latency_seconds: float
    adaptive: None = None
    backpressure_retries: int = 0
    export_failures: int = 0
    timed_out: bool = False
    spilled: int = 0
    spooled: int = 0
    replayed: int = 0
    corrupt: int = 0
    duplicates: int = 0
    spool_dropped: int = 0


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """A snapshot of a pipeline's self-metrics."""

    submitted: int
    processed: int
    dropped: int
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    queue_depth: int = 0
    queue_bytes: int = 0
    high_water_mark: int = 0
    exported: int = 0
    export_failures: int = 0
    retried: int = 0
    export_latency_seconds: float = 0.0
    backpressure_waits: int = 0
    spilled: int = 0
    spooled: int = 0
    replayed: int = 0
    corrupt: int = 0
    duplicates: int = 0
    spool_dropped: int = 0


class SpoolCounts(TypedDict, total=False):
    """The disk spools' counts, named as the fields of ``DrainResult`` and ``PipelineStats`` that hold them."""

    spooled: int
    replayed: int
    corrupt: int
    duplicates: int
    spool_dropped: int
