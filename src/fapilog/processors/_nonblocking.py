"""The non-blocking hand-off as a processor for any OpenTelemetry SDK pipeline."""

from __future__ import annotations

from typing import Any

from fapilog._chain import Chain, Finisher
from fapilog._diagnostics import Diagnostics
from fapilog._handoff import BackpressurePolicy, NonBlockingProcessor
from fapilog._otel import Resource, SeverityNumber

__all__ = ["BackpressurePolicy", "NonBlockingLogRecordProcessor"]


class NonBlockingLogRecordProcessor(NonBlockingProcessor):
    """Queue records on ``on_emit``; export them from a background worker. Never raises into the caller.

    ``exporters`` are OpenTelemetry ``LogRecordExporter``s (an ``export`` returning an awaitable is awaited
    on the worker's loop). The keyword options mirror fapilog's ``core`` settings; see the pipeline guide.
    """

    def __init__(
        self,
        *exporters: Any,
        max_queue_size: int = 10_000,
        max_queue_bytes: int = 64 * 1024 * 1024,
        policy: BackpressurePolicy | str = BackpressurePolicy.DROP_NEWEST,
        block_timeout: float = 0.05,
        protected_severity: SeverityNumber = SeverityNumber.ERROR,
        batch_size: int = 256,
        batch_timeout: float = 0.25,
        diagnostics: bool = False,
    ) -> None:
        diag = Diagnostics(enabled=diagnostics)
        chain = Chain(finisher=Finisher(Resource.get_empty()), exporters=exporters, diagnostics=diag)
        super().__init__(
            chain,
            max_records=max_queue_size,
            max_bytes=max_queue_bytes,
            policy=policy,
            block_timeout=block_timeout,
            protected_severity=protected_severity.value,
            batch_size=batch_size,
            batch_timeout=batch_timeout,
            diagnostics=diag,
        )
