"""Settings from arguments, FAPILOG_* environment variables and presets, with errors naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from fapilog import Settings, SettingsError
from fapilog._settings import preset_defaults


def test_defaults_without_environment() -> None:
    """With no FAPILOG_* variables, Settings() has the documented defaults."""
    settings = Settings()
    assert (settings.service, settings.env, settings.version, settings.format, settings.sinks) == (
        None,
        None,
        None,
        "auto",
        [],
    )
    assert settings.core.log_level == "INFO"
    assert settings.core.max_queue_size == 10_000
    assert settings.core.max_queue_bytes == 64 * 1024 * 1024
    assert settings.core.protected_levels == ["ERROR", "CRITICAL", "AUDIT", "SECURITY"]
    assert settings.core.policy == "drop_newest"


def test_environment_uses_the_prefix_and_double_underscore_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAPILOG_X sets a top-level field and FAPILOG_CORE__X a core field (values normalised)."""
    monkeypatch.setenv("FAPILOG_SERVICE", "billing")
    monkeypatch.setenv("FAPILOG_FORMAT", "json")
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "warn")
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "123")
    monkeypatch.setenv("FAPILOG_CORE__DROP_ON_FULL", "false")
    monkeypatch.setenv("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "0.5")
    settings = Settings()
    assert (settings.service, settings.format) == ("billing", "json")
    assert settings.core.log_level == "WARNING"
    assert settings.core.max_queue_size == 123
    assert settings.core.drop_on_full is False
    assert settings.core.batch_timeout_seconds == 0.5


def test_environment_is_read_when_settings_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Settings() reads the environment as it is at that moment."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "5")
    first = Settings()
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "6")
    assert (first.core.max_queue_size, Settings().core.max_queue_size) == (5, 6)


def test_json_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """List fields take JSON from the environment, top-level and nested."""
    monkeypatch.setenv("FAPILOG_SINKS", '["stdout_json", {"type": "loki", "url": "http://l"}]')
    monkeypatch.setenv("FAPILOG_CORE__PROTECTED_LEVELS", '["error", "FATAL"]')
    settings = Settings()
    assert settings.sinks == ["stdout_json", {"type": "loki", "url": "http://l"}]
    assert settings.core.protected_levels == ["ERROR", "CRITICAL"]


@pytest.mark.parametrize(("text", "expected"), [("10 MB", 10_000_000), ("64 MiB", 64 * 2**20), ("4096", 4096)])
def test_max_queue_bytes_takes_size_strings(monkeypatch: pytest.MonkeyPatch, text: str, expected: int) -> None:
    """max_queue_bytes accepts '10 MB' style sizes from the environment and from arguments."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_BYTES", text)
    assert Settings().core.max_queue_bytes == expected
    monkeypatch.delenv("FAPILOG_CORE__MAX_QUEUE_BYTES")
    assert Settings(core={"max_queue_bytes": text}).core.max_queue_bytes == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "abc"),
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "0"),
        ("FAPILOG_CORE__MAX_QUEUE_BYTES", "lots"),
        ("FAPILOG_CORE__MAX_QUEUE_BYTES", "0"),
        ("FAPILOG_CORE__LOG_LEVEL", "LOUD"),
        ("FAPILOG_CORE__DROP_ON_FULL", "maybe"),
        ("FAPILOG_CORE__BACKPRESSURE_POLICY", "sometimes"),
        ("FAPILOG_CORE__SHUTDOWN_TIMEOUT_SECONDS", "0"),
        ("FAPILOG_CORE__EXCEPTIONS_MAX_STACK_CHARS", "99"),
        ("FAPILOG_CORE__DIAGNOSTICS_OUTPUT", "syslog"),
        ("FAPILOG_FORMAT", "xml"),
    ],
)
def test_invalid_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """An invalid value raises fapilog.SettingsError (a ValueError) naming the variable and quoting the value."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        Settings()
    assert isinstance(info.value, ValueError)
    assert variable in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAPILOG_SINKS", "[not json"),
        ("FAPILOG_CORE__PROTECTED_LEVELS", '["ERROR"'),
        ("FAPILOG_CORE__MAX_QUEUE_BYTES", "9" * 400),
    ],
)
def test_unparseable_environment_values_also_raise_settings_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """Malformed JSON and numbers too large for a float fail the same way: SettingsError naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        Settings()


def test_unknown_level_in_protected_levels_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A protected level that does not exist is an error naming FAPILOG_CORE__PROTECTED_LEVELS and the level."""
    monkeypatch.setenv("FAPILOG_CORE__PROTECTED_LEVELS", '["ERROR", "NOPE"]')
    with pytest.raises(SettingsError, match="FAPILOG_CORE__PROTECTED_LEVELS") as info:
        Settings()
    assert "NOPE" in str(info.value)


