"""Plugins: stages and sinks found by name among installed entry points, behind an allowlist."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapilog import Settings, get_logger
from fapilog._plugins import PluginError
from fapilog.testing import CaptureExporter


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed third-party distribution, acme-logging, with fapilog entry points (a real dist-info)."""
    (tmp_path / "acme_logging.py").write_text(
        textwrap.dedent(
            """
            from fapilog.processors import Stage

            class Stamp(Stage):
                name = "acme_stamp"
                def process(self, record):
                    record.log_record.attributes = {**(record.log_record.attributes or {}), "stamped": True}
                    return True

            class DropAll(Stage):
                name = "acme_drop"
                def process(self, record):
                    return False
            """
        )
    )
    (tmp_path / "acme_broken.py").write_text("raise RuntimeError('acme is broken')\n")
    info = tmp_path / "acme_logging-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-logging\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[fapilog.enrichers]\nacme_stamp = acme_logging:Stamp\nacme_broken = acme_broken:Thing\n"
        "[fapilog.filters]\nacme_drop = acme_logging:DropAll\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("acme_logging", "acme_broken"):
        sys.modules.pop(name, None)


def test_external_plugin_is_refused_unless_allowed(acme: Path) -> None:
    """A third-party plugin fails start-up, naming itself and the setting that would allow it."""
    with pytest.raises(PluginError, match=r"acme_stamp.*acme-logging.*plugins.allowlist"):
        get_logger("p", settings=Settings(core={"enrichers": ["acme_stamp"]}))


def test_allowlisted_plugin_runs(acme: Path) -> None:
    """With the plugin's name in plugins.allowlist it is loaded and runs as a stage."""
    exporter = CaptureExporter()
    settings = Settings(core={"enrichers": ["acme_stamp"]}, plugins={"allowlist": ["acme_stamp"]})
    logger = get_logger("p", settings=settings, sinks=[exporter])
    logger.info("x")
    logger.drain()
    assert exporter.envelopes()[0]["log"]["data"] == {"stamped": True}


def test_allow_external_and_denylist(acme: Path) -> None:
    """allow_external admits every plugin except those in the denylist."""
    exporter = CaptureExporter()
    settings = Settings(core={"filters": ["acme_drop"]}, plugins={"allow_external": True})
    logger = get_logger("p", settings=settings, sinks=[exporter])
    logger.info("dropped by the plugin")
    logger.drain()
    assert exporter.records == []
    denied = Settings(core={"filters": ["acme_drop"]}, plugins={"allow_external": True, "denylist": ["acme_drop"]})
    with pytest.raises(PluginError, match="denylist"):
        get_logger("p2", settings=denied)


def test_broken_plugin_is_reported_with_its_name(acme: Path) -> None:
    """A plugin whose module fails to import fails start-up with its name and the error."""
    settings = Settings(core={"enrichers": ["acme_broken"]}, plugins={"allow_external": True})
    with pytest.raises(PluginError, match=r"acme_broken.*failed to load.*acme is broken"):
        get_logger("p", settings=settings)


def test_unknown_name_lists_what_exists() -> None:
    """An unknown stage name fails, listing the built-in ones."""
    with pytest.raises(PluginError, match=r"unknown fapilog.enrichers plugin 'nope'.*runtime_info"):
        get_logger("p", settings=Settings(core={"enrichers": ["nope"]}))


def test_plugins_can_be_disabled(acme: Path) -> None:
    """plugins.enabled=false refuses every plugin name (built-ins still work)."""
    settings = Settings(core={"enrichers": ["acme_stamp"]}, plugins={"enabled": False, "allow_external": True})
    with pytest.raises(PluginError, match="plugins are disabled"):
        get_logger("p", settings=settings)
