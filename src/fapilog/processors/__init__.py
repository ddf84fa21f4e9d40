"""fapilog's processor stages, each also an OpenTelemetry ``LogRecordProcessor`` usable in any SDK pipeline.

``NonBlockingLogRecordProcessor`` is the hand-off fapilog's own loggers use, packaged for a plain
``LoggerProvider``: ``on_emit`` only queues; a background worker (with its own event loop) coerces values,
formats exceptions and calls the exporters in batches::

    provider = LoggerProvider()
    provider.add_log_record_processor(NonBlockingLogRecordProcessor(MyExporter(), max_queue_size=50_000))

``Stage`` is the base of every stage (see its docstring for how stages behave alone and in fapilog).
"""

from fapilog.processors._adaptive import AdaptiveSampler
from fapilog.processors._base import Keep, Stage
from fapilog.processors._dedupe import Deduplicator
from fapilog.processors._enrich import ContextVarsEnricher, KubernetesEnricher, RuntimeInfoEnricher
from fapilog.processors._level import LevelFilter
from fapilog.processors._nonblocking import BackpressurePolicy, NonBlockingLogRecordProcessor
from fapilog.processors._rate_limit import RateLimiter
from fapilog.processors._redact_fields import FieldBlocker, FieldMask
from fapilog.processors._redact_patterns import RegexMask
from fapilog.processors._redact_truncate import StringTruncate
from fapilog.processors._redact_urls import UrlCredentials
from fapilog.processors._redaction_presets import (
    CREDENTIALS,
    HIPAA_PHI,
    PCI_DSS,
    REDACTION_PRESETS,
    RedactionPreset,
    redaction_stages,
)
from fapilog.processors._routing import LevelRouter
from fapilog.processors._sampling import ProbabilisticSampler, TraceSampler

__all__ = [
    "AdaptiveSampler",
    "BackpressurePolicy",
    "CREDENTIALS",
    "ContextVarsEnricher",
    "Deduplicator",
    "FieldBlocker",
    "FieldMask",
    "HIPAA_PHI",
    "Keep",
    "KubernetesEnricher",
    "LevelFilter",
    "LevelRouter",
    "NonBlockingLogRecordProcessor",
    "PCI_DSS",
    "ProbabilisticSampler",
    "REDACTION_PRESETS",
    "RateLimiter",
    "RedactionPreset",
    "RegexMask",
    "RuntimeInfoEnricher",
    "Stage",
    "StringTruncate",
    "TraceSampler",
    "UrlCredentials",
    "redaction_stages",
]
