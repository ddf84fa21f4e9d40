"""Keep the bridge attached through ``logging.basicConfig``, ``dictConfig`` and ``fileConfig``.

Under ``opentelemetry-instrument`` the bridge is on the root logger before the application configures
logging. ``basicConfig`` does nothing when root already has a handler, and ``dictConfig``/``fileConfig``
remove root's handlers. So each of them runs with the bridge taken off root, and the bridge is put back
afterwards: the application's configuration (its handlers, its levels) applies as written, and records still
reach fapilog. Only the opentelemetry-instrument configurator does this (it patches the three functions;
``restore`` puts the originals back).
"""

from __future__ import annotations

import functools
import logging
import logging.config
from collections.abc import Callable
from typing import Any

__all__ = ["keep_attached", "restore"]

_originals: dict[str, Callable[..., Any]] = {}


def _wrap(func: Callable[..., Any], handler: logging.Handler) -> Callable[..., Any]:
    @functools.wraps(func)
    def configure_logging(*args: Any, **kwargs: Any) -> Any:
        root = logging.getLogger()
        attached = handler in root.handlers
        if attached:
            root.removeHandler(handler)
        try:
            return func(*args, **kwargs)
        finally:
            if attached and handler not in root.handlers:
                root.addHandler(handler)

    return configure_logging


def keep_attached(handler: logging.Handler) -> None:
    """Make the three logging configuration functions keep ``handler`` on root (idempotent)."""
    targets: list[tuple[Any, str]] = [
        (logging, "basicConfig"),
        (logging.config, "dictConfig"),
        (logging.config, "fileConfig"),
    ]
    for owner, name in targets:
        key = f"{owner.__name__}.{name}"
        original = _originals.setdefault(key, getattr(owner, name))
        setattr(owner, name, _wrap(original, handler))


def restore() -> None:
    """Put the original configuration functions back."""
    for key, original in _originals.items():
        module, _, name = key.rpartition(".")
        setattr(logging if module == "logging" else logging.config, name, original)
    _originals.clear()
