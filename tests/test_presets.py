"""Presets: named bundles of settings below the environment and explicit arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import fapilog
from fapilog import Settings, describe_preset, list_presets
from fapilog._presets import settings_for_preset


def _defaults() -> Settings:
    """Settings() with no FAPILOG_* variables (conftest clears them around every test)."""
    return Settings()


def _leaves(values: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _get(settings: Settings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for part in path:
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def test_the_documented_presets_exist_and_are_listed_sorted() -> None:
    """list_presets() names at least dev, production, serverless, hardened and minimal, sorted."""
    names = list_presets()
    assert {"dev", "production", "serverless", "hardened", "minimal"} <= set(names)
    assert names == sorted(names)
    assert fapilog.list_presets is list_presets


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_builds_valid_settings_with_exactly_its_values(name: str) -> None:
    """Each preset builds Settings in which every value it sets is in force and has a description."""
    preset = describe_preset(name)
    assert preset.name == name
    assert preset.description
    settings = settings_for_preset(name)
    assert isinstance(settings, Settings)
    for path, value in _leaves(preset.values):
        assert _get(settings, path) == value, path


@pytest.mark.parametrize("name", list_presets())
def test_a_preset_changes_nothing_it_does_not_set(name: str) -> None:
    """Fields a preset does not mention keep their defaults."""
    set_by_preset = {path for path, _ in _leaves(describe_preset(name).values)}
    built = settings_for_preset(name)
    for path, default in _leaves(_defaults().model_dump()):
        if path not in set_by_preset:
            assert _get(built, path) == default, path


def test_dev_is_debug_pretty_immediate_and_lossless() -> None:
    """dev: DEBUG, pretty console, no batch delay, waits instead of dropping, fapilog's own warnings on."""
    settings = settings_for_preset("dev")
    assert (settings.core.log_level, settings.format) == ("DEBUG", "pretty")
    assert settings.core.batch_timeout_seconds == 0
    assert settings.core.policy == "block"
    assert settings.core.internal_logging_enabled is True
    assert "DEBUG" in describe_preset("dev").description


def test_production_absorbs_bursts_and_blocks_when_full() -> None:
    """production: INFO, JSON, a 100,000-record queue, and the block policy (backpressure, not drops)."""
    settings = settings_for_preset("production")
    assert (settings.core.log_level, settings.format) == ("INFO", "json")
    assert settings.core.max_queue_size == 100_000
    assert settings.core.policy == "block"
    assert "100,000" in describe_preset("production").description


def test_serverless_has_a_small_queue_that_drops_and_flushes_fast() -> None:
    """serverless: a queue smaller than the default, drop_newest when full, short shutdown deadlines."""
    settings = settings_for_preset("serverless")
    assert settings.core.max_queue_size < _defaults().core.max_queue_size
    assert settings.core.policy == "drop_newest"
    assert settings.core.batch_timeout_seconds < _defaults().core.batch_timeout_seconds
    assert settings.core.shutdown_timeout_seconds < _defaults().core.shutdown_timeout_seconds
    assert settings.core.atexit_drain_timeout_seconds < _defaults().core.atexit_drain_timeout_seconds


def test_hardened_spools_to_disk_and_waits_five_seconds() -> None:
    """hardened: the disk spool (fsync every batch, a full queue spills, a full spool waits 5 s), longer drains."""
    settings = settings_for_preset("hardened")
    assert settings.core.policy == "spill"
    assert (settings.spool.enabled, settings.spool.fsync, settings.spool.overflow) == (True, "batch", "block")
    assert settings.spool.block_timeout_ms == 5_000
    assert settings.core.shutdown_timeout_seconds > _defaults().core.shutdown_timeout_seconds
    assert "5 s" in describe_preset("hardened").description


