"""Renderings of a record: the fapilog JSON envelope (schema 1.1), pretty console lines, and dumps."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanContext, TraceFlags

from fapilog._levels import level_for
from fapilog._otel import InstrumentationScope, Record, new_record
from fapilog._render import CONTEXT_KEYS, dumps, envelope, envelope_lines, iso_utc, pretty_line

PROPERTY = settings(deadline=None)
NS = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z
SPAN = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=False, trace_flags=TraceFlags(1))
RESOURCE = Resource(
    {
        "service.name": "billing",
        "deployment.environment.name": "prod",
        "service.version": "1.2.3",
        "host.name": "web-1",
        "process.pid": 4242,
        "process.runtime.version": "3.11.9",
        "process.runtime.name": "cpython",
    }
)
EXCEPTION = {
    "exception.type": "ValueError",
    "exception.message": "boom",
    "exception.stacktrace": 'Traceback (most recent call last):\n  File "app.py", line 1\nValueError: boom\n',
}


def record(
    body: Any = "hello",
    attributes: dict[str, Any] | None = None,
    *,
    ns: int = NS,
    level: str = "INFO",
    span: SpanContext | None = None,
    event: str | None = None,
    scope: str = "app.orders",
) -> Record:
    return new_record(
        ns,
        level_for(level).severity,
        level,
        body,
        dict(attributes or {}),
        InstrumentationScope(scope),
        span,
        None,
        event,
    )


# ---- envelope -------------------------------------------------------------------------------------------


def test_envelope_maps_every_part_of_a_full_record() -> None:
    """Context keys, bound fields, trace ids, resource, exception and the rest land where the docstring says."""
    attrs = {"request_id": "r-1", "user_id": 7, "tenant": "acme", "order": 99, "tags": ["a"], **EXCEPTION}
    rec = record("paid", attrs, span=SPAN, event="order.paid", level="AUDIT")
    rec.context = {"tenant": "acme"}
    rec.resource = RESOURCE
    assert envelope(rec) == {
        "log": {
            "timestamp": "2023-11-14T22:13:20.123456789Z",
            "level": "AUDIT",
            "message": "paid",
            "logger": "app.orders",
            "context": {
                "request_id": "r-1",
                "user_id": 7,
                "tenant": "acme",
                "trace_id": "00000000000000000000000000000abc",
                "span_id": "0000000000000def",
                "trace_flags": 1,
            },
            "diagnostics": {
                "service": "billing",
                "env": "prod",
                "version": "1.2.3",
                "host": "web-1",
                "pid": 4242,
                "python": "3.11.9",
                "resource": {"process.runtime.name": "cpython"},
                "exception": {
                    "error.type": "ValueError",
                    "error.message": "boom",
                    "error.stack": EXCEPTION["exception.stacktrace"],
                },
            },
            "data": {"order": 99, "tags": ["a"]},
            "event": "order.paid",
        },
        "schema_version": "1.1",
    }


def test_envelope_of_a_bare_record() -> None:
    """No span, resource, exception or event: empty context/diagnostics and no 'event' key."""
    log = envelope(record("hi", {"k": "v"}))["log"]
    assert log["context"] == {}
    assert log["diagnostics"] == {}
    assert log["data"] == {"k": "v"}
    assert "event" not in log
    assert log["message"] == "hi"


@pytest.mark.parametrize("key", sorted(CONTEXT_KEYS))
def test_well_known_ids_are_context_even_when_not_bound(key: str) -> None:
    """request_id, user_id, tenant_id, correlation_id and session_id always go to context."""
    log = envelope(record("x", {key: "id-1"}))["log"]
    assert log["context"] == {key: "id-1"}
    assert log["data"] == {}


def test_trace_ids_are_zero_padded_lowercase_hex() -> None:
    """trace_id is 32 hex digits and span_id 16, lowercase, with the flags as an int."""
    span = SpanContext(trace_id=2**128 - 1, span_id=1, is_remote=False, trace_flags=TraceFlags(0))
    context = envelope(record(span=span))["log"]["context"]
    assert context == {"trace_id": "f" * 32, "span_id": "0" * 15 + "1", "trace_flags": 0}


def test_exception_without_resource_still_reaches_diagnostics() -> None:
    """A record with exception.* attributes but no resource has diagnostics.exception only."""
    log = envelope(record("x", EXCEPTION))["log"]
    assert log["diagnostics"] == {
        "exception": {
            "error.type": "ValueError",
            "error.message": "boom",
            "error.stack": EXCEPTION["exception.stacktrace"],
        }
    }
    assert log["data"] == {}


def test_each_resource_gives_its_own_diagnostics() -> None:
    """Two records with different resources are not mixed up (the per-resource cache is keyed correctly)."""
    first = record()
    first.resource = Resource({"service.name": "one"})
    second = record()
    second.resource = Resource({"service.name": "two", "service.version": "9"})
    assert envelope(first)["log"]["diagnostics"] == {"service": "one"}
    assert envelope(second)["log"]["diagnostics"] == {"service": "two", "version": "9"}
    assert envelope(first)["log"]["diagnostics"] == {"service": "one"}


_keys = st.sampled_from([*sorted(CONTEXT_KEYS), *EXCEPTION, "bound_a", "bound_b"]) | st.text(max_size=8)
_json_values = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)


@PROPERTY
@given(st.dictionaries(_keys, _json_values, max_size=10), st.sets(st.sampled_from(["bound_a", "bound_b", "x"])))
def test_envelope_is_lossless(attributes: dict[str, Any], bound: set[str]) -> None:
    """Every attribute appears exactly once in context, data or diagnostics.exception, with its value."""
    rec = record("m", attributes)
    rec.context = {k: attributes[k] for k in bound if k in attributes}
    log = envelope(rec)["log"]
    renamed = {
        "error.type": "exception.type",
        "error.message": "exception.message",
        "error.stack": "exception.stacktrace",
    }
    exc = {renamed[k]: v for k, v in log["diagnostics"].get("exception", {}).items()}
    parts = [log["context"], log["data"], exc]
    assert sum(len(p) for p in parts) == len(attributes)
    assert {k: v for p in parts for k, v in p.items()} == attributes
    for key in attributes:
        where = "context" if key in rec.context or key in CONTEXT_KEYS else "exception" if key in EXCEPTION else "data"
        assert key in {"context": log["context"], "exception": exc, "data": log["data"]}[where], (key, where)


@pytest.mark.parametrize("key", sorted(EXCEPTION))
def test_where_an_exception_attribute_goes_does_not_depend_on_other_keys(key: str) -> None:
    """Each exception.* attribute goes to diagnostics.exception, with or without a request_id beside it."""
    alone = envelope(record("m", {key: "v"}))["log"]
    beside_id = envelope(record("m", {key: "v", "request_id": "r"}))["log"]
    renamed = key.replace("exception.", "error.").replace("stacktrace", "stack")
    assert beside_id["diagnostics"] == {"exception": {renamed: "v"}}
    assert alone["diagnostics"] == beside_id["diagnostics"]
    assert alone["data"] == beside_id["data"] == {}


def test_changing_an_envelope_changes_neither_the_record_nor_later_envelopes() -> None:
    """A sink that edits the dict it is given (e.g. pops a field) does not alter what other exporters see."""
    rec = record("m", {"k": "v", "secret": "s"})
    rec.resource = RESOURCE
    first = envelope(rec)
    first["log"]["data"].pop("secret")
    first["log"]["diagnostics"]["service"] = "tampered"
    first["log"]["context"]["injected"] = True
    assert dict(rec.log_record.attributes or {}) == {"k": "v", "secret": "s"}
    again = envelope(rec)["log"]
    assert again["data"] == {"k": "v", "secret": "s"}
    assert again["diagnostics"]["service"] == "billing"
    assert again["context"] == {}


def test_envelope_lines_are_one_json_envelope_per_line() -> None:
    """envelope_lines writes each envelope as one JSON line, even with newlines in the message."""
    records = [record("one\ntwo", {"k": "a\nb"}), record("three", {"n": 1}, span=SPAN)]
    data = envelope_lines(records)
    lines = data.split(b"\n")
    assert lines[-1] == b""
    assert [orjson.loads(line) for line in lines[:-1]] == [envelope(r) for r in records]


def test_envelope_lines_follow_each_records_resource_and_logger() -> None:
    """Lines rendered for records alternating between resources and loggers (each cached as last seen) carry
    each record's own diagnostics and logger, exactly as its envelope does, unusual records included."""
    one, two = Resource({"service.name": "one"}), Resource({"service.name": "two", "service.version": "9"})
    a, b = InstrumentationScope("a", version="1.0"), InstrumentationScope("b")
    plan = [(one, a), (one, a), (two, b), (two, a), (one, a), (None, b), (one, None), (two, b), (two, b)]
    records = []
    for i, (resource, scope) in enumerate(plan):
        rec = record("m", {"i": i})
        rec.resource = resource
        rec.instrumentation_scope = scope
        records.append(rec)
    records[3].log_record.attributes = {"exception.type": "ValueError", "exception.message": "bad"}
    records[4].log_record.severity_number = level_for("ERROR").severity  # not its INFO level's own
    records[7].log_record.body = {"k": 2**64}  # unfinished (no coercion): orjson refuses it, dumps' fallbacks take it
    lines = envelope_lines(records).split(b"\n")[:-1]
    expected = [envelope(r) for r in records]
    expected[7]["log"]["message"] = {"k": str(2**64)}  # beyond 64 bits: a string in JSON
    assert [orjson.loads(line) for line in lines] == expected
    logs = [orjson.loads(line)["log"] for line in lines]
    assert [log["logger"] for log in logs] == ["a", "a", "b", "a", "a", "b", "root", "b", "b"]
    assert [log.get("logger_version") for log in logs] == ["1.0", "1.0", None, "1.0", "1.0", None, None, None, None]
    assert logs[3]["diagnostics"] == {
        "service": "two",
        "version": "9",
        "exception": {"error.type": "ValueError", "error.message": "bad"},
    }
    assert logs[4]["diagnostics"] == {"service": "one", "severity_number": level_for("ERROR").severity.value}
    assert logs[7]["diagnostics"] == {"service": "two", "version": "9"}
    assert logs[7]["message"] == {"k": str(2**64)}
    assert logs[5]["diagnostics"] == {}


