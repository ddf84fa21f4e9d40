"""Log levels: priorities, aliases, OpenTelemetry severities, and custom levels.

Levels are process-global and ``testing.reset`` does not forget them, so every test that registers one uses
a name (and a priority) no other test uses.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import SeverityNumber

import fapilog
from fapilog import AsyncLoggerFacade, SyncLoggerFacade, get_async_logger, register_level
from fapilog._levels import known_levels, level_for
from fapilog.testing import CaptureExporter, capture_logs

_BUILTIN = {
    "TRACE": (5, SeverityNumber.TRACE),
    "DEBUG": (10, SeverityNumber.DEBUG),
    "INFO": (20, SeverityNumber.INFO),
    "WARNING": (30, SeverityNumber.WARN),
    "ERROR": (40, SeverityNumber.ERROR),
    "CRITICAL": (50, SeverityNumber.FATAL),
    "AUDIT": (60, SeverityNumber.ERROR3),
    "SECURITY": (70, SeverityNumber.ERROR4),
}
# The first SeverityNumber of the OpenTelemetry range opened by each stdlib priority.
_RANGE_START = {0: 1, 10: 5, 20: 9, 30: 13, 40: 17, 50: 21}


@pytest.mark.parametrize(("name", "expected"), sorted(_BUILTIN.items()))
def test_builtin_levels_have_stdlib_priorities_and_natural_severities(
    name: str, expected: tuple[int, SeverityNumber]
) -> None:
    """Built-in levels use the stdlib priority scale and map to their own OpenTelemetry severity range."""
    level = level_for(name)
    assert (level.name, level.priority, level.severity) == (name, *expected)


def test_audit_and_security_sit_above_error_and_below_fatal() -> None:
    """AUDIT and SECURITY are more severe than every ERROR but not FATAL, SECURITY above AUDIT."""
    error, audit, security = level_for("ERROR"), level_for("AUDIT"), level_for("SECURITY")
    fatal = level_for("CRITICAL")
    assert error.priority < fatal.priority < audit.priority < security.priority
    assert SeverityNumber.ERROR.value < audit.severity.value < security.severity.value < SeverityNumber.FATAL.value


@pytest.mark.parametrize(
    ("alias", "name"),
    [("WARN", "WARNING"), ("warn", "WARNING"), ("FATAL", "CRITICAL"), ("fatal", "CRITICAL"), (" info ", "INFO")],
)
def test_aliases_and_case_are_accepted(alias: str, name: str) -> None:
    """WARN and FATAL name WARNING and CRITICAL, and names are case- and space-insensitive."""
    assert level_for(alias) is level_for(name)


def test_unknown_level_error_lists_the_known_ones() -> None:
    """Asking for an unknown level raises ValueError quoting it and listing every known level."""
    with pytest.raises(ValueError, match="'LOUDEST'") as info:
        level_for("LOUDEST")
    for name in _BUILTIN:
        assert name in str(info.value)


def test_priorities_find_levels() -> None:
    """A priority that belongs to a level gives that level; any other gives an ad-hoc LEVELn."""
    assert level_for(40) is level_for("ERROR")
    assert level_for(37).name == "LEVEL37"
    assert level_for(37).priority == 37


def _expected_range(priority: int) -> range:
    floor = max(f for f in _RANGE_START if f <= priority)
    start = _RANGE_START[floor]
    return range(start, start + 4)


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=999))
def test_other_priorities_map_into_the_range_of_the_stdlib_level_below(low: int, high: int) -> None:
    """A non-built-in priority's severity is in the OTel range of the nearest stdlib level at or below it,
    and a higher priority never gets a lower severity."""
    builtin = {p for p, _ in _BUILTIN.values()}
    assume(low not in builtin and high not in builtin)
    low, high = min(low, high), max(low, high)
    assert level_for(low).severity.value in _expected_range(low)
    assert level_for(high).severity.value in _expected_range(high)
    assert level_for(low).severity.value <= level_for(high).severity.value


def test_register_level_adds_a_level_found_by_name_and_priority() -> None:
    """A registered level is found by name (any case) and by priority, with a severity in its stdlib range."""
    register_level("Notice_reg", 23)
    level = level_for("notice_REG")
    assert (level.name, level.priority) == ("NOTICE_REG", 23)
    assert level.severity.value in _expected_range(23)
    assert level_for(23) is level
    assert level in known_levels()
    assert [lvl.priority for lvl in known_levels()] == sorted(lvl.priority for lvl in known_levels())


def test_registering_the_same_level_again_is_a_no_op() -> None:
    """The same name with the same priority leaves the level as it was."""
    register_level("REPEAT_LVL", 27)
    first = level_for("REPEAT_LVL")
    register_level("repeat_lvl", 27)
    assert level_for("REPEAT_LVL") is first


def test_registering_a_name_with_another_priority_raises() -> None:
    """Re-registering a name with a different priority (built-in or custom) raises and changes nothing."""
    register_level("CLASH_LVL", 33)
    with pytest.raises(ValueError, match="CLASH_LVL already registered with priority 33"):
        register_level("CLASH_LVL", 34)
    with pytest.raises(ValueError, match="INFO"):
        register_level("info", 21)
    assert level_for("CLASH_LVL").priority == 33
    assert level_for("INFO").priority == 20


@pytest.mark.parametrize("name", ["", "1abc", "has space", "a-b", "dot.ted", None, 5])
def test_invalid_level_names_raise(name: Any) -> None:
    """A level name must be a Python identifier (it can become a method name)."""
    with pytest.raises(ValueError, match="identifier"):
        register_level(name, 41)


@pytest.mark.parametrize("priority", [0, -1, 1000, True, 2.5, "20", None])
def test_invalid_priorities_raise(priority: Any) -> None:
    """A priority must be an int from 1 to 999 (not a bool, float or string)."""
    with pytest.raises(ValueError, match="priority"):
        register_level("BAD_PRIORITY_LVL", priority)
    with pytest.raises(ValueError, match="unknown log level"):
        level_for("BAD_PRIORITY_LVL")


def test_add_method_gives_both_facades_a_method_that_logs_at_the_level() -> None:
    """With add_method=True, logger.<name>() emits a record with the level's name and severity."""
    register_level("NOTICE_M", 25, add_method=True)
    assert callable(getattr(SyncLoggerFacade, "notice_m", None))
    assert inspect.iscoroutinefunction(getattr(AsyncLoggerFacade, "notice_m", None))
    with capture_logs() as (logger, exp):
        logger.notice_m("hello", k=1)  # type: ignore[attr-defined]
    [record] = exp.records
    assert record.log_record.severity_text == "NOTICE_M"
    assert record.log_record.severity_number == level_for("NOTICE_M").severity
    assert record.log_record.body == "hello"
    assert dict(record.log_record.attributes or {})["k"] == 1


