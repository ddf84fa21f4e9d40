"""From stage names in settings to stage objects, in the pipeline's order.

Order: enrichers, filters, processors, redactors. Filters come after the enrichers so they can use what
enrichers add; redactors come last, so nothing added after them escapes redaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fapilog._otel import ReadWriteLogRecord
from fapilog._plugins import PluginError, load_plugin
from fapilog._settings import Settings
from fapilog._stage_settings import FieldMaskConfig, RegexMaskConfig
from fapilog.processors._adaptive import AdaptiveSampler
from fapilog.processors._base import Stage
from fapilog.processors._dedupe import Deduplicator
from fapilog.processors._enrich import ContextVarsEnricher, KubernetesEnricher, RuntimeInfoEnricher
from fapilog.processors._level import LevelFilter
from fapilog.processors._rate_limit import RateLimiter
from fapilog.processors._redact_fields import FieldBlocker, FieldMask
from fapilog.processors._redact_patterns import RegexMask
from fapilog.processors._redact_truncate import StringTruncate
from fapilog.processors._redact_urls import UrlCredentials
from fapilog.processors._redaction_presets import preset_named
from fapilog.processors._sampling import ProbabilisticSampler, TraceSampler

__all__ = ["SECTIONS", "StageSections", "as_stage", "build_sections"]

SECTIONS = ("enrichers", "filters", "processors", "redactors")

Factory = Callable[[Settings], Any]

# Built-in stages by section and name; each factory reads its configuration from the settings.
BUILTIN: dict[str, dict[str, Factory]] = {
    "enrichers": {
        "runtime_info": lambda s: RuntimeInfoEnricher(),
        "context_vars": lambda s: ContextVarsEnricher(defaults=s.core.default_bound_context),
        "kubernetes": lambda s: KubernetesEnricher(),
    },
    "filters": {
        "level": lambda s: LevelFilter(**s.filter_config.level.model_dump()),
        "sampling": lambda s: ProbabilisticSampler(**s.filter_config.sampling.model_dump()),
        "trace_sampling": lambda s: TraceSampler(**s.filter_config.trace_sampling.model_dump()),
        "rate_limit": lambda s: RateLimiter(**s.filter_config.rate_limit.model_dump()),
        "first_occurrence": lambda s: Deduplicator(**s.filter_config.first_occurrence.model_dump()),
        "adaptive_sampling": lambda s: AdaptiveSampler(**s.filter_config.adaptive_sampling.model_dump()),
    },
    "processors": {},
    "redactors": {
        "field_mask": lambda s: _field_mask(s.redactor_config.field_mask),
        "regex_mask": lambda s: _regex_mask(s.redactor_config.regex_mask),
        "url_credentials": lambda s: UrlCredentials(**s.redactor_config.url_credentials.model_dump()),
        "field_blocker": lambda s: FieldBlocker(**s.redactor_config.field_blocker.model_dump()),
        "string_truncate": lambda s: StringTruncate(**s.redactor_config.string_truncate.model_dump()),
    },
}


def build_redactor(name: str, options: dict[str, Any]) -> Any:
    """The redactor ``name`` from its ``redactor_config`` options (checks them as ``Settings`` would)."""
    from pydantic import ValidationError

    configs = {"field_mask": (FieldMaskConfig, _field_mask), "regex_mask": (RegexMaskConfig, _regex_mask)}
    model, factory = configs[name]
    try:
        return factory(model(**options))  # type: ignore[operator]
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def _field_mask(config: FieldMaskConfig) -> FieldMask:
    fields = [*config.fields, *(f for name in config.presets for f in preset_named(name).fields)]
    return FieldMask(
        list(dict.fromkeys(fields)),
        mask=config.mask,
        match=config.match,
        max_depth=config.max_depth,
        max_keys_scanned=config.max_keys_scanned,
    )


def _regex_mask(config: RegexMaskConfig) -> RegexMask:
    return RegexMask(
        config.patterns, presets=config.presets, mask=config.mask, max_string_length=config.max_string_length
    )


@dataclass(slots=True)
class StageSections:
    """The stages of a pipeline, by section."""

    enrichers: list[Any] = field(default_factory=list)
    filters: list[Any] = field(default_factory=list)
    processors: list[Any] = field(default_factory=list)
    redactors: list[Any] = field(default_factory=list)

    def ordered(self) -> list[Any]:
        return [*self.enrichers, *self.filters, *self.processors, *self.redactors]


def build_sections(settings: Settings) -> StageSections:
    """Every stage the settings name, built; an unknown or refused name fails here, naming it."""
    sections = StageSections()
    for section in SECTIONS:
        names: list[str] = getattr(settings.core, section)
        getattr(sections, section).extend(_build(section, name, settings) for name in names)
    return sections


def _build(section: str, name: str, settings: Settings) -> Any:
    factory = BUILTIN[section].get(name)
    if factory is not None:
        return factory(settings)
    try:
        plugin = load_plugin(f"fapilog.{section}", name, settings.plugins)
    except PluginError as exc:
        builtin = ", ".join(sorted(BUILTIN[section])) or "none"
        raise PluginError(f"core.{section}: {exc} (built-in {section}: {builtin})") from None
    try:
        obj = plugin() if isinstance(plugin, type) else plugin
    except Exception as exc:
        raise PluginError(f"core.{section}: plugin {name!r} could not be created: {exc!r}") from exc
    return as_stage(obj, name)


class _ProcessorStage(Stage):
    """A plain OpenTelemetry processor (no ``process``) used as a stage: it may change records, never drop."""

    def __init__(self, processor: Any, name: str) -> None:
        super().__init__()
        self._processor = processor
        self.__dict__["name"] = name  # this instance's name, over the class's

    def process(self, record: ReadWriteLogRecord) -> bool:
        self._processor.on_emit(record)
        return True

    def shutdown(self) -> None:
        self._processor.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._processor.force_flush(timeout_millis))


def as_stage(obj: Any, name: str | None = None) -> Any:
    """``obj`` if it is a stage (has ``process``), a wrapped OpenTelemetry processor, else an error."""
    if callable(getattr(obj, "process", None)):
        return obj
    if callable(getattr(obj, "on_emit", None)):
        return _ProcessorStage(obj, name or type(obj).__name__)
    raise PluginError(f"{name or obj!r} is not a stage: it has neither process(record) nor on_emit(record)")
