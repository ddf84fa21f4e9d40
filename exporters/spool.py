"""The durable disk spool: an exporter in front of any exporter, so a dead sink or a killed process loses nothing.

``SpoolExporter(exporter, directory)`` writes every batch it is given to an append-only, segmented,
checksummed log in ``directory`` (``_spool_store``, ``_spool_segment``) and returns at once; a thread of its
own delivers the records to ``exporter`` in order and acknowledges each batch only after the exporter
succeeded (``_spool_replay``). While the exporter is down the records wait on disk and are retried with
backoff; after a restart the records not yet acknowledged are delivered first. A directory belongs to one
spool at a time: a second opener gets ``SpoolLockedError`` naming the directory and the holder's pid.

The same store backs the hand-off's ``spill`` backpressure policy (records that find the queue full wait on
disk, and come back in order). ``FAPILOG_SPOOL__ENABLED=true`` turns both on for a pipeline; see
docs/spool.md.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fapilog._diagnostics import Diagnostics
from fapilog._drain import SpoolCounts
from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog._units import parse_size
from fapilog.exporters._spool_lock import DirectoryLock, SpoolLockedError
from fapilog.exporters._spool_replay import Replayer
from fapilog.exporters._spool_store import FsyncPolicy, OverflowPolicy, SpoolStats, Store

__all__ = [
    "FsyncPolicy",
    "OverflowPolicy",
    "SpoolExporter",
    "SpoolLockedError",
    "SpoolSettings",
    "SpoolStats",
    "claim_slot",
    "default_directory",
    "overflow_store",
    "spool_exporter",
    "sum_stats",
]

_Size = Annotated[int, BeforeValidator(parse_size), Field(ge=1024)]
_SLOTS = 64


class SpoolSettings(BaseModel):
    """The disk spool's settings (``FAPILOG_SPOOL__*``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(
        False,
        description="Spool every exporter's records to disk first (except those in exclude), and spill records "
        "that find the queue full to disk (the 'spill' policy) unless core.backpressure_policy names another.",
    )
    directory: Path | None = Field(
        None,
        description="Base directory of the spools (default: $XDG_STATE_HOME or ~/.local/state, "
        "then fapilog/spool/<service>). Each process takes a slot-N directory of its own under it.",
    )
    fsync: Literal["batch", "interval", "never"] = Field(
        "interval", description="When spooled data is fsynced: every batch, every fsync_interval_ms, or never."
    )
    fsync_interval_ms: int = Field(100, ge=1, description="The period of the 'interval' fsync policy.")
    max_bytes: _Size = Field(256 * 1024 * 1024, description="Disk each spool may use ('256 MiB', '1 GB').")
    segment_bytes: _Size = Field(16 * 1024 * 1024, description="Size at which a spool starts a new segment file.")
    overflow: Literal["drop_oldest", "block"] = Field(
        "drop_oldest",
        description="At max_bytes: delete the oldest segment (its records counted as dropped), or wait up to "
        "block_timeout_ms for room and then refuse the batch (counted).",
    )
    block_timeout_ms: int = Field(1000, ge=0, description="How long the 'block' overflow waits for room.")
    batch_size: int = Field(256, ge=1, description="Records per delivery attempt from the spool.")
    retry_base_delay_seconds: float = Field(0.5, ge=0, description="First retry delay when the exporter fails.")
    retry_max_delay_seconds: float = Field(30.0, ge=0, description="Longest delay between retries (jittered).")
    shutdown_timeout_seconds: float = Field(
        5.0, ge=0, description="At shutdown, how long a spool keeps delivering; the rest stays on disk for later."
    )
    exclude: list[str] = Field(
        default_factory=lambda: ["stdout_json", "stdout_pretty"],
        description="Sink types (or exporter names) written directly, without a spool.",
    )