# ---- timestamps ----------------------------------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_YEAR_1000 = int((dt.datetime(1000, 1, 1, tzinfo=dt.UTC) - _EPOCH).total_seconds()) * 10**9
_YEAR_9999_END = int((dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC) - _EPOCH).total_seconds() + 1) * 10**9 - 1


@PROPERTY
@given(st.integers(min_value=_YEAR_1000, max_value=_YEAR_9999_END))
@example(0)
@example(NS)
def test_iso_utc_matches_datetime_at_nanosecond_precision(ns: int) -> None:
    """iso_utc(ns) is the UTC time with all nine fractional digits, as YYYY-MM-DDTHH:MM:SS.fffffffffZ."""
    seconds = (_EPOCH + dt.timedelta(seconds=ns // 10**9)).strftime("%Y-%m-%dT%H:%M:%S")
    assert iso_utc(ns) == f"{seconds}.{ns % 10**9:09d}Z"
    assert dt.datetime.fromisoformat(iso_utc(ns)) == _EPOCH + dt.timedelta(microseconds=ns // 1000)


def test_iso_utc_is_right_when_seconds_alternate() -> None:
    """Alternating between two seconds (and sub-seconds of one) never reuses the wrong second's text."""
    a, b = 1_600_000_000 * 10**9, 1_600_000_001 * 10**9
    assert [iso_utc(n) for n in (a, a + 999_999_999, b, a + 5_000, b + 1_000)] == [
        "2020-09-13T12:26:40.000000000Z",
        "2020-09-13T12:26:40.999999999Z",
        "2020-09-13T12:26:41.000000000Z",
        "2020-09-13T12:26:40.000005000Z",
        "2020-09-13T12:26:41.000001000Z",
    ]


# ---- pretty lines --------------------------------------------------------------------------------------

_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \| (\S+) *\| (.*)\n$", re.DOTALL)


@pytest.fixture
def india_time() -> Iterator[None]:
    """Local time is UTC+05:30 (a POSIX TZ string: no time zone database needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
        pretty_line(record(ns=10**9), colors=False)  # leave no cached second formatted in this zone


@pytest.mark.usefixtures("india_time")
def test_pretty_line_format_in_local_time() -> None:
    """'YYYY-MM-DD HH:MM:SS | LEVEL | message k=v', the time in the local zone, the level padded to 8."""
    ns = 1_700_000_123 * 10**9  # 22:15:23 UTC
    line = pretty_line(record("paid", {"order": 99, "who": "ann"}, ns=ns), colors=False)
    assert line == "2023-11-15 03:45:23 | INFO     | paid order=99 who=ann\n"


@PROPERTY
@given(st.integers(min_value=1, max_value=4_000_000_000 * 10**9))
def test_pretty_time_is_the_local_wall_clock_second(ns: int) -> None:
    """The stamp is the local time of the record's second (0 is OTel's 'unset', so it starts at 1 ns)."""
    match = _LINE.match(pretty_line(record("m", ns=ns), colors=False))
    assert match is not None
    assert match.group(1) == dt.datetime.fromtimestamp(ns // 10**9).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("a=b", '"a=b"'),
        ("", '""'),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "null"),
        ([1, "x"], '[1,"x"]'),
    ],
)
def test_pretty_values(value: Any, shown: str) -> None:
    """Bare words stay bare; text with spaces or '=' and empty text is quoted; other values are JSON."""
    assert pretty_line(record("m", {"k": value}), colors=False).endswith(f"| m k={shown}\n")


def test_pretty_line_leaves_out_exception_attributes_and_adds_trace_ids() -> None:
    """exception.* attributes are not k=v pairs; a record in a span shows its trace and span ids."""
    line = pretty_line(record("m", {"a": 1, "exception.type": "X"}, span=SPAN), colors=False).split("\n")[0]
    assert line.endswith(f"| m a=1 trace_id={0xABC:032x} span_id={0xDEF:016x}")
    assert "exception.type" not in line


def test_traceback_lines_are_indented_under_the_record() -> None:
    """The stack follows the record's line, every line indented by four spaces, then one newline."""
    text = pretty_line(record("failed", {"order": 1, **EXCEPTION}), colors=False)
    first, *rest = text.split("\n")
    assert first.endswith("| failed order=1")
    assert rest == ["    Traceback (most recent call last):", '      File "app.py", line 1', "    ValueError: boom", ""]


def test_colors_only_when_asked() -> None:
    """colors=False has no escape codes at all; colors=True colours the level and resets after it."""
    rec = record("m", {**EXCEPTION, "k": "v"}, level="ERROR")
    assert "\x1b" not in pretty_line(rec, colors=False)
    coloured = pretty_line(rec, colors=True)
    assert "\x1b[31mERROR   \x1b[0m" in coloured
    assert coloured.count("\n") == pretty_line(rec, colors=False).count("\n")


@pytest.mark.parametrize("evil", ["a\nb", "a\r\nb", "a\rb", "\x1b[31mred", "a\x00b", "a\tb\x0bc\x0cd", "\x7f"])
def test_control_characters_are_escaped(evil: str) -> None:
    """Newlines, carriage returns, ESC and other C0 controls in message or values are shown escaped."""
    line = pretty_line(record(evil, {"k": evil, "s": f"with space {evil}"}), colors=False)
    assert line.count("\n") == 1
    assert line.endswith("\n")
    assert "\r" not in line
    assert "\x1b" not in line


def _one_line(line: str) -> bool:
    return line.endswith("\n") and len(line.splitlines()) == 1


@PROPERTY
@given(st.text(), st.text(), st.booleans())
@example("next\x85line", "x", False)  # NEL, a C1 control character
@example("m", "a\u2028b", False)  # LINE SEPARATOR
def test_no_message_or_value_can_make_an_extra_line(message: str, value: str, colors: bool) -> None:
    """Whatever text the message and values hold, the record (without a stack) is exactly one line."""
    line = pretty_line(record(message, {"k": value, "spaced": f"{value} {value}"}), colors=colors)
    assert _one_line(line), repr(line)


@PROPERTY
@given(st.text(min_size=1))
@example("a\nb")
def test_no_attribute_key_can_make_an_extra_line(key: str) -> None:
    """Attribute keys (any text, e.g. from **{...} or bound context) cannot forge a second line either."""
    assert _one_line(pretty_line(record("m", {key: 1}), colors=False))


@PROPERTY
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_a_stack_always_stays_under_its_record(stack_lines: list[str]) -> None:
    """Every line after the first is an indented stack line, whatever the stack text holds."""
    text = pretty_line(record("m", {"exception.stacktrace": "\n".join(["Traceback", *stack_lines])}), colors=False)
    first, *rest = text.rstrip("\n").split("\n")
    assert first.endswith("| m")
    assert all(line.startswith("    ") for line in rest)


# ---- dumps ---------------------------------------------------------------------------------------------

_odd_leaves = st.one_of(
    st.none(),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(),
    st.text(),
    st.binary(),
    st.datetimes(),
    st.uuids(),
    st.decimals(),
    st.sets(st.integers(), max_size=3),
    st.sampled_from([object(), math, ...]),
)
_odd_values = st.recursive(
    _odd_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.text() | st.integers() | st.tuples(st.integers()) | st.none(), children, max_size=4)
    ),
    max_leaves=20,
)