def test_production_turns_the_spool_on_with_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """production plus FAPILOG_SPOOL__ENABLED=true: exporters spooled and a full queue spilling to disk."""
    from fapilog._settings import effective_policy

    assert effective_policy(settings_for_preset("production")) == "block"
    monkeypatch.setenv("FAPILOG_SPOOL__ENABLED", "true")
    settings = settings_for_preset("production")
    assert settings.spool.enabled
    assert effective_policy(settings) == "spill"
    assert "FAPILOG_SPOOL__ENABLED=true" in describe_preset("production").description


def test_minimal_is_the_defaults() -> None:
    """minimal sets nothing: the built settings equal Settings() and settings_for_preset(None)."""
    assert describe_preset("minimal").values == {}
    assert settings_for_preset("minimal").model_dump() == _defaults().model_dump()
    assert settings_for_preset(None).model_dump() == _defaults().model_dump()


def test_describe_preset_of_an_unknown_name_lists_the_presets() -> None:
    """An unknown preset raises ValueError quoting it and naming every preset."""
    with pytest.raises(ValueError, match="'prod'") as info:
        describe_preset("prod")
    for name in list_presets():
        assert name in str(info.value)
    with pytest.raises(ValueError, match="'prod'"):
        settings_for_preset("prod")


def test_environment_overrides_a_preset_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment variable beats the preset for its field only; the preset's other values stay."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "500")
    monkeypatch.setenv("FAPILOG_FORMAT", "pretty")
    settings = settings_for_preset("production")
    assert settings.core.max_queue_size == 500
    assert settings.format == "pretty"
    assert settings.core.policy == "block"
    assert settings.core.backpressure_wait_ms == 250


def test_overrides_merge_into_the_preset_below_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings_for_preset's overrides replace preset fields they name, and the environment still wins."""
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "ERROR")
    settings = settings_for_preset("production", {"core": {"batch_max_size": 7, "log_level": "DEBUG"}})
    assert settings.core.batch_max_size == 7
    assert settings.core.max_queue_size == 100_000
    assert settings.core.log_level == "ERROR"


def test_building_a_preset_leaves_it_and_later_settings_untouched() -> None:
    """Building with overrides does not change the preset's values, and Settings() afterwards is the default."""
    before = repr(describe_preset("hardened").values)
    settings_for_preset("hardened", {"core": {"max_queue_size": 3}})
    assert repr(describe_preset("hardened").values) == before
    assert Settings().model_dump() == _defaults().model_dump()


def test_an_invalid_preset_override_fails_like_any_setting() -> None:
    """A bad value given through a preset is a SettingsError naming the variable for that field."""
    with pytest.raises(fapilog.SettingsError, match="FAPILOG_CORE__MAX_QUEUE_SIZE"):
        settings_for_preset("dev", {"core": {"max_queue_size": -1}})


def test_presets_redact_what_they_promise() -> None:
    """production masks credentials; hardened also card numbers and health data; dev masks nothing."""
    from fapilog import get_logger
    from fapilog.testing import CaptureExporter

    card = "4111 1111 1111 1111"
    seen = {}
    for name in ("dev", "production", "hardened", "minimal"):
        exporter = CaptureExporter()
        logger = get_logger(f"redact-{name}", preset=name, sinks=[exporter], reuse=False)
        logger.info(
            "signup", password="hunter2", card=card, ssn="123-45-6789", url="https://u:pw@db.local/x", author="ann"
        )
        logger.drain()
        seen[name] = exporter.envelopes()[0]["log"]["data"]
    assert seen["dev"]["password"] == "hunter2"
    assert seen["dev"]["url"] == "https://u:pw@db.local/x"
    assert seen["minimal"]["password"] == "hunter2"  # only URL credentials by default
    assert seen["minimal"]["url"] == "https://u:***@db.local/x"
    assert seen["production"]["password"] == "***"
    assert seen["production"]["card"] == card
    assert seen["hardened"]["card"] == "***"
    assert seen["hardened"]["ssn"] == "***"
    assert all(data["author"] == "ann" for data in seen.values())