def default_directory(service: str | None = None) -> Path:
    """Where spools live when no directory is set: ``$XDG_STATE_HOME`` (else ``~/.local/state``), then
    ``fapilog/spool/<service or "default">``."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in (service or "default")) or "default"
    return Path(state) / "fapilog" / "spool" / name


def claim_slot(base: Path) -> tuple[DirectoryLock, Path]:
    """The first free ``slot-N`` directory under ``base``, locked for this process until released.

    Several processes of one service (workers of a server) each take their own slot; a restarted process takes
    a free one, and with it whatever an earlier process left there."""
    base.mkdir(parents=True, exist_ok=True)
    last: SpoolLockedError | None = None
    for n in range(_SLOTS):
        path = base / f"slot-{n}"
        path.mkdir(exist_ok=True)
        try:
            return DirectoryLock(path), path
        except SpoolLockedError as exc:
            last = exc
    assert last is not None
    raise last


class SpoolExporter(LogRecordExporter):
    """A durable, ordered, at-least-once queue on disk in front of ``exporter``.

    ``export`` appends the batch (one frame, fsynced per ``fsync``) and returns; it returns FAILURE only when
    the spool refused the batch (full with ``overflow="block"``, larger than ``max_bytes``, or a write error),
    which is counted.
    ``force_flush`` waits until every spooled record is delivered, unless the exporter is failing (the
    records are safe on disk then). ``shutdown`` keeps delivering for up to ``shutdown_timeout`` seconds while
    the exporter succeeds, then closes; what is left is delivered by the next process to open the directory.
    """

    def __init__(
        self,
        exporter: Any,
        directory: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval: float = 0.1,
        max_bytes: int | str = 256 * 1024 * 1024,
        segment_bytes: int | str = 16 * 1024 * 1024,
        overflow: OverflowPolicy = "drop_oldest",
        block_timeout: float = 1.0,
        batch_size: int = 256,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        flush_timeout: float = 30.0,
        shutdown_timeout: float = 5.0,
        cache_records: int = 4096,
        diagnostics: Diagnostics | None = None,
        name: str | None = None,
    ) -> None:
        self.exporter = exporter
        inner = name or str(getattr(exporter, "name", None) or type(exporter).__name__)
        self.name = f"spool:{inner}"
        self.shutdown_timeout = shutdown_timeout
        self.store = Store(
            directory,
            fsync=fsync,
            fsync_interval=fsync_interval,
            max_bytes=parse_size(max_bytes),
            segment_bytes=parse_size(segment_bytes),
            overflow=overflow,
            block_timeout=block_timeout,
            cache_records=cache_records,
            diagnostics=diagnostics,
        )
        self.replayer = Replayer(
            self.store,
            exporter,
            name=inner,
            batch_size=batch_size,
            base_delay=retry_base_delay,
            max_delay=retry_max_delay,
            flush_timeout=flush_timeout,
            diagnostics=diagnostics,
        )
        self._closed = False
        self._forked = False
        _live.add(self)

    @property
    def directory(self) -> Path:
        return self.store.directory

    def export(self, batch: Sequence[ReadableLogRecord]) -> Any:
        if self._forked:  # a forked child must not write into its parent's spool: straight through
            return self.exporter.export(batch)
        if self._closed:
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS if self.store.append(batch) else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Sync the spool (unless the policy is ``never``) and wait for delivery while the exporter succeeds."""
        if self._closed or self._forked:
            return True
        if self.store.fsync != "never":
            self.store.sync()
        return self.replayer.wait_idle(timeout_millis / 1000)

    def shutdown(self) -> None:
        if self._closed or self._forked:
            return
        self._closed = True
        self.replayer.stop(self.shutdown_timeout)
        self.store.close()
        _live.discard(self)

    def stats(self) -> SpoolStats:
        """The spool's counters: spooled, acked, replayed, duplicates, dropped, corrupt, retried, pending, ..."""
        return self.store.stats()

    def _after_fork_in_child(self) -> None:
        self._forked = True
        self.store.forget()


def spool_exporter(
    settings: SpoolSettings,
    exporter: Any,
    *,
    directory: str | os.PathLike[str] | None = None,
    name: str | None = None,
    diagnostics: Diagnostics | None = None,
    **options: Any,
) -> SpoolExporter:
    """A ``SpoolExporter`` for ``exporter`` configured by ``settings`` (``options`` are ``SpoolSettings``
    fields that override them); ``directory`` defaults to ``<settings.directory or the default>/<name>``."""
    merged = SpoolSettings(**{**settings.model_dump(exclude_unset=True), **options})
    inner = name or str(getattr(exporter, "name", None) or type(exporter).__name__)
    where = Path(directory) if directory is not None else (merged.directory or default_directory()) / _safe(inner)
    return SpoolExporter(exporter, where, diagnostics=diagnostics, name=inner, **arguments(merged))


def arguments(settings: SpoolSettings) -> dict[str, Any]:
    """``SpoolExporter`` keyword arguments from ``settings``."""
    return {
        "fsync": settings.fsync,
        "fsync_interval": settings.fsync_interval_ms / 1000,
        "max_bytes": settings.max_bytes,
        "segment_bytes": settings.segment_bytes,
        "overflow": settings.overflow,
        "block_timeout": settings.block_timeout_ms / 1000,
        "batch_size": settings.batch_size,
        "retry_base_delay": settings.retry_base_delay_seconds,
        "retry_max_delay": settings.retry_max_delay_seconds,
        "shutdown_timeout": settings.shutdown_timeout_seconds,
    }


def overflow_store(settings: SpoolSettings, directory: Path, diagnostics: Diagnostics | None = None) -> Store:
    """The store behind the ``spill`` policy: no in-memory copy (memory is what ran out), and never an fsync
    on the caller's thread (``batch`` becomes a sync every ``fsync_interval_ms``)."""
    return Store(
        directory,
        fsync="never" if settings.fsync == "never" else "interval",
        fsync_interval=settings.fsync_interval_ms / 1000,
        max_bytes=settings.max_bytes,
        segment_bytes=settings.segment_bytes,
        overflow=settings.overflow,
        block_timeout=settings.block_timeout_ms / 1000,
        cache_records=0,
        diagnostics=diagnostics,
    )


# ``DrainResult``/``PipelineStats`` field <- ``SpoolStats`` field.
_REPORTED = {
    "spooled": "spooled",
    "replayed": "replayed",
    "corrupt": "corrupt",
    "duplicates": "duplicates",
    "spool_dropped": "dropped",
}


def sum_stats(stats: Sequence[SpoolStats]) -> SpoolCounts:
    """The spool counts ``DrainResult`` and the self-metrics report (named as their fields), summed over
    spools."""
    return cast(SpoolCounts, {field: sum(int(getattr(s, key)) for s in stats) for field, key in _REPORTED.items()})


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "exporter"


_live: weakref.WeakSet[SpoolExporter] = weakref.WeakSet()


def _after_fork() -> None:
    for exporter in list(_live):
        with contextlib.suppress(Exception):
            exporter._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
