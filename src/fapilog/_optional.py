"""Optional dependencies, imported only when a feature that needs them is used."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingDependencyError", "require"]


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


def require(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module``, or fail with the exact ``pip install`` that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or f"fapilog[{extra}]"
        raise MissingDependencyError(
            f'{what} needs the optional dependency {module!r}: pip install "fapilog[{extra}]"'
        ) from exc
