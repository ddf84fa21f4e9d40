"""Hostile input through the public API: no exception reaches the caller, no batch fails, every output stays
well-formed (strict JSON lines, OTLP/JSON that opentelemetry-proto parses, OTLP/protobuf a receiver decodes) and
no message, key or value can forge a line in any text output (pretty console, text files, ``fapilog pretty``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapilog import LoggerBuilder, Settings, configure, get_async_logger, get_logger, runtime
from fapilog._cli_pretty import pretty_lines
from fapilog._levels import level_for
from tests.exporters._otlp_receiver import Received
from tests.exporters.test_otlp import http_receiver  # noqa: F401 - the receiver fixture

from ._figures import HOSTILE_CALLS_MAX, HOSTILE_EXAMPLES, HOSTILE_SURFACES, PRETTY_CLI_EXAMPLES, hypothesis_settings
from ._hostile import CONTROLS, Unprintable, hostile_fields, hostile_text, hostile_values, messages
from ._outputs import Outputs
from .conftest import Figures

pytestmark = pytest.mark.reliability

METHOD_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "exception": "ERROR",
    "critical": "CRITICAL",
    "audit": "AUDIT",
    "security": "SECURITY",
    "log": "",
}
THRESHOLD = 10  # the loggers log at DEBUG


@dataclass
class Call:
    method: str
    level: Any  # for ``log``
    message: Any
    fields: dict[str, Any]
    exc: Any
    exc_info: Any

    def expected_level(self) -> str | None:
        """The level the record must have, or None when it is below the threshold (no record)."""
        if self.method != "log":
            return METHOD_LEVELS[self.method]
        try:
            level = level_for(self.level)
        except Exception:
            return "INFO"  # an unknown level is logged at INFO
        return level.name if level.priority >= THRESHOLD else None

    def arguments(self) -> dict[str, Any]:
        kwargs = dict(self.fields)
        if self.exc is not None:
            kwargs["exc"] = self.exc
        if self.exc_info is not None:
            kwargs["exc_info"] = self.exc_info
        return kwargs


@dataclass
class Example:
    bound: dict[str, Any]
    calls: list[Call]

    def levels(self) -> list[str]:
        return [level for call in self.calls if (level := call.expected_level()) is not None]


levels = st.one_of(
    st.sampled_from(["INFO", "warn", "AUDIT", "fatal", "nonsense", " error "]),
    hostile_text,
    st.integers(-5, 200),
    st.builds(Unprintable),
)
calls = st.builds(
    Call,
    method=st.sampled_from(list(METHOD_LEVELS)),
    level=levels,
    message=messages,
    fields=hostile_fields,
    exc=st.one_of(st.none(), st.none(), hostile_values),
    exc_info=st.one_of(st.none(), st.none(), st.booleans(), hostile_values),
)
examples = st.builds(Example, bound=hostile_fields, calls=st.lists(calls, min_size=1, max_size=HOSTILE_CALLS_MAX))


def sync_calls(logger: Any, example: Example) -> None:
    logger.bind(**example.bound)
    for call in example.calls:
        if call.method == "log":
            logger.log(call.level, call.message, **call.arguments())
        else:
            getattr(logger, call.method)(call.message, **call.arguments())
    logger.unbind(*list(example.bound)[:1])
    logger.clear_context()


async def async_calls(logger: Any, example: Example) -> None:
    logger.bind(**example.bound)
    for call in example.calls:
        if call.method == "log":
            await logger.log(call.level, call.message, **call.arguments())
        else:
            await getattr(logger, call.method)(call.message, **call.arguments())
    logger.clear_context()


def settings_with(sinks: list[Any] | None = None) -> Settings:
    core = {"log_level": "DEBUG", "internal_logging_enabled": True, "batch_timeout_seconds": 60}
    return Settings(core=core, sinks=sinks or [])


class Surface:
    """One way in: makes the logger and runs an example through it; ``check`` that nothing failed."""

    def __init__(self, name: str, outputs: Outputs) -> None:
        self.name = name
        self.outputs = outputs
        self.loop = asyncio.new_event_loop()
        self.logger: Any = None
        if name == "get_logger":
            self.logger = get_logger("hostile", settings=settings_with(), sinks=outputs.sinks(), reuse=False)
        elif name == "get_async_logger":
            self.logger = self.loop.run_until_complete(
                get_async_logger("hostile", settings=settings_with(), sinks=outputs.sinks(), reuse=False)
            )
        elif name == "configure":
            configure(settings_with(), sinks=outputs.sinks())
            self.logger = get_logger("hostile")
        elif name == "builder":
            builder = LoggerBuilder().with_name("hostile").with_level("DEBUG").with_diagnostics().reuse(False)
            for sink in outputs.sinks():
                builder.add_sink(sink)
            self.logger = builder.build()

    def run(self, example: Example) -> None:
        """Log the example's calls; nothing may raise here (that is the point)."""
        if self.name == "runtime":
            with runtime(settings=settings_with(self.outputs.specs())) as logger:
                sync_calls(logger, example)
            drained = logger.last_drain
            assert drained is not None
            assert (drained.dropped, drained.export_failures, drained.timed_out) == (0, 0, False)
            assert drained.submitted == drained.processed == len(example.levels())
            return
        before = self.logger.stats()
        if self.name == "get_async_logger":

            async def go() -> bool:
                await async_calls(self.logger, example)
                return bool(await self.logger.flush(30))

            assert self.loop.run_until_complete(go()), "flush timed out"
        else:
            sync_calls(self.logger, example)
            assert self.logger.flush(30), "flush timed out"
        after = self.logger.stats()
        assert (after.dropped, after.export_failures) == (before.dropped, before.export_failures), after
        assert after.processed - before.processed == len(example.levels())
        assert self.logger._pipeline.chain.stage_errors == 0

    def close(self) -> None:
        if self.logger is not None and self.name != "get_async_logger":
            self.logger.drain()
        elif self.logger is not None:
            self.loop.run_until_complete(self.logger.drain())
        self.loop.close()


