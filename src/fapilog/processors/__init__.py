"""fapilog's processor stages, each also an OpenTelemetry ``LogRecordProcessor`` usable in any SDK pipeline.

``NonBlockingLogRecordProcessor`` is the hand-off fapilog's own loggers use, packaged for a plain
``LoggerProvider``: ``on_emit`` only queues; a background worker (with its own event loop) coerces values,
formats exceptions and calls the exporters in batches::

    provider = LoggerProvider()
    provider.add_log_record_processor(NonBlockingLogRecordProcessor(MyExporter(), max_queue_size=50_000))

``Stage`` is the base of every stage (see its docstring for how stages behave alone and in fapilog).
"""

from fapilog.processors._base import Stage
from fapilog.processors._nonblocking import BackpressurePolicy, NonBlockingLogRecordProcessor

__all__ = ["BackpressurePolicy", "NonBlockingLogRecordProcessor", "Stage"]
