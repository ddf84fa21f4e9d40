"""Plugins: fapilog parts found by name among installed entry points.

Groups: ``fapilog.sinks``, ``fapilog.enrichers``, ``fapilog.redactors``, ``fapilog.filters``,
``fapilog.processors``. fapilog's own entry points always load; those of other packages load only when
``plugins.allow_external`` is on or their name is in ``plugins.allowlist``, and never when it is in
``plugins.denylist``. A plugin that is refused, missing or broken fails start-up with its name; nothing is
skipped silently.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from fapilog._settings import PluginSettings

__all__ = ["GROUPS", "PluginError", "available", "load_plugin"]

GROUPS = ("fapilog.sinks", "fapilog.enrichers", "fapilog.redactors", "fapilog.filters", "fapilog.processors")


class PluginError(ValueError):
    """A plugin named in settings cannot be used; the message says which and why."""


def available(group: str) -> list[EntryPoint]:
    """The entry points installed in ``group``."""
    return list(entry_points(group=group))


def _is_own(ep: EntryPoint) -> bool:
    return ep.dist is not None and ep.dist.name.lower() == "fapilog"


def load_plugin(group: str, name: str, policy: PluginSettings) -> Any:
    """The object the entry point ``name`` of ``group`` names, if the policy allows it."""
    if not policy.enabled:
        raise PluginError(f"{group} plugin {name!r}: plugins are disabled (plugins.enabled=false)")
    if name in policy.denylist:
        raise PluginError(f"{group} plugin {name!r} is in plugins.denylist")
    matches = [ep for ep in available(group) if ep.name == name]
    if not matches:
        known = sorted(ep.name for ep in available(group))
        raise PluginError(f"unknown {group} plugin {name!r}; installed: {', '.join(known) or 'none'}")
    ep = next((m for m in matches if _is_own(m)), matches[0])
    if not _is_own(ep) and not (policy.allow_external or name in policy.allowlist):
        dist = ep.dist.name if ep.dist is not None else "an unknown package"
        raise PluginError(
            f"{group} plugin {name!r} comes from {dist}; allow it with plugins.allowlist=[{name!r}] "
            "or plugins.allow_external=true"
        )
    try:
        return ep.load()
    except Exception as exc:
        raise PluginError(f"{group} plugin {name!r} ({ep.value}) failed to load: {exc!r}") from exc
