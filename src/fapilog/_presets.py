"""Presets: named bundles of settings, applied below the environment and explicit arguments."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fapilog._settings import Settings, preset_defaults

__all__ = ["PRESETS", "Preset", "list_presets", "settings_for_preset"]


def _redaction(*presets: str) -> dict[str, Any]:
    """Field and value-pattern masking for the named redaction presets, plus URL credentials."""
    return {
        "field_mask": {"presets": list(presets)},
        "regex_mask": {"presets": list(presets)},
    }


_REDACTORS = ["field_mask", "regex_mask", "url_credentials"]


_PRODUCTION: dict[str, Any] = {
    "format": "json",
    "redactor_config": _redaction("credentials"),
    "core": {
        "redactors": _REDACTORS,
        "log_level": "INFO",
        "max_queue_size": 100_000,
        "max_queue_bytes": 256 * 1024 * 1024,
        "drop_on_full": False,
        "backpressure_wait_ms": 250,
    },
}


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    description: str
    values: dict[str, Any]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "dev",
            "Local development: DEBUG, pretty console, every record shown at once, a full queue waits "
            "(up to 50 ms) instead of dropping, no redaction, fapilog's own warnings on.",
            {
                "format": "pretty",
                "core": {
                    "redactors": [],
                    "log_level": "DEBUG",
                    "batch_timeout_seconds": 0.0,
                    "drop_on_full": False,
                    "internal_logging_enabled": True,
                },
            },
        ),
        Preset(
            "production",
            "Services: INFO, JSON, credentials masked (fields and values), a queue that absorbs bursts of "
            "100,000 records; when it is full a caller waits up to 250 ms for room before the record is dropped "
            "(and counted). FAPILOG_SPOOL__ENABLED=true adds the disk spool (and a full queue spills to it).",
            _PRODUCTION,
        ),
        Preset(
            "fastapi",
            "FastAPI services: the production preset with a shorter batch delay.",
            {**_PRODUCTION, "core": {**_PRODUCTION["core"], "batch_timeout_seconds": 0.1}},
        ),
        Preset(
            "serverless",
            "Lambda and Cloud Functions: INFO, JSON, credentials masked, small batches flushed fast, a small "
            "queue that drops rather than stall an invocation.",
            {
                "format": "json",
                "redactor_config": _redaction("credentials"),
                "core": {
                    "redactors": _REDACTORS,
                    "log_level": "INFO",
                    "max_queue_size": 1_000,
                    "batch_max_size": 10,
                    "batch_timeout_seconds": 0.1,
                    "drop_on_full": True,
                    "shutdown_timeout_seconds": 1.0,
                    "atexit_drain_timeout_seconds": 1.0,
                },
            },
        ),
        Preset(
            "hardened",
            "Regulated environments: INFO, JSON, credentials, card data (PCI DSS) and health data (HIPAA PHI) "
            "masked, a 100,000-record queue, and the disk spool: every exporter's records are fsynced to disk "
            "before delivery (every batch), a full queue spills to disk, and a full spool makes callers wait "
            "up to 5 s for room before a batch is refused (and counted).",
            {
                "format": "json",
                "redactor_config": _redaction("credentials", "pci_dss", "hipaa_phi"),
                "core": {
                    "redactors": _REDACTORS,
                    "log_level": "INFO",
                    "max_queue_size": 100_000,
                    "max_queue_bytes": 256 * 1024 * 1024,
                    "backpressure_policy": "spill",
                    "shutdown_timeout_seconds": 10.0,
                    "atexit_drain_timeout_seconds": 10.0,
                },
                "spool": {
                    "enabled": True,
                    "fsync": "batch",
                    "max_bytes": 1024 * 1024 * 1024,
                    "overflow": "block",
                    "block_timeout_ms": 5_000,
                },
            },
        ),
        Preset("minimal", "The defaults, unchanged: a starting point when migrating from another logger.", {}),
    )
}


def list_presets() -> list[str]:
    """The names of the presets, sorted. ``describe_preset(name)`` says what each one sets."""
    return sorted(PRESETS)


def describe_preset(name: str) -> Preset:
    """The preset called ``name``."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}") from None


def settings_for_preset(name: str | None, overrides: dict[str, Any] | None = None) -> Settings:
    """``Settings`` with the preset ``name`` (and ``overrides``) under the environment."""
    values = copy.deepcopy(describe_preset(name).values) if name else {}
    if overrides:
        values = _merge(values, overrides)
    with preset_defaults(values):
        return Settings()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
