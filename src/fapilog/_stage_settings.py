"""Settings of the built-in stages: ``filter_config`` and ``redactor_config`` (fapilog 0.18's names).

Each model holds the keyword arguments of one stage; a stage runs only when its name is listed in
``core.filters`` / ``core.redactors``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from fapilog._levels import level_for

__all__ = ["FilterConfig", "RedactorConfig"]

_STRICT = ConfigDict(extra="forbid", validate_assignment=True)


def _level(value: str | None) -> str | None:
    return None if value is None else level_for(value).name


class LevelFilterConfig(BaseModel):
    model_config = _STRICT
    min_level: str = Field("INFO", description="Records below this level are dropped.")
    per_logger: dict[str, str] = Field(
        default_factory=dict, description="Levels for logger-name prefixes (the longest prefix wins)."
    )

    _min = field_validator("min_level")(_level)

    @field_validator("per_logger")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: level_for(level).name for name, level in value.items()}


class SamplingConfig(BaseModel):
    model_config = _STRICT
    rate: float = Field(1.0, ge=0, le=1, description="Fraction of records kept (ERROR and above always are).")
    always_keep: str = Field("ERROR", description="Records at or above this level are never sampled out.")
    by_trace: bool = Field(True, description="Keep or drop all the records of a trace together.")

    _keep = field_validator("always_keep")(_level)


class TraceSamplingConfig(BaseModel):
    model_config = _STRICT
    follow_trace_flags: bool = Field(True, description="Keep the records of sampled traces, drop the others.")
    rate: float = Field(1.0, ge=0, le=1, description="Fraction kept of records outside any trace.")
    always_keep: str = Field("ERROR", description="Records at or above this level are always kept.")

    _keep = field_validator("always_keep")(_level)


class RateLimitConfig(BaseModel):
    model_config = _STRICT
    rate: float = Field(100.0, gt=0, description="Records per second allowed per key (token refill rate).")
    burst: int = Field(200, ge=1, description="Records allowed at once per key (bucket size).")
    key: str = Field("logger", description="What a key is: logger, message, level, or an attribute name.")
    summary_interval: float = Field(60.0, gt=0, description="At most one 'suppressed N' summary per key per interval.")
    max_keys: int = Field(10_000, ge=1, description="Keys tracked at once (least recently used forgotten).")
    always_keep: str | None = Field(None, description="Records at or above this level are never limited.")

    _keep = field_validator("always_keep")(_level)


class FirstOccurrenceConfig(BaseModel):
    model_config = _STRICT
    window: float = Field(60.0, gt=0, description="Seconds during which repeats of a key are suppressed.")
    key: str = Field("message", description="What a repeat is: message, logger, level, or an attribute name.")
    max_keys: int = Field(10_000, ge=1, description="Keys tracked at once.")


class AdaptiveSamplingConfig(BaseModel):
    model_config = _STRICT
    target_per_second: float = Field(1_000.0, gt=0, description="Records per second to aim for.")
    window: float = Field(1.0, gt=0, description="Seconds over which the incoming rate is measured.")
    smoothing: float = Field(0.5, gt=0, le=1, description="Weight of the newest window in the rate estimate.")
    always_keep: str = Field("ERROR", description="Records at or above this level are always kept.")

    _keep = field_validator("always_keep")(_level)


class FilterConfig(BaseModel):
    """Options of the filter stages (``core.filters`` chooses which run)."""

    model_config = _STRICT
    level: LevelFilterConfig = LevelFilterConfig()
    sampling: SamplingConfig = SamplingConfig()
    trace_sampling: TraceSamplingConfig = TraceSamplingConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    first_occurrence: FirstOccurrenceConfig = FirstOccurrenceConfig()
    adaptive_sampling: AdaptiveSamplingConfig = AdaptiveSamplingConfig()


def _presets(value: list[str]) -> list[str]:
    from fapilog.processors._redaction_presets import preset_named

    return [preset_named(name).name for name in value]


class FieldMaskConfig(BaseModel):
    model_config = _STRICT
    fields: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("fields", "fields_to_mask"),
        description="Field names or paths whose values are masked (case-insensitive; 'user.password', '*.secret').",
    )
    presets: list[str] = Field(
        default_factory=list, description="Redaction presets whose fields are masked too (credentials, ...)."
    )
    mask: str = Field("***", validation_alias=AliasChoices("mask", "mask_string"), description="The replacement.")
    match: Literal["words", "exact"] = Field("words", description="Match names by their words, or exactly.")
    max_depth: int = Field(16, ge=1, description="Nesting levels checked; deeper values are masked unchecked.")
    max_keys_scanned: int = Field(5_000, ge=1, description="Keys checked per record; the rest are masked.")

    _known = field_validator("presets")(_presets)


class RegexMaskConfig(BaseModel):
    model_config = _STRICT
    patterns: list[str] = Field(
        default_factory=list, description="Regular expressions or built-in pattern names (credit_card, jwt, ...)."
    )
    presets: list[str] = Field(default_factory=list, description="Redaction presets whose patterns apply too.")
    mask: str = Field("***", validation_alias=AliasChoices("mask", "mask_string"), description="The replacement.")
    max_string_length: int = Field(65_536, ge=1, description="Longest string scanned (the rest is cut).")

    _known = field_validator("presets")(_presets)


class UrlCredentialsConfig(BaseModel):
    model_config = _STRICT
    mask: str = Field("***", description="The replacement of passwords and secret query parameters.")
    max_string_length: int = Field(65_536, ge=1, description="Longest string scanned (the rest is cut).")


class FieldBlockerConfig(BaseModel):
    model_config = _STRICT
    blocked: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("blocked", "blocked_fields"),
        description="Field names removed or replaced wherever they appear.",
    )
    allowed: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("allowed", "allowed_fields"),
        description="Field names never blocked.",
    )
    replacement: str | None = Field("[REDACTED]", description="The replacement value; null removes the field.")


class StringTruncateConfig(BaseModel):
    model_config = _STRICT
    max_length: int = Field(
        8_192,
        ge=1,
        validation_alias=AliasChoices("max_length", "max_string_length"),
        description="Longest string kept whole.",
    )
    max_total_bytes: int | None = Field(None, ge=1, description="Bound on all attributes together (bytes).")
    marker: str = Field("...[truncated]", description="Appended where a string was cut.")


class RedactorConfig(BaseModel):
    """Options of the redactor stages (``core.redactors`` chooses which run)."""

    model_config = _STRICT
    field_mask: FieldMaskConfig = FieldMaskConfig()
    regex_mask: RegexMaskConfig = RegexMaskConfig()
    url_credentials: UrlCredentialsConfig = UrlCredentialsConfig()
    field_blocker: FieldBlockerConfig = FieldBlockerConfig()
    string_truncate: StringTruncateConfig = StringTruncateConfig()
