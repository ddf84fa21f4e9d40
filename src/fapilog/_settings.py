"""Settings from arguments, the environment (``FAPILOG_*``, ``__`` for nesting) and presets.

Precedence, highest first: arguments to ``Settings(...)``, environment variables, the chosen preset, the
defaults below. Every field here changes behaviour; an invalid value fails when the settings are built,
with a message naming the environment variable that sets it.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as _SourceError

from fapilog._levels import level_for
from fapilog._safe_repr import UrlSafeRepr
from fapilog._stage_settings import FilterConfig, RedactorConfig
from fapilog._units import parse_size
from fapilog.exporters.cloudwatch import CloudWatchSettings
from fapilog.exporters.file import FileSettings
from fapilog.exporters.http import HttpSettings, WebhookSettings
from fapilog.exporters.loki import LokiSettings
from fapilog.exporters.postgres import PostgresSettings
from fapilog.exporters.spool import SpoolSettings

__all__ = ["CoreSettings", "Settings", "SettingsError", "effective_policy"]

ENV_PREFIX = "FAPILOG_"

ByteSize = Annotated[int, BeforeValidator(parse_size), Field(ge=1)]


class SettingsError(ValueError):
    """Invalid settings, with the environment variable of each bad field named."""


def env_name(loc: tuple[Any, ...]) -> str:
    """The environment variable that sets the field at ``loc`` (e.g. ``FAPILOG_CORE__LOG_LEVEL``)."""
    parts = [str(p).upper() for p in loc if not isinstance(p, int)]
    return ENV_PREFIX + "__".join(parts)


class CoreSettings(BaseModel):
    """The pipeline: levels, queue, backpressure, worker, shutdown, exceptions, diagnostics."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    log_level: str = Field("INFO", description="Lowest level that is logged (DEBUG, INFO, ..., or a custom one).")
    max_queue_size: int = Field(10_000, ge=1, description="Records the queue holds (including the batch in flight).")
    max_queue_bytes: ByteSize = Field(
        64 * 1024 * 1024, description="Estimated bytes the queue holds ('64 MiB', '100 MB' or a number)."
    )
    protected_queue_size: int = Field(
        10_000, ge=0, description="Extra records beyond max_queue_size that protected levels may use."
    )
    batch_max_size: int = Field(256, ge=1, description="Records the worker hands to exporters at once.")
    batch_timeout_seconds: float = Field(
        0.25, ge=0, description="Longest a record waits for its batch to fill (0: wake the worker at once)."
    )
    drop_on_full: bool = Field(
        True, description="When the queue is full: drop (True) or wait up to backpressure_wait_ms (False)."
    )
    backpressure_policy: Literal["drop_newest", "drop_oldest", "block", "spill"] | None = Field(
        None,
        description="Explicit policy; overrides drop_on_full (True = drop_newest, False = block). 'spill' "
        "writes the record to the disk spool (needs spool.enabled; the default policy while it is on).",
    )
    backpressure_wait_ms: int = Field(50, ge=0, description="How long 'block' waits for room before dropping.")
    protected_levels: list[str] = Field(
        default_factory=lambda: ["ERROR", "CRITICAL", "AUDIT", "SECURITY"],
        description="Levels never dropped by policy: every record at or above the lowest of them.",
    )
    shutdown_timeout_seconds: float = Field(3.0, gt=0, description="Deadline for drain() and runtime() exit.")
    exporter_stall_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="With several exporters: how long the worker waits for one whose queue of batches is full "
        "before counting its batches failed (until it catches up), so that the others go on.",
    )
    atexit_drain_enabled: bool = Field(True, description="Drain every pipeline when the interpreter exits.")
    atexit_drain_timeout_seconds: float = Field(2.0, gt=0, description="Deadline for the drain at exit.")
    exceptions_enabled: bool = Field(True, description="Attach exception type, message and stack to records.")
    exceptions_max_frames: int = Field(10, ge=1, description="Frames kept per exception (the innermost).")
    exceptions_max_stack_chars: int = Field(20_000, ge=100, description="Characters kept of a stack trace.")
    default_bound_context: dict[str, Any] = Field(
        default_factory=dict, description="Context fields every record carries (overridden by bound context)."
    )
    emit_drop_summary: bool = Field(True, description="Log a WARNING summary record after records were dropped.")
    drop_summary_window_seconds: float = Field(60.0, gt=0, description="At most one drop summary per window.")
    internal_logging_enabled: bool = Field(False, description="Write fapilog's own warnings (diagnostics).")
    diagnostics_output: Literal["stderr", "stdout"] = Field("stderr", description="Where diagnostics go.")
    serialize_in_flush: bool = Field(
        True, description="Serialize each batch once for sinks that have write_serialized (else write(entry))."
    )
    enrichers: list[str] = Field(
        default_factory=lambda: ["runtime_info", "context_vars"],
        description="Enricher stages by name, in order (built-in: runtime_info, context_vars, kubernetes).",
    )
    filters: list[str] = Field(
        default_factory=list,
        description="Filter stages by name, in order, after the enrichers (configured in filter_config).",
    )
    processors: list[str] = Field(
        default_factory=list, description="Processor stages by name (plugins), after the filters."
    )
    redactors: list[str] = Field(
        default_factory=lambda: ["url_credentials"],
        description="Redactor stages by name, last of all (configured in redactor_config).",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        return level_for(value).name

    @field_validator("protected_levels")
    @classmethod
    def _known_levels(cls, value: list[str]) -> list[str]:
        return [level_for(v).name for v in value]

    @property
    def policy(self) -> str:
        """The backpressure policy in force."""
        if self.backpressure_policy is not None:
            return self.backpressure_policy
        return "drop_newest" if self.drop_on_full else "block"


SinkSpec = str | dict[str, Any]


class RoutingRule(BaseModel):
    """Records at these levels go to these sinks."""

    model_config = ConfigDict(extra="forbid")

    levels: list[str] = Field(description="Level names this rule matches.")
    sinks: list[str] = Field(description="Sink names (types) the matching records go to.")

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, value: list[str]) -> list[str]:
        return [level_for(v).name for v in value]


