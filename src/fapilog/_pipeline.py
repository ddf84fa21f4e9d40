"""A pipeline: the resource, the exporters, the worker chain and the hand-off, built from ``Settings``.

Records enter either from fapilog's logger facades (which build SDK records on the caller and call the
hand-off's ``on_emit`` directly) or from any OpenTelemetry API logger of ``pipeline.provider`` (an SDK
``LoggerProvider`` whose one processor is the hand-off). Both meet in the same queue and worker.

With ``spool.enabled`` the pipeline takes a ``slot-N`` directory under the spool's base directory, puts a
``SpoolExporter`` (``<slot>/<sink name>``) in front of each exporter not excluded, and, under the ``spill``
policy, gives the hand-off an overflow spool (``<slot>/queue``) for the records that find the queue full.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from fapilog._chain import Chain, Finisher
from fapilog._diagnostics import Diagnostics
from fapilog._drain import DrainResult, PipelineStats, SpoolCounts
from fapilog._handoff import NonBlockingProcessor
from fapilog._levels import Level, level_for
from fapilog._otel import InstrumentationScope, LoggerProvider, Record, SeverityNumber, new_record
from fapilog._resource import build_resource
from fapilog._routing import RoutingTable
from fapilog._settings import Settings, SettingsError, SinkRoutingSettings, effective_policy
from fapilog._sinks import build_exporters, spec_name
from fapilog._stages import SECTIONS, as_stage, build_sections
from fapilog.exporters._spool_lock import DirectoryLock
from fapilog.exporters._spool_store import Store
from fapilog.exporters.spool import (
    SpoolExporter,
    claim_slot,
    default_directory,
    overflow_store,
    spool_exporter,
    sum_stats,
)
from fapilog.exporters.stdout import stream_is_tty

__all__ = ["Pipeline"]

_SELF_SCOPE = InstrumentationScope("fapilog")
_pipelines: weakref.WeakSet[Pipeline] = weakref.WeakSet()


class Pipeline:
    """Everything behind a logger. Build one per settings; share it between loggers."""

    def __init__(self, settings: Settings, *, sinks: Sequence[Any] | None = None, format: str | None = None) -> None:
        core = settings.core
        self.settings = settings
        self.level: Level = level_for(core.log_level)
        self.diagnostics = Diagnostics(enabled=core.internal_logging_enabled, output=core.diagnostics_output)
        self.provider = LoggerProvider(resource=build_resource(settings), shutdown_on_exit=False)
        chosen = format or settings.format
        pretty = chosen == "pretty" or (chosen == "auto" and stream_is_tty())
        specs = list(sinks) if sinks is not None else list(settings.sinks)
        routing = settings.sink_routing
        routed: list[str] = []
        if routing.enabled:  # every sink a rule or the fallback names, after the unrouted ones
            for name in [*(s for rule in routing.rules for s in rule.sinks), *routing.fallback_sinks]:
                if name not in routed:
                    routed.append(name)
        console = "stdout_pretty" if pretty else "stdout_json"
        # With routing and no other sinks, only the routed sinks exist (no console by default).
        build = functools.partial(build_exporters, console=console, diagnostics=self.diagnostics, settings=settings)
        unrouted = build(specs) if specs or not routed else []
        routed_exporters = build(routed) if routed else []
        names = [spec_name(s) for s in (specs or [console])] if unrouted else []
        names += [spec_name(s) for s in routed] if routed else []
        self.policy = effective_policy(settings)
        self._slot: DirectoryLock | None = None
        self.spools: list[SpoolExporter] = []
        self.overflow: Store | None = None
        exporters = [*unrouted, *routed_exporters]
        if settings.spool.enabled:
            exporters, self.overflow = self._spooled(settings, exporters, names)
        self.exporters = exporters
        self.finisher = Finisher(
            self.provider.resource,
            exceptions_enabled=core.exceptions_enabled,
            max_frames=core.exceptions_max_frames,
            max_stack_chars=core.exceptions_max_stack_chars,
        )
        self.sections = build_sections(settings)
        self.chain = Chain(
            finisher=self.finisher,
            stages=self.sections.ordered(),
            exporters=self.exporters,
            routes=_routes(routing, routed, len(unrouted)) if routed else None,
            diagnostics=self.diagnostics,
            stall_timeout=core.exporter_stall_timeout_seconds,
            shutdown_timeout=core.shutdown_timeout_seconds,
        )
        protected = (
            min(level_for(name).severity.value for name in core.protected_levels)
            if (core.protected_levels)
            else SeverityNumber.FATAL4.value + 1
        )
        self.handoff = NonBlockingProcessor(
            self.chain,
            max_records=core.max_queue_size,
            max_bytes=core.max_queue_bytes,
            policy=self.policy,
            block_timeout=core.backpressure_wait_ms / 1000,
            protected_severity=protected,
            protected_reserve=core.protected_queue_size,
            batch_size=core.batch_max_size,
            batch_timeout=core.batch_timeout_seconds,
            diagnostics=self.diagnostics,
            drop_summary=self._drop_summary if core.emit_drop_summary else None,
            drop_summary_interval=core.drop_summary_window_seconds,
            spill=self._spill if self.overflow is not None else None,
            spill_source=self.overflow,
            spool_totals=self._spool_totals if settings.spool.enabled else None,
        )
        if self.overflow is not None and self.overflow.pending():  # left by an earlier process: replay it
            self.handoff.resume_spill()
        self.provider.add_log_record_processor(self.handoff)
        self._stages_lock = threading.Lock()
        _pipelines.add(self)

    def _spooled(self, settings: Settings, exporters: list[Any], names: list[str]) -> tuple[list[Any], Store | None]:
        """``exporters`` with a spool in front of each one not excluded, and the overflow spool for ``spill``."""
        spool = settings.spool
        base = spool.directory or default_directory(settings.service)
        try:
            lock, slot = claim_slot(base)
        except OSError as exc:
            raise _unusable(base, exc) from None
        self._slot = lock
        out: list[Any] = []
        seen: dict[str, int] = {}
        overflow: Store | None = None
        try:
            for exporter, name in zip(exporters, names, strict=True):
                if name in spool.exclude:
                    out.append(exporter)
                    continue
                seen[name] = seen.get(name, 0) + 1
                unique = name if seen[name] == 1 else f"{name}-{seen[name]}"
                wrapped = spool_exporter(
                    spool, exporter, directory=slot / _dir_name(unique), name=unique, diagnostics=self.diagnostics
                )
                self.spools.append(wrapped)
                out.append(wrapped)
            if self.policy == "spill":
                overflow = overflow_store(spool, slot / "queue", self.diagnostics)
        except BaseException as exc:
            for opened in self.spools:
                opened.shutdown()
            self._close_spools()
            if isinstance(exc, OSError):
                raise _unusable(slot, exc) from None
            raise
        _spooling.add(self)
        return out, overflow

    def _spill(self, record: Any) -> bool:
        """The ``spill`` hook, on the caller's thread: finish the record (its values made representable, the
        exception formatted) and append it to the overflow spool, without an fsync."""
        self.finisher.finish(record)
        overflow = self.overflow
        return overflow is not None and bool(overflow.append([record]))

    def _spool_totals(self) -> SpoolCounts:
        stores = [s.stats() for s in self.spools]
        if self.overflow is not None:
            stores.append(self.overflow.stats())
        return sum_stats(stores)

    def _close_spools(self) -> None:
        """Close the overflow spool and release the slot (the exporters' spools close with the exporters)."""
        if self.overflow is not None:
            with contextlib.suppress(Exception):
                self.overflow.close()
        if self._slot is not None:
            self._slot.release()

    def _after_fork_in_child(self) -> None:
        """A forked child never writes into the parent's spools: no spill, the parent's files let go, and the
        parent's spool counters not reported as the child's (its exporters' spools pass records straight on)."""
        self.spools = []
        if self.overflow is not None:
            self.overflow.forget()
            self.handoff.disable_spill()
            self.overflow = None
        if self._slot is not None:
            self._slot.forget()
            self._slot = None

    def _drop_summary(self, counts: dict[str, int]) -> Record:
        record = new_record(
            time.time_ns(),
            SeverityNumber.WARN,
            "WARNING",
            "fapilog dropped records",
            {f"dropped.{reason}": count for reason, count in counts.items()},
            _SELF_SCOPE,
            None,
            event_name="fapilog.drop_summary",
        )
        record.resource = self.finisher.resource
        return record

    def enable_stage(self, stage: Any, section: str = "enrichers") -> None:
        """Add ``stage`` to ``section`` unless a stage of the same name is there (from the next batch on)."""
        stage = as_stage(stage)
        with self._stages_lock:
            current: list[Any] = getattr(self.sections, section)
            name = getattr(stage, "name", None)
            if any(getattr(s, "name", None) == name for s in current):
                return
            setattr(self.sections, section, [*current, stage])
            self.chain.stages = self.sections.ordered()

    def disable_stage(self, name: str) -> None:
        """Remove every stage called ``name`` (from the next batch on)."""
        with self._stages_lock:
            for section in SECTIONS:
                current: list[Any] = getattr(self.sections, section)
                setattr(self.sections, section, [s for s in current if getattr(s, "name", None) != name])
            self.chain.stages = self.sections.ordered()

    def flush(self, timeout: float | None = None) -> bool:
        return self.handoff.flush(self._timeout(timeout))

    def drain(self, timeout: float | None = None, *, close: bool = False) -> DrainResult:
        result = self.handoff.stop(self._timeout(timeout), close=close)
        if close and self._slot is not None:
            self._close_spools()
        return result

    async def flush_async(self, timeout: float | None = None) -> bool:
        return await self.handoff.flush_async(self._timeout(timeout))

    async def drain_async(self, timeout: float | None = None, *, close: bool = False) -> DrainResult:
        result = await self.handoff.stop_async(self._timeout(timeout), close=close)
        if close and self._slot is not None:
            self._close_spools()
        return result

    def stats(self) -> PipelineStats:
        return self.handoff.stats()

    def _timeout(self, timeout: float | None) -> float:
        return self.settings.core.shutdown_timeout_seconds if timeout is None else timeout


def live_pipelines() -> list[Pipeline]:
    return list(_pipelines)


_spooling: weakref.WeakSet[Pipeline] = weakref.WeakSet()


def _unusable(directory: Any, exc: OSError) -> SettingsError:
    """The start-up error for a spool directory the process cannot create or write."""
    return SettingsError(
        f"invalid fapilog settings:\n  spool.directory (env FAPILOG_SPOOL__DIRECTORY): cannot use {directory}: "
        f"{exc.strerror or exc}"
    )


def _dir_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "exporter"


def _after_fork() -> None:
    for pipeline in list(_spooling):
        with contextlib.suppress(Exception):
            pipeline._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _routes(routing: SinkRoutingSettings, routed: list[str], offset: int) -> RoutingTable[int]:
    """The routing table over exporter indices: the routed sinks follow the ``offset`` unrouted ones, which get
    every record."""
    index = {name: offset + i for i, name in enumerate(routed)}
    always = list(range(offset))
    rules = [(rule.levels, [*always, *(index[s] for s in rule.sinks)]) for rule in routing.rules]
    fallback = [*always, *(index[s] for s in routing.fallback_sinks)]
    return RoutingTable(rules, fallback=fallback, overlap=routing.overlap)
