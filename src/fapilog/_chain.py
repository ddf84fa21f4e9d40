"""What the worker does with a batch: finish each record, run the stages, hand the survivors to exporters.

A *stage* is an OpenTelemetry ``LogRecordProcessor`` that also has ``process(record) -> bool``: it may change
the record, and returning ``False`` drops it, so later stages and exporters never see it. The chain runs a
batch through one stage after another; a stage that also has ``process_batch(records, process)`` gets the
whole batch at once and returns the records it keeps, handing any record that needs more than its quick check
to ``process`` (the chain's contained call of the stage's own ``process``). If ``process_batch`` itself
raises, the records it had not handed to ``process`` go through it one by one (the others keep its answer).

An *exporter* is an OpenTelemetry ``LogRecordExporter``; its ``export`` may also return an awaitable (async
exporters run on the worker's own event loop). Each exporter call is contained: an exporter that raises or
fails is counted and reported, and the other exporters still get the batch. With several exporters, each one
that may block runs in a lane of its own (``_lanes``), so one that hangs delays only itself.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from fapilog._coerce import coerce_attributes, coerce_value, needs_coercion
from fapilog._diagnostics import Diagnostics
from fapilog._exceptions import exception_attributes
from fapilog._lanes import Lane, needs_lane
from fapilog._otel import ReadWriteLogRecord, Resource, as_readable, export_result_ok
from fapilog._routing import RoutingTable

__all__ = ["Chain", "Finisher", "Stage"]


class Stage(Protocol):
    """A processor stage: changes a record in place, or drops it by returning ``False``."""

    def process(self, record: ReadWriteLogRecord) -> bool: ...


class Exporter(Protocol):
    def export(self, batch: Any) -> Any: ...
    def shutdown(self) -> Any: ...
    def force_flush(self, timeout_millis: int = ...) -> Any: ...


class Finisher:
    """Completes what the caller captured: coerces values, formats the exception, sets the resource.

    (The bound context is added by the ``context_vars`` enricher, a stage of its own.)"""

    __slots__ = ("exceptions_enabled", "max_frames", "max_stack_chars", "resource")

    def __init__(
        self,
        resource: Resource,
        *,
        exceptions_enabled: bool = True,
        max_frames: int = 10,
        max_stack_chars: int = 20_000,
    ) -> None:
        self.resource = resource
        self.exceptions_enabled = exceptions_enabled
        self.max_frames = max_frames
        self.max_stack_chars = max_stack_chars

    def finish(self, record: ReadWriteLogRecord) -> None:
        lr = record.log_record
        attrs: Any = lr.attributes if lr.attributes is not None else {}
        if not getattr(record, "checked", False) and needs_coercion(attrs):
            attrs = coerce_attributes(attrs)
        exc = lr.exception
        if exc is not None and self.exceptions_enabled and "exception.type" not in attrs:
            if not isinstance(attrs, dict):
                attrs = dict(attrs)
            attrs.update(exception_attributes(exc, max_frames=self.max_frames, max_chars=self.max_stack_chars))
        lr.attributes = attrs
        body = lr.body
        if body is not None and type(body) is not str:
            lr.body = coerce_value(body)
        if record.resource is None:
            record.resource = self.resource

    def finish_all(self, records: list[ReadWriteLogRecord]) -> None:
        """``finish`` each record; the common one (captured by fapilog with plain fields, a text message and no
        exception) inline, as it only needs the resource."""
        resource, finish = self.resource, self.finish
        for record in records:
            lr = record.log_record
            if getattr(record, "checked", False) and type(lr.body) is str and lr.exception is None:
                if record.resource is None:
                    record.resource = resource
            else:
                finish(record)


class Chain:
    """Runs batches through stages and exporters; counts what was exported and what failed."""

    __slots__ = (
        "_counts",
        "diagnostics",
        "export_failures",
        "export_latency",
        "exported",
        "exporters",
        "filtered",
        "finisher",
        "lanes",
        "routes",
        "shutdown_timeout",
        "stage_errors",
        "stages",
    )

    def __init__(
        self,
        *,
        finisher: Finisher,
        stages: Sequence[Stage] = (),
        exporters: Sequence[Exporter] = (),
        routes: RoutingTable[int] | None = None,
        diagnostics: Diagnostics | None = None,
        lane_capacity: int = 8,
        stall_timeout: float = 5.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.finisher = finisher
        self.stages = list(stages)
        self.exporters = list(exporters)
        self.routes = routes
        self.diagnostics = diagnostics or Diagnostics()
        # With several exporters, each that may block gets a lane (a thread of its own): see ``_lanes``.
        several = len(self.exporters) > 1
        self.lanes: list[Lane | None] = [
            Lane(e, report=self._report, capacity=lane_capacity, stall_timeout=stall_timeout, diagnostics=diagnostics)
            if several and needs_lane(e)
            else None
            for e in self.exporters
        ]
        self._counts = threading.Lock()  # lanes report from their own threads
        self.shutdown_timeout = shutdown_timeout
        self.exported = 0
        self.export_failures = 0
        self.export_latency = 0.0
        self.filtered = 0
        self.stage_errors = 0

    async def process_batch(self, batch: list[ReadWriteLogRecord]) -> None:
        stages = self.stages  # read once: enable/disable replace the list between batches
        self.finisher.finish_all(batch)
        kept = self._run(batch, stages, 0)
        kept.extend(self._pending(stages))
        if kept:
            await self.export(kept)

    def _run(self, records: list[ReadWriteLogRecord], stages: list[Any], start: int) -> list[ReadWriteLogRecord]:
        """``records`` through ``stages[start:]``, one stage at a time (each sees the records in order); the
        ones every stage kept."""
        for stage in stages[start:] if start else stages:
            if not records:
                break
            records = self._through(stage, records)
        return records

    def _through(self, stage: Any, records: list[ReadWriteLogRecord]) -> list[ReadWriteLogRecord]:
        """The records ``stage`` keeps: through its ``process_batch`` if it has one, else one by one."""
        batch = getattr(stage, "process_batch", None)
        decided: dict[int, bool] = {}  # what process() said of the records process_batch handed to it
        if batch is not None:

            def process(record: ReadWriteLogRecord) -> bool:
                decided[id(record)] = keep = self._contained(stage, record)
                return keep

            try:
                return list(batch(records, process))
            except Exception as exc:  # its quick look failed: the records it did not hand over go one by one
                self.stage_errors += 1
                self.diagnostics.warn(
                    "stage", "stage batch failed; records processed one by one", stage=_name(stage), error=exc
                )
        kept: list[ReadWriteLogRecord] = []
        for record in records:
            keep = decided.get(id(record))
            if keep is None:
                keep = self._contained(stage, record)
            if keep:
                kept.append(record)
        return kept

    def _contained(self, stage: Any, record: ReadWriteLogRecord) -> bool:
        """``stage.process(record)``, contained: whether the record goes on (drops and failures counted)."""
        try:
            if stage.process(record):
                return True
            self.filtered += 1
            return False
        except Exception as exc:
            self.stage_errors += 1
            if getattr(stage, "fail_closed", False):  # e.g. a redactor: never pass on what it could not check
                self.diagnostics.warn("stage", "stage failed; record dropped", stage=_name(stage), error=exc)
                self.filtered += 1
                return False
            self.diagnostics.warn("stage", "stage failed; record kept as it was", stage=_name(stage), error=exc)
            return True

    def _pending(self, stages: list[Any]) -> list[ReadWriteLogRecord]:
        """Records stages add (summaries), each run through the stages after the one that made it, so that
        redactors see them too."""
        out: list[ReadWriteLogRecord] = []
        for i, stage in enumerate(stages):
            extra = getattr(stage, "pending", None)
            records = list(extra()) if extra is not None else []
            if records:
                self.finisher.finish_all(records)
                out.extend(self._run(records, stages, i + 1))
        return out

    async def export(self, batch: list[ReadWriteLogRecord]) -> None:
        if self.routes is None:
            parts = [batch] * len(self.exporters)
        else:  # each exporter gets only the records routed to it
            parts = [[] for _ in self.exporters]
            targets = self.routes.targets
            for record in batch:
                for i in targets(record.log_record.severity_text):
                    parts[i].append(record)
        for exporter, lane, part in zip(self.exporters, self.lanes, parts, strict=True):
            if not part:
                continue
            if lane is None:
                await self._export_one(exporter, part)
            elif not await lane.put(part):  # stalled: counted, and the others go on
                self._report(len(part), False, 0.0)

    async def _export_one(self, exporter: Exporter, batch: list[ReadWriteLogRecord]) -> None:
        start = time.perf_counter()
        try:
            result = exporter.export(as_readable(batch))
            if inspect.isawaitable(result):
                result = await result
            ok = export_result_ok(result)
        except Exception as exc:
            ok = False
            self.diagnostics.warn("sink", "export raised", exporter=type(exporter).__name__, error=exc)
        if not ok:
            self.diagnostics.warn("sink", "export failed", exporter=type(exporter).__name__, records=len(batch))
        self._report(len(batch), ok, time.perf_counter() - start)

    def _report(self, records: int, ok: bool, seconds: float) -> None:
        with self._counts:
            if ok:
                self.exported += records
            else:
                self.export_failures += records
            if seconds:
                self.export_latency = seconds

    def delivery_totals(self) -> dict[str, int]:
        """Sums of the network exporters' own counters (retried, failed, dropped), which happen after export()
        has returned and so are not in ``export_failures``."""
        totals = {"retried": 0, "failed": 0, "dropped": 0}
        for exporter in self.exporters:
            stats = getattr(exporter, "stats", None)
            if stats is None:
                continue
            try:
                current = stats()
                for key in totals:
                    totals[key] += int(getattr(current, key, 0))
            except Exception as exc:
                self.diagnostics.warn("sink", "stats failed", exporter=_name(exporter), error=exc)
        return totals

    async def flush(self, timeout_millis: int = 30_000) -> None:
        """Flush the stages, export what that released (final summaries), then flush the exporters."""
        stages = self.stages
        await self._flush_parts(stages, timeout_millis)
        final = self._pending(stages)
        if final:
            await self.export(final)
        laned = self._laned()
        if laned:  # every lane at once: one slow lane does not eat the others' time
            await asyncio.gather(*(lane.flush(timeout_millis / 1000) for lane in laned))
        await self._flush_parts(self._unlaned(), timeout_millis)

    def _laned(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane is not None]

    def _unlaned(self) -> list[Exporter]:
        """The exporters called on the worker itself (the others are flushed and shut down by their lanes)."""
        return [e for e, lane in zip(self.exporters, self.lanes, strict=True) if lane is None]

    async def _flush_parts(self, parts: Sequence[Any], timeout_millis: int) -> None:
        for part in parts:
            flush = getattr(part, "force_flush", None)
            if flush is None:
                continue
            try:
                result = flush(timeout_millis)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.diagnostics.warn("sink", "flush failed", part=_name(part), error=exc)

    async def shutdown(self) -> None:
        laned = self._laned()
        if laned:
            await asyncio.gather(*(lane.shutdown(self.shutdown_timeout) for lane in laned))
        parts: list[Any] = [*self.stages, *self._unlaned()]
        for part in parts:
            try:
                result = part.shutdown()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.diagnostics.warn("sink", "shutdown failed", part=type(part).__name__, error=exc)


def _name(part: Any) -> str:
    return str(getattr(part, "name", None) or type(part).__name__)