def test_added_method_respects_the_logger_threshold() -> None:
    """A custom level below the logger's level is not emitted; above it, it is."""
    register_level("QUIET_M", 24, add_method=True)
    register_level("LOUD_M", 44, add_method=True)
    settings = fapilog.Settings(core={"log_level": "WARNING"})
    with capture_logs(settings=settings) as (logger, exp):
        logger.quiet_m("dropped")  # type: ignore[attr-defined]
        logger.loud_m("kept")  # type: ignore[attr-defined]
    assert exp.messages() == ["kept"]


def test_added_method_on_the_async_facade_logs_at_the_level(capture: CaptureExporter) -> None:
    """The async facade's added method is awaitable and logs at the level."""
    register_level("NOTICE_A", 26, add_method=True)

    async def main() -> None:
        logger = await get_async_logger("async-levels", sinks=[capture], reuse=False)
        await logger.notice_a("from async")  # type: ignore[attr-defined]
        await logger.drain()

    asyncio.run(main())
    assert [r.log_record.severity_text for r in capture.records] == ["NOTICE_A"]


def test_add_method_refuses_to_shadow_an_existing_logger_attribute() -> None:
    """A level whose method name would replace a logger method (drain) raises instead."""
    with pytest.raises(ValueError, match="drain"):
        register_level("DRAIN", 46, add_method=True)
    assert SyncLoggerFacade.drain.__qualname__ == "SyncLoggerFacade.drain"
    assert AsyncLoggerFacade.drain.__qualname__ == "AsyncLoggerFacade.drain"