def test_unknown_core_field_is_rejected_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt core field fails (from the environment and from arguments), naming the field."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZ", "5")
    with pytest.raises(SettingsError, match="FAPILOG_CORE__MAX_QUEUE_SIZ"):
        Settings()
    monkeypatch.delenv("FAPILOG_CORE__MAX_QUEUE_SIZ")
    with pytest.raises(SettingsError, match=r"core\.bogus"):
        Settings(core={"bogus": 1})
    with pytest.raises(SettingsError, match="bogus"):
        Settings(bogus=1)


def test_every_error_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two bad variables give one error naming both."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "x")
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError) as info:
        Settings()
    assert "FAPILOG_CORE__MAX_QUEUE_SIZE" in str(info.value)
    assert "FAPILOG_CORE__LOG_LEVEL" in str(info.value)


def test_seed_sink_dicts_are_accepted_as_given() -> None:
    """The seed's sinks=[{"type": ..., ...options}] form is kept, alongside plain names."""
    cloudwatch = {"type": "cloudwatch", "log_group_name": "/app", "region": "eu-west-1"}
    settings = Settings(sinks=[cloudwatch, "stdout_json"])
    assert settings.sinks == [cloudwatch, "stdout_json"]


@pytest.mark.parametrize("spec", [{"log_group_name": "/app"}, {"type": 3}, {"type": None}])
def test_sink_dict_without_a_type_name_is_rejected(spec: dict[str, Any]) -> None:
    """A sink dict needs a "type" string; without one, SettingsError names FAPILOG_SINKS."""
    with pytest.raises(SettingsError, match="FAPILOG_SINKS") as info:
        Settings(sinks=[spec])
    assert '"type"' in str(info.value)


@pytest.mark.parametrize(
    ("drop_on_full", "explicit", "policy"),
    [
        (True, None, "drop_newest"),
        (False, None, "block"),
        (True, "block", "block"),
        (False, "drop_oldest", "drop_oldest"),
        (False, "drop_newest", "drop_newest"),
    ],
)
def test_policy_follows_drop_on_full_unless_a_policy_is_given(
    drop_on_full: bool, explicit: str | None, policy: str
) -> None:
    """drop_on_full True means drop_newest and False block; an explicit backpressure_policy wins."""
    settings = Settings(core={"drop_on_full": drop_on_full, "backpressure_policy": explicit})
    assert settings.core.policy == policy


def test_assignment_is_validated() -> None:
    """Changing a field after construction is checked too."""
    settings = Settings()
    with pytest.raises(ValueError, match="max_queue_size"):
        settings.core.max_queue_size = 0
    with pytest.raises(ValueError, match="LOUD"):
        settings.core.log_level = "LOUD"


def test_precedence_arguments_over_environment_over_preset_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each field comes from the highest source that sets it: arguments, then env, then preset, then default."""
    preset = {"format": "pretty", "core": {"log_level": "DEBUG", "max_queue_size": 11, "batch_max_size": 12}}
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "21")
    with preset_defaults(preset):
        settings = Settings(core={"max_queue_size": 31})
    assert settings.core.max_queue_size == 31  # argument
    assert settings.core.log_level == "WARNING"  # environment
    assert settings.core.batch_max_size == 12  # preset
    assert settings.format == "pretty"  # preset
    assert settings.core.backpressure_wait_ms == 50  # default


def test_preset_defaults_apply_only_inside_the_block() -> None:
    """Outside preset_defaults, Settings() is back to the defaults."""
    with preset_defaults({"core": {"log_level": "ERROR"}}):
        assert Settings().core.log_level == "ERROR"
    assert Settings().core.log_level == "INFO"


@pytest.mark.parametrize("name", ["FAPILOG_CORE_LOG_LEVEL", "FAPILOG_LEVEL", "FAPILOG_NOSUCH__THING"])
def test_unknown_variables_fail_naming_them(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A FAPILOG_* variable that names no setting (a typo) fails at start-up, naming the variable."""
    monkeypatch.setenv(name, "x")
    with pytest.raises(SettingsError, match=name):
        Settings()


def test_test_suite_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAPILOG_TEST_* and FAPILOG_REQUIRE_SERVICES belong to the test suite and are not refused."""
    monkeypatch.setenv("FAPILOG_TEST_POSTGRES_DSN", "postgresql://localhost/test")
    monkeypatch.setenv("FAPILOG_REQUIRE_SERVICES", "1")
    assert Settings().core.log_level == "INFO"
