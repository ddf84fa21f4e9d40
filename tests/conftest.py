"""Shared fixtures: fapilog's global state is reset around every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapilog import testing

REQUIRE_SERVICES = os.environ.get("FAPILOG_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip the test for a missing local service, or fail it when FAPILOG_REQUIRE_SERVICES=1 (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _reset_fapilog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith(("FAPILOG_", "OTEL_")) and not key.startswith(("FAPILOG_REQUIRE_", "FAPILOG_TEST_")):
            monkeypatch.delenv(key)
    # State a test leaves (a spool's default directory) goes to its own temporary directory, not ~/.local.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    testing.reset()
    yield
    testing.reset()


@pytest.fixture
def capture() -> testing.CaptureExporter:
    """An in-memory exporter."""
    return testing.CaptureExporter()