@pytest.fixture
def make_surface(tmp_path: Path, http_receiver: tuple[str, Received]) -> Iterator[Callable[[str], Surface]]:  # noqa: F811
    made: list[Surface] = []

    def make(name: str) -> Surface:
        surface = Surface(name, Outputs(tmp_path, http_receiver))
        made.append(surface)
        return surface

    yield make
    for surface in made:
        surface.close()


@pytest.mark.parametrize("surface_name", HOSTILE_SURFACES)
def test_hostile_calls_never_raise_never_fail_a_batch_and_every_output_stays_well_formed(
    surface_name: str,
    make_surface: Callable[[str], Surface],
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    """Arbitrary values, keys, messages, levels and exceptions: one well-formed record per call in every output."""
    surface = make_surface(surface_name)
    runs = 0

    @hypothesis_settings(HOSTILE_EXAMPLES)
    @given(example=examples)
    def run(example: Example) -> None:
        nonlocal runs
        runs += 1
        surface.outputs.mark()
        surface.run(example)
        surface.outputs.check(example.levels(), streams=surface_name != "runtime")
        err = capsys.readouterr().err
        assert "[fapilog]" not in err, err[:2000]  # not one diagnostic: nothing was contained, nothing failed

    run()
    figures.add(f"hostile_examples.{surface_name}", runs)
    figures.add("hostile_examples_total", runs, accumulate=True)
    assert runs == HOSTILE_EXAMPLES


# ---- fapilog pretty over hostile JSON lines ---------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=10,
)


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    log: dict[str, Any] = doc["log"]
    return {**doc, "log": {**log, "context": log.get("context", {})}}


envelopes = st.fixed_dictionaries(
    {"log": st.fixed_dictionaries({}, optional=dict.fromkeys(("timestamp", "level", "message"), json_values))},
    optional={"schema_version": json_values},
).map(with_context)
hostile_envelopes = st.builds(
    lambda doc, extra: {**doc, "log": {**doc["log"], **extra}},
    envelopes,
    st.dictionaries(st.sampled_from(["context", "data", "diagnostics", "level", "message"]), json_values, max_size=3),
)
otlp_docs = st.builds(
    lambda records: {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]},
    st.lists(
        st.dictionaries(
            st.sampled_from(["severityText", "severityNumber", "timeUnixNano", "body", "attributes", "traceId"]),
            json_values,
            max_size=4,
        ),
        max_size=3,
    ),
)


def records_in(doc: Any) -> int:
    """How many pretty lines ``doc`` renders to when it is read as ours: one envelope, or an OTLP request's records."""
    if isinstance(doc, dict) and isinstance(doc.get("log"), dict):
        return 1
    return len(doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"])


@hypothesis_settings(PRETTY_CLI_EXAMPLES)
@given(docs=st.lists(st.one_of(hostile_envelopes, otlp_docs, json_values, hostile_text), min_size=1, max_size=4))
def test_fapilog_pretty_never_raises_and_never_forges_lines(docs: list[Any]) -> None:
    """``fapilog pretty`` over lines of any shape: no exception; an envelope or OTLP record gives exactly one
    printable pretty line (plus indented traceback lines), anything else passes through unchanged."""
    for doc in docs:
        line = (doc if isinstance(doc, str) else json.dumps(doc)).replace("\n", " ") + "\n"
        out = "".join(pretty_lines([line], colors=False))
        ours = isinstance(doc, dict) and ("log" in doc or "resourceLogs" in doc)
        if out == line:
            continue  # passed through as it came: still one line, unchanged
        assert ours, out
        if records_in(doc) == 0:
            assert out == ""  # an OTLP request without records renders to nothing
            continue
        assert out.endswith("\n")
        rendered = out[:-1].split("\n")
        assert all(x.isprintable() for x in rendered), out
        assert len([x for x in rendered if not x.startswith("    ")]) == records_in(doc)


def test_control_characters_in_every_part_of_a_record_stay_on_one_line(
    tmp_path: Path,
    http_receiver: tuple[str, Received],  # noqa: F811
) -> None:
    """Each control or line-breaking character, in message, key, value, bound value and exception, never forges."""
    outputs = Outputs(tmp_path, http_receiver)
    logger = get_logger("forge", settings=settings_with(), sinks=outputs.sinks(), reuse=False)
    levels: list[str] = []
    for char in CONTROLS:
        forged = f"real{char}2024-01-01 00:00:00 | ERROR    | forged{char}"
        logger.bind(**{forged: forged})
        logger.info(forged, **{forged: forged, "nested": {forged: [forged]}})
        logger.error(forged, exc=RuntimeError(forged))
        logger.clear_context()
        levels += ["INFO", "ERROR"]
    assert logger.flush(30)
    outputs.check(levels)
    logger.drain()
