"""Rotating files: fapilog JSON lines, plain text lines, or OTLP/JSON lines a Collector can ingest.

Each batch is rendered once and appended with one write (per file it lands in) under an exclusive lock
shared by every process writing to the same path, so lines are never torn or interleaved (``_appender``).
The file rotates before a write that would take it past ``max_bytes`` (a batch is split at line
boundaries when it must be) and when a time period of ``interval`` seconds, aligned to the epoch, has
ended. Rotated files are renamed with their UTC rotation time (``_rotation``); gzip and retention run off
the hot path, on an executor. Errors (a full disk, no permission, a path that is a directory) make the
export return FAILURE, are reported on the diagnostics channel, and never raise. See docs/files.md.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from fapilog._diagnostics import Diagnostics
from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog._render import envelope_lines, pretty_line
from fapilog._units import parse_duration, parse_size
from fapilog.exporters._appender import ActiveFile
from fapilog.exporters._otlp_json import encode_request
from fapilog.exporters._rotation import maintain, period_end, rotated_path

__all__ = ["EnvRotatingFileExporter", "FileMode", "FileSettings", "RotatingFileExporter", "rotating_file_exporter"]

FileMode = Literal["json", "text", "otlp_json"]
_MODES = ("json", "text", "otlp_json")
_SUFFIX: dict[str, str] = {"json": ".jsonl", "text": ".log", "otlp_json": ".otlp.jsonl"}
_ENV_PREFIX = "FAPILOG_FILE__"
_SHUTDOWN_WAIT_MILLIS = 10_000


def _off(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """``None`` (the limit is off) for ``None``, ``""``, ``"none"`` or ``"null"``; else the parsed value."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    return handler(value)


# Optional limits: human text ("10 MB", "daily") or numbers; None (or "none") turns them off.
_Size = Annotated[int | None, BeforeValidator(parse_size), Field(ge=1), WrapValidator(_off)]
_Total = Annotated[int | None, BeforeValidator(parse_size), Field(ge=0), WrapValidator(_off)]
_Interval = Annotated[float | None, BeforeValidator(parse_duration), Field(gt=0), WrapValidator(_off)]


