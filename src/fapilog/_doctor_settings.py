"""``fapilog doctor``, part one: the effective settings, where each value came from, secrets masked.

Settings are built as ``get_logger`` builds them (explicit values over ``FAPILOG_*`` variables over a preset,
or the detected environment's suggestions, over the defaults); the provenance of each leaf is worked out
here from the same inputs, without asking ``Settings`` for anything but its fields.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from fapilog._environment import detect_environment, environment_overrides
from fapilog._presets import describe_preset
from fapilog._settings import _NOT_SETTINGS, ENV_PREFIX, Settings, preset_defaults
from fapilog.processors._redact_urls import mask_userinfo

__all__ = ["MASK", "Layers", "SettingRow", "dotenv_notes", "effective_settings", "mask", "parse_assignment", "rows"]

MASK = "**********"
_SENSITIVE_KEY = re.compile(r"pass(word)?|secret|token|api[-_]?key|authorization|cookie|credential|dsn", re.I)

Path_ = tuple[str, ...]


# How each source is named in the report, with the row's origin ("env FAPILOG_CORE__LOG_LEVEL").
_SOURCE_LABELS = {
    "explicit": "explicit (--set)",
    "env": "env {}",
    "preset": "preset {}",
    "environment": "detected environment {}",
    "default": "default",
}


@dataclass(frozen=True, slots=True)
class Layers:
    """What the settings are built from, highest precedence first, besides the environment."""

    explicit: dict[str, Any]
    below: dict[str, Any]  # the preset's values, or the detected environment's suggestions
    below_source: str  # "preset" or "environment"
    below_name: str  # the preset's or the environment's name: "production", "ci", ...

    @property
    def below_label(self) -> str:
        """``preset production``, ``detected environment ci``, ..."""
        return _SOURCE_LABELS[self.below_source].format(self.below_name)


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One leaf setting: its dotted path, its value as shown (secrets masked), where it came from."""

    path: str
    value: Any
    source: str  # explicit | env | preset | environment | default
    origin: str  # "--set", "FAPILOG_CORE__LOG_LEVEL", "production", "ci", ""

    @property
    def is_default(self) -> bool:
        return self.source == "default"

    def describe(self) -> str:
        return _SOURCE_LABELS[self.source].format(self.origin)


def parse_assignment(text: str) -> tuple[Path_, Any]:
    """``core.log_level=DEBUG`` as ``(("core", "log_level"), "DEBUG")``; the value is JSON when it parses."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set needs KEY=VALUE (e.g. core.log_level=DEBUG), got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return tuple(part.strip() for part in key.split(".")), value


def _nest(items: list[tuple[Path_, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in items:
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def effective_settings(
    *, preset: str | None, environment: str | None, assignments: list[str]
) -> tuple[Settings, Layers]:
    """The ``Settings`` that ``get_logger(preset=...)`` (or ``get_logger()``) would use, and its layers.

    Raises ``SettingsError`` (a ``ValueError``) for invalid settings, ``ValueError`` for an unknown preset.
    """
    if preset is not None and environment is not None:
        raise ValueError("give either --preset or --environment, not both (get_logger refuses both too)")
    explicit = _nest([parse_assignment(a) for a in assignments])
    if preset is not None:
        layers = Layers(explicit, copy.deepcopy(describe_preset(preset).values), "preset", preset)
    else:
        name = environment or detect_environment()
        layers = Layers(explicit, copy.deepcopy(environment_overrides(name)), "environment", name)
    with preset_defaults(layers.below):
        settings = Settings(**explicit)
    return settings, layers


def _leaves(values: Mapping[str, Any], prefix: Path_ = ()) -> Iterator[Path_]:
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _env_paths() -> dict[Path_, str]:
    """Each ``FAPILOG_*`` setting variable as the path it sets (``core.log_level``) -> its name."""
    found: dict[Path_, str] = {}
    for name, raw in os.environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(_NOT_SETTINGS):
            continue
        path = tuple(upper[len(ENV_PREFIX) :].lower().split("__"))
        try:
            parsed = json.loads(raw) if raw.lstrip().startswith("{") else None
        except ValueError:
            parsed = None
        # A section given as a JSON object sets only the fields it names; the rest keep their lower layers.
        for leaf in _leaves(parsed, path) if isinstance(parsed, dict) and parsed else [path]:
            found[leaf] = name
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))  # the most specific first


def _covers(a: Path_, b: Path_) -> bool:
    """One path is the other or lies under it (a section set as JSON covers its fields)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def rows(settings: Settings, layers: Layers) -> list[SettingRow]:
    """Every leaf of ``settings`` with its shown value and its source."""
    explicit = list(_leaves(layers.explicit))
    env = _env_paths()
    below = list(_leaves(layers.below))
    out: list[SettingRow] = []
    for path, value in _walk(settings):
        dotted = ".".join(path)
        if any(_covers(path, p) for p in explicit):
            row = SettingRow(dotted, mask(value), "explicit", "--set")
        elif (var := next((v for p, v in env.items() if _covers(path, p)), None)) is not None:
            row = SettingRow(dotted, mask(value), "env", var)
        elif any(_covers(path, p) for p in below):
            row = SettingRow(dotted, mask(value), layers.below_source, layers.below_name)
        elif dotted == "service" and value is None and os.environ.get("OTEL_SERVICE_NAME"):
            row = SettingRow(dotted, os.environ["OTEL_SERVICE_NAME"], "env", "OTEL_SERVICE_NAME")
        else:
            row = SettingRow(dotted, mask(value), "default", "")
        out.append(row)
    return out


def _walk(model: BaseModel, prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _walk(value, (*prefix, name))
        else:
            yield (*prefix, name), value


def mask(value: Any, key: str = "") -> Any:
    """``value`` as JSON-ready data to show: secrets, sensitive keys and URL passwords masked."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if value is not None and key and _SENSITIVE_KEY.search(key):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_userinfo(value, MASK)
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def dotenv_notes(directory: Path) -> list[str]:
    """Warnings about ``FAPILOG_*`` lines of ``directory/.env``: fapilog reads the process environment only."""
    path = directory / ".env"
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    notes = []
    for line in lines:
        name = line.strip().removeprefix("export ").split("=", 1)[0].strip()
        if name.upper().startswith(ENV_PREFIX) and "=" in line and name not in os.environ:
            notes.append(
                f"{path} sets {name}, but fapilog does not read .env files: export it, or load the file "
                "with your process manager (docker --env-file, systemd EnvironmentFile, ...)"
            )
    return notes
