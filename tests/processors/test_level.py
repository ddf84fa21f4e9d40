"""``LevelFilter``: drops records below a level, with per-logger overrides."""

from __future__ import annotations

import re
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber

from fapilog.processors import LevelFilter, ProbabilisticSampler

from ._filter_support import SdkPipeline


def test_drops_records_below_the_level_in_an_sdk_pipeline() -> None:
    """Alone in an SDK LoggerProvider, only records at or above min_level reach the exporter."""
    pipe = SdkPipeline(lambda nxt: LevelFilter("WARNING", next=nxt))
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        pipe.emit(level, level)
    assert pipe.bodies() == ["WARNING", "ERROR", "CRITICAL"]
    assert pipe.stage.stats() == {"kept": 3, "dropped": 2}
    pipe.close()


def test_accepts_aliases_priorities_and_custom_levels() -> None:
    """Level names are case-insensitive with aliases, priorities work, AUDIT sits above ERROR."""
    assert LevelFilter("warn").threshold_for("x") == SeverityNumber.WARN.value
    assert LevelFilter(40).threshold_for("x") == SeverityNumber.ERROR.value
    assert LevelFilter("AUDIT").threshold_for("x") == SeverityNumber.ERROR3.value


def test_per_logger_overrides_match_dotted_prefixes_longest_first() -> None:
    """An override for 'db' covers 'db' and 'db.pool' but not 'dbx'; 'db.pool.slow' beats 'db'."""
    stage = LevelFilter("INFO", per_logger={"db": "ERROR", "db.pool.slow": "DEBUG"})
    assert stage.threshold_for("db") == SeverityNumber.ERROR.value
    assert stage.threshold_for("db.pool") == SeverityNumber.ERROR.value
    assert stage.threshold_for("db.pool.slow.query") == SeverityNumber.DEBUG.value
    assert stage.threshold_for("dbx") == SeverityNumber.INFO.value
    assert stage.threshold_for("") == SeverityNumber.INFO.value


def test_per_logger_overrides_apply_to_emitted_records() -> None:
    """In a pipeline a noisy logger is held to its own level while the others keep the default."""
    pipe = SdkPipeline(lambda nxt: LevelFilter("INFO", per_logger={"noisy": "ERROR", "app.debug": "DEBUG"}, next=nxt))
    pipe.emit("noisy info", "INFO", logger="noisy.sub")
    pipe.emit("noisy error", "ERROR", logger="noisy")
    pipe.emit("app debug", "DEBUG", logger="app.debug")
    pipe.emit("other debug", "DEBUG", logger="app")
    pipe.emit("other info", "INFO", logger="app")
    assert pipe.bodies() == ["noisy error", "app debug", "other info"]
    pipe.close()


def test_unspecified_severity_is_kept() -> None:
    """A record without a severity passes, as OpenTelemetry's minimum-severity rule says."""
    pipe = SdkPipeline(lambda nxt: LevelFilter("ERROR", next=nxt))
    pipe.provider.get_logger("t").emit(body="no severity")
    assert pipe.bodies() == ["no severity"]
    pipe.close()


def test_keeps_working_with_other_filters_after_it() -> None:
    """Chained before a sampler, the level filter still drops low levels and the sampler still samples."""
    pipe = SdkPipeline(lambda nxt: LevelFilter("INFO", next=ProbabilisticSampler(0.0, next=nxt)))
    pipe.emit("debug", "DEBUG")
    pipe.emit("info", "INFO")
    pipe.emit("error", "ERROR")
    assert pipe.bodies() == ["error"]
    assert pipe.stage.stats() == {"kept": 2, "dropped": 1}
    pipe.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_level": "LOUD"}, "min_level: unknown log level 'LOUD'"),
        ({"min_level": True}, "min_level must be a level name or priority, got True"),
        ({"min_level": 2.5}, "min_level must be a level name or priority, got 2.5"),
        ({"per_logger": ["db"]}, "per_logger must be a mapping of logger name to level"),
        ({"per_logger": {"": "INFO"}}, "per_logger keys must be logger names, got ''"),
        ({"per_logger": {"db": "NOPE"}}, "per_logger['db']: unknown log level 'NOPE'"),
    ],
)
def test_rejects_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    """Configuration errors raise ValueError naming the parameter and the bad value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        LevelFilter(**kwargs)