class FileSettings(BaseModel):
    """The rotating file exporter's settings (``FAPILOG_FILE__*``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    directory: Path | None = Field(None, description="Directory of the log files (created if missing).")
    filename_prefix: str = Field(
        "fapilog",
        min_length=1,
        pattern=r"^[^/\\\x00]+$",
        description="Name of the active file before its suffix (.jsonl, .log or .otlp.jsonl by mode).",
    )
    mode: FileMode = Field("json", description="json (fapilog envelopes), text (pretty lines) or otlp_json.")
    max_bytes: _Size = Field(
        10_000_000, description="Rotate before a write would take the file past this size ('10 MB'); none: never."
    )
    interval_seconds: _Interval = Field(
        None, description="Rotate when this period ends ('hourly', 'daily', '15m', seconds); aligned to UTC."
    )
    max_files: int | None = Field(None, ge=0, description="Rotated files kept (the oldest are deleted).")
    max_total_bytes: _Total = Field(
        None, description="Total size of the rotated files kept ('1 GB'); the oldest are deleted first."
    )
    compress_rotated: bool = Field(False, description="gzip rotated files (in the background).")


class RotatingFileExporter(LogRecordExporter):
    """Appends each batch to ``path``; rotates by size and/or time; compresses and prunes rotated files.

    ``clock`` gives the time (seconds since the epoch) used for time rotation and rotated names;
    ``executor`` runs compression and retention (default: one background thread of its own);
    ``diagnostics`` receives a warning for each error.
    """

    name = "rotating_file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: FileMode = "json",
        max_bytes: int | str | None = None,
        interval: float | str | None = None,
        max_files: int | None = None,
        max_total_bytes: int | str | None = None,
        compress: bool = False,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
        diagnostics: Diagnostics | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"file mode must be one of {', '.join(_MODES)}, not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.max_bytes = parse_size(max_bytes) if max_bytes is not None else None
        self.interval = parse_duration(interval) if interval is not None else None
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ValueError("max_bytes must be at least 1 byte (or None: no size rotation)")
        if self.interval is not None and self.interval <= 0:
            raise ValueError("interval must be positive (or None: no time rotation)")
        if max_files is not None and max_files < 0:
            raise ValueError("max_files cannot be negative")
        self.max_files = max_files
        self.max_total_bytes = parse_size(max_total_bytes) if max_total_bytes is not None else None
        self.compress = compress
        self.rotations = 0
        self.failed_batches = 0
        self.last_error: BaseException | None = None
        self._clock = clock
        self._executor = executor
        self._own_executor = executor is None
        self._diagnostics = diagnostics
        self._file = ActiveFile(self.path)
        self._lock = threading.Lock()
        self._jobs_lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._period_end: float | None = None
        self._closed = False
        _live.add(self)

    @classmethod
    def from_settings(
        cls,
        settings: FileSettings,
        *,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
        diagnostics: Diagnostics | None = None,
    ) -> RotatingFileExporter:
        """The exporter ``settings`` describe: ``<directory>/<filename_prefix><suffix of the mode>``."""
        return cls(**_arguments(settings), clock=clock, executor=executor, diagnostics=diagnostics)

    # ---- export ----------------------------------------------------------------------------------------

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if not batch:
            return LogRecordExportResult.SUCCESS
        try:
            data = self._render(batch)
            with self._lock:
                if self._closed:
                    return LogRecordExportResult.FAILURE
                self._file.lock()
                try:
                    self._write(data, batch)
                finally:
                    self._file.unlock()
        except Exception as exc:
            self.failed_batches += 1
            self._report("file write failed", exc)
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def _render(self, batch: Sequence[ReadableLogRecord]) -> bytes:
        if self.mode == "json":
            return envelope_lines(batch)
        if self.mode == "text":
            return "".join([pretty_line(r, colors=False) for r in batch]).encode("utf-8", "backslashreplace")
        return encode_request(batch)

    def _pieces(self, data: bytes, batch: Sequence[ReadableLogRecord]) -> list[bytes]:
        """``data`` cut where it may be split between files: between records (otlp_json: not at all)."""
        if self.mode == "json":
            return data.splitlines(keepends=True)
        if self.mode == "text":
            return [pretty_line(r, colors=False).encode("utf-8", "backslashreplace") for r in batch]
        return [data]

    def _write(self, data: bytes, batch: Sequence[ReadableLogRecord]) -> None:
        """Rotate as due and append ``data`` (the lock is held)."""
        st, opened = self._file.current()
        size = st.st_size
        now = self._clock()
        if self.interval is not None:
            if opened or self._period_end is None:  # a file of an earlier period is rotated before writing
                self._period_end = period_end(now if size == 0 else min(now, st.st_mtime), self.interval)
            if now >= self._period_end:
                rotated = self._rotate(now) if size else None
                if rotated is not None:
                    size = rotated
                self._period_end = period_end(now, self.interval)
        limit = self.max_bytes
        if limit is None or size + len(data) <= limit:
            self._file.append(data, size)
            return
        chunk: list[bytes] = []
        used = 0
        for piece in self._pieces(data, batch):
            if size + used + len(piece) > limit and size + used > 0:
                if chunk:
                    self._file.append(b"".join(chunk), size)
                    size, chunk, used = size + used, [], 0
                rotated = self._rotate(now)
                if rotated is None:  # rotation failed: the rest of the batch stays in this file
                    limit = 1 << 62
                else:
                    size = rotated
            chunk.append(piece)
            used += len(piece)
        if chunk:
            self._file.append(b"".join(chunk), size)

    def _rotate(self, now: float) -> int | None:
        """Rotate the active file; the new file's size, or ``None`` if the rotation failed (reported)."""
        try:
            target = rotated_path(self.path, now)
            self._file.rotate_to(target)
        except OSError as exc:
            self._report("file rotation failed", exc)
            return None
        self.rotations += 1
        self._schedule(target)
        st, _ = self._file.current()
        return st.st_size

    # ---- compression and retention, off the hot path --------------------------------------------------

    def _schedule(self, rotated: Path) -> None:
        if not self.compress and self.max_files is None and self.max_total_bytes is None:
            return
        job = partial(
            maintain,
            rotated,
            active=self.path,
            compress=self.compress,
            max_files=self.max_files,
            max_total_bytes=self.max_total_bytes,
        )
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fapilog-file")
            future = self._executor.submit(job)
        except RuntimeError:  # the interpreter (or the executor) is shutting down: do it here and now
            try:
                job()
            except Exception as exc:
                self._report("rotated file maintenance failed", exc)
            return
        with self._jobs_lock:
            self._pending.add(future)
        future.add_done_callback(self._job_done)

    def _job_done(self, future: Future[None]) -> None:
        with self._jobs_lock:
            self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            self._report("rotated file maintenance failed", future.exception())

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until pending compression and retention are done (data is written by each export already)."""
        with self._jobs_lock:
            pending = list(self._pending)
        if not pending:
            return True
        _, not_done = wait(pending, timeout=timeout_millis / 1000)
        return not not_done

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._file.close()
        self.force_flush(_SHUTDOWN_WAIT_MILLIS)
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    # ---- errors ------------------------------------------------------------------------------------------

    def _report(self, message: str, exc: BaseException | None) -> None:
        self.last_error = exc
        if self._diagnostics is not None:
            self._diagnostics.warn("sink", message, exporter=self.name, path=str(self.path), error=exc)

    def _after_fork_in_child(self) -> None:
        """A forked child writes through descriptors and a lock of its own, with no parent jobs pending."""
        self._lock = threading.Lock()
        self._jobs_lock = threading.Lock()
        self._pending = set()
        self._file.close()
        if self._own_executor:
            self._executor = None


class EnvRotatingFileExporter(RotatingFileExporter):
    """A ``RotatingFileExporter`` configured by ``FAPILOG_FILE__*`` variables alone.

    For OpenTelemetry's configurator (``OTEL_LOGS_EXPORTER=fapilog_file``), which builds exporters without
    arguments.
    """

    def __init__(self) -> None:
        super().__init__(**_arguments(FileSettings(**_env_options())))


def rotating_file_exporter(base: FileSettings | None = None, /, **options: Any) -> RotatingFileExporter:
    """The exporter of the sink ``"rotating_file"`` / ``{"type": "rotating_file", ...}``: the options are
    ``FileSettings`` fields, over ``base`` (fapilog's ``Settings.file``) or else the ``FAPILOG_FILE__*``
    values."""
    try:
        start = base.model_dump(exclude_unset=True) if base is not None else _env_options()
        settings = FileSettings(**{**start, **options})
    except ValidationError as exc:
        raise ValueError(f"sink 'rotating_file': {exc}") from None
    return RotatingFileExporter.from_settings(settings)


def _arguments(settings: FileSettings) -> dict[str, Any]:
    if settings.directory is None:
        raise ValueError(
            "the rotating_file exporter needs a directory: set FAPILOG_FILE__DIRECTORY "
            '(or give {"type": "rotating_file", "directory": ...})'
        )
    return {
        "path": settings.directory / f"{settings.filename_prefix}{_SUFFIX[settings.mode]}",
        "mode": settings.mode,
        "max_bytes": settings.max_bytes,
        "interval": settings.interval_seconds,
        "max_files": settings.max_files,
        "max_total_bytes": settings.max_total_bytes,
        "compress": settings.compress_rotated,
    }


def _env_options() -> dict[str, str]:
    return {
        name[len(_ENV_PREFIX) :].lower(): value
        for name, value in os.environ.items()
        if name.upper().startswith(_ENV_PREFIX)
    }


_live: weakref.WeakSet[RotatingFileExporter] = weakref.WeakSet()


def _after_fork() -> None:
    for exporter in list(_live):
        exporter._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