class SinkRoutingSettings(BaseModel):
    """Route records to sinks by level."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(False, description="Route by the rules below instead of sending every record everywhere.")
    rules: list[RoutingRule] = Field(default_factory=list, description="Rules, as JSON in the environment.")
    overlap: bool = Field(True, description="A record goes to every matching rule (False: the first only).")
    fallback_sinks: list[str] = Field(default_factory=list, description="Sinks for records no rule matches.")


class PluginSettings(BaseModel):
    """Which plugins (entry points of other packages) may be loaded by name."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = Field(True, description="Look names up among installed plugins at all.")
    allow_external: bool = Field(False, description="Allow every plugin from packages other than fapilog.")
    allowlist: list[str] = Field(default_factory=list, description="Plugin names allowed from other packages.")
    denylist: list[str] = Field(default_factory=list, description="Plugin names never loaded.")


_preset: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("fapilog_preset", default=None)


class Settings(UrlSafeRepr, BaseSettings):
    """All of fapilog's settings. ``Settings()`` reads the environment when it is called."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    service: str | None = Field(None, description="service.name of the resource (else OTEL_SERVICE_NAME).")
    env: str | None = Field(None, description="deployment.environment.name of the resource.")
    version: str | None = Field(None, description="service.version of the resource.")
    format: Literal["auto", "json", "pretty"] = Field(
        "auto", description="Console rendering when no sinks are given: auto = pretty on a TTY, else JSON."
    )
    core: CoreSettings = CoreSettings()
    sinks: list[SinkSpec] = Field(
        default_factory=list,
        description='Exporters, by name ("stdout_json") or as {"type": name, ...options}; empty = console.',
    )
    file: FileSettings = FileSettings()
    http: HttpSettings = HttpSettings()
    webhook: WebhookSettings = WebhookSettings()
    loki: LokiSettings = LokiSettings()
    postgres: PostgresSettings = PostgresSettings()
    cloudwatch: CloudWatchSettings = CloudWatchSettings()
    spool: SpoolSettings = SpoolSettings()
    filter_config: FilterConfig = FilterConfig()
    redactor_config: RedactorConfig = RedactorConfig()
    sink_routing: SinkRoutingSettings = SinkRoutingSettings()
    plugins: PluginSettings = PluginSettings()

    def __init__(self, **values: Any) -> None:
        _refuse_unknown_variables()
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None
        except _SourceError as exc:  # a value that is not valid JSON where JSON is expected
            raise SettingsError(_describe_source_error(exc)) from None

    @field_validator("sinks")
    @classmethod
    def _sink_types(cls, value: list[SinkSpec]) -> list[SinkSpec]:
        for spec in value:
            if isinstance(spec, dict) and not isinstance(spec.get("type"), str):
                raise ValueError(f'each sink given as a dict needs a "type" name, got {spec!r}')
        return value

    @field_validator("spool")
    @classmethod
    def _spill_needs_the_spool(cls, value: SpoolSettings, info: ValidationInfo) -> SpoolSettings:
        core = info.data.get("core")
        if core is not None and core.backpressure_policy == "spill" and not value.enabled:
            raise ValueError(
                "FAPILOG_CORE__BACKPRESSURE_POLICY=spill needs the disk spool: set FAPILOG_SPOOL__ENABLED=true "
                "(spool.enabled) or choose another policy"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        preset = _preset.get()
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if preset:
            sources += (InitSettingsSource(settings_cls, init_kwargs=preset),)
        return sources


# Fields whose values may be credentials: an error names them but never shows what was given.
_SECRET_FIELD = re.compile(r"password|secret|token|dsn|headers|authorization|api_?key|cookie", re.IGNORECASE)


def effective_policy(settings: Settings) -> str:
    """The backpressure policy in force: ``core.policy``, except that with the spool on and no explicit
    policy a full queue spills to disk."""
    core = settings.core
    if core.backpressure_policy is None and settings.spool.enabled:
        return "spill"
    return core.policy


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        where = ".".join(str(p) for p in loc) or "settings"
        given = "a value (hidden: a secret)" if _SECRET_FIELD.search(where) else repr(err.get("input"))
        lines.append(f"{where} (env {env_name(loc)}): {err.get('msg')}; got {given}")
    return "invalid fapilog settings:\n  " + "\n  ".join(lines)


# Variables fapilog's own test suite reads; not settings.
_NOT_SETTINGS = ("FAPILOG_TEST_", "FAPILOG_REQUIRE_SERVICES")


def _refuse_unknown_variables() -> None:
    """Fail on a ``FAPILOG_*`` variable that names no setting (a typo, or a section this version lacks)."""
    fields = {name.upper() for name in Settings.model_fields}
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(_NOT_SETTINGS):
            continue
        head = upper[len(ENV_PREFIX) :].split("__", 1)[0]
        if head not in fields:
            known = ", ".join(sorted(ENV_PREFIX + f for f in fields))
            raise SettingsError(f"unknown fapilog setting in the environment: {name} (settings: {known}, ...)")


def _describe_source_error(exc: Exception) -> str:
    match = re.search(r'field "([^"]+)"', str(exc))
    prefix = ENV_PREFIX + (match.group(1).upper() if match else "")
    culprits = []
    for name, value in os.environ.items():
        if name.upper().startswith(prefix) and value.strip()[:1] in ("[", "{"):
            try:
                json.loads(value)
            except ValueError:
                culprits.append(name)
    where = ", ".join(sorted(culprits)) or f"{prefix}*"
    return f"invalid fapilog settings:\n  env {where}: not valid JSON ({exc})"


@contextmanager
def preset_defaults(values: dict[str, Any] | None) -> Iterator[None]:
    """Within the block, ``Settings()`` uses ``values`` below the environment and arguments."""
    token = _preset.set(values)
    try:
        yield
    finally:
        _preset.reset(token)
