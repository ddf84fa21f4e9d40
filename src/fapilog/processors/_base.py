"""``Stage``: the shape of every fapilog processor stage, which is also an OpenTelemetry processor."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord

__all__ = ["Keep", "ScreenedStage", "Stage"]

Keep = Callable[[ReadWriteLogRecord], bool]
"""What ``process_batch`` hands records to: the stage's own ``process``, contained by the pipeline."""


class Stage(LogRecordProcessor):
    """A processor stage: ``process(record)`` changes the record in place and returns whether to keep it.

    In fapilog's pipeline the worker calls ``process`` for each record, in the configured order, and a record a
    stage drops never reaches later stages or exporters. In a plain OpenTelemetry SDK pipeline the stage is an
    ordinary ``LogRecordProcessor``: ``on_emit`` calls ``process`` and hands a kept record to ``next``, the
    processor the stage wraps. A stage that only changes records can also stand alone before other processors
    of a ``LoggerProvider`` (the SDK passes one record object through them in order); a stage that drops
    records must wrap what comes after it, because the SDK calls every processor of a provider.

    If ``process`` raises, the stage's ``fail_closed`` decides: redactors drop the record (never leak what
    they could not check), other stages keep it unchanged. Either way the error is counted and reported.

    A stage may also take a whole batch at once: ``process_batch(records, process)`` returns the records it
    keeps, in their order, and gives each record its quick look cannot settle to ``process``, at most once:
    the pipeline's contained call of the stage's own ``process`` (it counts drops and contains errors, as for
    any record). That saves a call per record for stages that leave most records alone. The quick look itself
    is not contained: if ``process_batch`` raises, the pipeline counts one stage error and runs the records it
    had not handed to ``process`` through ``process`` one at a time.

    A stage may also add records of its own (a rate limiter's "suppressed N records" summary): ``pending()``
    returns them, and is called after each batch in fapilog (the records go to the exporters) and after each
    ``on_emit`` alone (they go to ``next``).
    """

    name: ClassVar[str] = "stage"
    fail_closed: ClassVar[bool] = False

    def __init__(self, *, next: LogRecordProcessor | None = None) -> None:
        self._next = next

    def process(self, record: ReadWriteLogRecord) -> bool:
        """Change ``record`` in place; return False to drop it. The base stage keeps every record as it is."""
        return True

    def pending(self) -> list[ReadWriteLogRecord]:
        """Records this stage wants to add (summaries), taken once each. The base stage has none."""
        return []

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        try:
            keep = self.process(log_record)
        except Exception:
            keep = not self.fail_closed
        if self._next is None:
            return
        if keep:
            self._next.on_emit(log_record)
        for extra in self.pending():
            self._next.on_emit(extra)

    def shutdown(self) -> None:
        if self._next is not None:
            self._next.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._next.force_flush(timeout_millis) if self._next is not None else True


class ScreenedStage(Stage):
    """A stage that leaves most records alone and can tell so cheaply: ``_nothing_to_do(record)``. Its
    ``process_batch`` hands ``process`` only the records that quick look does not settle."""

    def _nothing_to_do(self, record: ReadWriteLogRecord) -> bool:
        return False

    def process_batch(self, records: list[ReadWriteLogRecord], process: Keep) -> list[ReadWriteLogRecord]:
        nothing_to_do = self._nothing_to_do
        return [record for record in records if nothing_to_do(record) or process(record)]