@PROPERTY
@given(_odd_values)
def test_dumps_never_raises_and_gives_json(value: Any) -> None:
    """dumps of any value is valid JSON: odd values are coerced rather than failing."""
    orjson.loads(dumps(value))


def test_dumps_cuts_cycles_and_deep_nesting() -> None:
    """Self-references and nesting past orjson's limit still serialize."""
    cyclic: dict[str, Any] = {}
    cyclic["me"] = cyclic
    deep: Any = 1
    for _ in range(1000):
        deep = [deep]
    assert orjson.loads(dumps(cyclic)) == {"me": "<cycle>"}
    assert isinstance(orjson.loads(dumps(deep)), list)


def test_dumps_writes_bytes_as_text_and_huge_ints_as_strings() -> None:
    """Bytes become text (invalid UTF-8 backslash-escaped); ints beyond 64 bits become strings."""
    assert orjson.loads(dumps({"b": b"ok\xff", "n": 2**64, (1, 2): "t"})) == {
        "b": "ok\\xff",
        "n": str(2**64),
        "(1, 2)": "t",
    }


@pytest.mark.parametrize("value", ["\udcff", {"path": "/tmp/caf\udce9"}, {"\ud800": 1}, ["ok", "\ud83d"]])
def test_dumps_survives_lone_surrogates(value: Any) -> None:
    """Strings with lone surrogates (os.fsdecode of a non-UTF-8 file name) still give valid JSON."""
    orjson.loads(dumps(value))
