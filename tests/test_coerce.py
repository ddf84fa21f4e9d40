"""Coercion of arbitrary Python values into what an OpenTelemetry attribute can carry."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fapilog._coerce import MAX_DEPTH, MAX_ITEMS, coerce_attributes, coerce_value, needs_coercion
from fapilog._render import dumps
from tests.reliability._hostile import Printable

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INT64 = range(-(2**63), 2**63)


# ---- hostile values (``Printable``: a failure report can still print them) -----------------------------


class Unprintable(Printable):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class ReprOnly:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "ReprOnly()"


class BadStr(Printable, str):
    __slots__ = ()

    def __str__(self) -> str:
        raise RuntimeError("no str")


class BadInt(Printable, int):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadIterList(Printable, list[Any]):
    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("no iteration")


class BadMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)
    HUGE = 2**70


class Number(enum.IntEnum):
    ONE = 1


class Word(enum.StrEnum):
    HELLO = "hello"


class UnprintableError(Printable, Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def _view(data: bytes) -> memoryview:
    return memoryview(data)


def _set_built_in_order(items: list[Any]) -> set[Any]:
    built: set[Any] = set()
    for item in items:
        built.add(item)
    return built


# ---- strategies ----------------------------------------------------------------------------------------

_offsets = st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59))
_zones = st.none() | st.just(dt.UTC) | st.builds(dt.timezone, _offsets)
_huge_ints = st.integers(min_value=-(2**200), max_value=2**200)

hashable = st.one_of(
    st.none(),
    st.booleans(),
    _huge_ints,
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.uuids(),
    st.sampled_from([*Color, *Number, *Word]),
    st.builds(BadStr, st.text(max_size=10)),
    st.builds(BadInt, _huge_ints),
    st.builds(Unprintable),
    st.builds(ReprOnly),
    st.dates(),
    st.tuples(st.integers(), st.text(max_size=5)),
)

leaves = st.one_of(
    hashable,
    st.datetimes(timezones=_zones),
    st.times(timezones=_zones),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(Path, st.text(max_size=20)),
    st.builds(ValueError, st.text(max_size=20)),
    st.builds(KeyError, st.integers()),
    st.builds(UnprintableError),
    st.builds(bytearray, st.binary(max_size=10)),
    st.binary(max_size=10).map(_view),
    st.complex_numbers(),
    st.sampled_from([object(), int, len, range(3), BadIterList([1]), BadMapping(), ...]),
    st.sets(hashable, max_size=5),
    st.frozensets(hashable, max_size=5),
)

values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(hashable, children, max_size=5),
    ),
    max_leaves=30,
)


def assert_representable(value: Any, depth: int = 0) -> None:
    """``value`` is made only of what an OpenTelemetry attribute can carry, within the depth/size bounds."""
    kind = type(value)
    if kind in (type(None), str, bool, float, bytes):
        return
    if kind is int:
        assert value in INT64, value
        return
    assert kind in (list, dict), f"{kind.__name__} is not representable: {value!r}"
    assert depth < MAX_DEPTH, "nested deeper than MAX_DEPTH"
    assert len(value) <= MAX_ITEMS + 1
    if kind is dict:
        assert all(type(k) is str for k in value)
        value = list(value.values())
    for item in value:
        assert_representable(item, depth + 1)


# ---- properties ----------------------------------------------------------------------------------------


@PROPERTY
@given(values)
def test_any_value_coerces_to_a_representable_serializable_value(value: Any) -> None:
    """coerce_value never raises; the result holds only OTel types and serializes to JSON."""
    result = coerce_value(value)
    assert_representable(result)
    orjson.loads(dumps(result))


@PROPERTY
@given(values)
def test_coercion_is_idempotent(value: Any) -> None:
    """Coercing an already coerced value (within the size bounds) changes nothing."""
    once = coerce_value(value)
    assert dumps(coerce_value(once)) == dumps(once)


@PROPERTY
@given(st.dictionaries(hashable, values, max_size=8))
def test_coerce_attributes_gives_string_keys_and_representable_values(attributes: dict[Any, Any]) -> None:
    """coerce_attributes returns a new dict with str keys and representable values, leaving its input alone."""
    before = dumps(coerce_value(attributes))
    result = coerce_attributes(attributes)
    assert result is not attributes
    for key, value in result.items():
        assert type(key) is str
        assert_representable(value)
    assert dumps(coerce_value(attributes)) == before


@PROPERTY
@given(st.dictionaries(hashable, values, max_size=8))
def test_when_needs_coercion_is_false_coercion_changes_nothing(attributes: dict[Any, Any]) -> None:
    """needs_coercion False means coerce_attributes would return the same keys, values and types."""
    if not needs_coercion(attributes):
        assert _same(coerce_attributes(attributes), attributes)


@PROPERTY
@given(st.dictionaries(hashable, st.one_of(hashable, leaves.filter(lambda v: not isinstance(v, set | frozenset)))))
def test_needs_coercion_is_true_exactly_when_a_flat_value_or_key_changes(attributes: dict[Any, Any]) -> None:
    """For scalar-like attributes, needs_coercion is True iff coercion changes a key, a value or a type."""
    flat = {k: v for k, v in attributes.items() if type(v) is not bytes}  # bytes: conservatively True
    assert needs_coercion(flat) == (not _same(coerce_attributes(flat), flat))


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return (
            list(a) == list(b)
            and all(type(x) is type(y) for x, y in zip(a, b, strict=True))
            and all(_same(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@PROPERTY
@given(st.lists(st.text(max_size=5) | st.integers(), max_size=20))
def test_sets_coerce_to_the_same_list_whatever_their_insertion_order(items: list[Any]) -> None:
    """A set becomes a list in a stable order, independent of how it was built."""
    assert coerce_value(_set_built_in_order(items)) == coerce_value(_set_built_in_order(items[::-1]))
    assert coerce_value(frozenset(items)) == coerce_value(set(items))


# ---- the documented rules ------------------------------------------------------------------------------


DOCUMENTED: list[tuple[Any, Any]] = [
    (dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC), "2024-05-06T07:08:09.123456+00:00"),
    (dt.date(2024, 5, 6), "2024-05-06"),
    (dt.time(7, 8, 9), "07:08:09"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    (Decimal("1.10"), "1.10"),
    (Path("/var/log/app.log"), "/var/log/app.log"),
    (Color.RED, "red"),
    (Color.PAIR, [1, 2]),
    (Color.HUGE, str(2**70)),
    (Number.ONE, 1),
    (Word.HELLO, "hello"),
    ((1, "a"), [1, "a"]),
    ({3, 1, 2}, [1, 2, 3]),
    (ValueError("bad input"), "ValueError: bad input"),
    (2**63, "9223372036854775808"),
    (-(2**63) - 1, "-9223372036854775809"),
    (2**63 - 1, 2**63 - 1),
    (bytearray(b"ab"), b"ab"),
    (memoryview(b"cd"), b"cd"),
    ({1: "a", None: "b", (1, 2): "c"}, {"1": "a", "None": "b", "(1, 2)": "c"}),
    (ReprOnly(), "ReprOnly()"),
    (Unprintable(), "<unprintable Unprintable>"),
    (BadStr("text"), "text"),
    (BadInt(2**70), str(2**70)),
    (BadInt(5), 5),
    (b"raw", b"raw"),
]


@pytest.mark.parametrize(("value", "expected"), DOCUMENTED, ids=[type(value).__name__ for value, _ in DOCUMENTED])
def test_documented_conversions(value: Any, expected: Any) -> None:
    """Each kind of value becomes what the module docstring promises, with exactly that type."""
    result = coerce_value(value)
    assert result == expected
    assert type(result) is type(expected)


def test_special_floats_are_kept_and_serialize() -> None:
    """NaN and infinities stay floats (OTel carries them) and dumps does not fail on them."""
    result = coerce_value([math.nan, math.inf, -math.inf])
    assert math.isnan(result[0])
    assert result[1:] == [math.inf, -math.inf]
    assert orjson.loads(dumps(result)) == [None, None, None]


def test_self_referencing_dict_and_list_become_cycle_markers() -> None:
    """A container that contains itself is cut where the cycle closes."""
    d: dict[str, Any] = {"name": "d"}
    d["self"] = d
    lst: list[Any] = [1]
    lst.append(lst)
    assert coerce_value(d) == {"name": "d", "self": "<cycle>"}
    assert coerce_value(lst) == [1, "<cycle>"]
    a: list[Any] = []
    b: dict[str, Any] = {"a": a}
    a.append(b)
    assert coerce_value(a) == [{"a": "<cycle>"}]


def test_shared_references_are_not_cycles() -> None:
    """The same container reached twice (without a loop) is coerced twice."""
    shared = [1, 2]
    assert coerce_value({"x": shared, "y": shared, "z": [shared]}) == {"x": [1, 2], "y": [1, 2], "z": [[1, 2]]}


@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: {"k": v}, lambda v: (v,)])
def test_nesting_deeper_than_max_depth_is_cut(wrap: Any) -> None:
    """Only MAX_DEPTH containers are kept; the next one is replaced by '<max depth>', even 10,000 deep."""
    value: Any = "leaf"
    for _ in range(10_000):
        value = wrap(value)
    result = coerce_value(value)
    for _ in range(MAX_DEPTH):
        assert isinstance(result, list | dict)
        (result,) = result.values() if isinstance(result, dict) else result
    assert result == "<max depth>"


def test_nesting_within_max_depth_is_kept_whole() -> None:
    """MAX_DEPTH nested containers are all kept, down to the leaf."""
    value: Any = "leaf"
    for _ in range(MAX_DEPTH):
        value = [value]
    assert coerce_value(value) == value


@pytest.mark.parametrize("make", [list, tuple, set, frozenset])
def test_sequences_longer_than_max_items_are_cut_with_a_marker(make: Any) -> None:
    """A container of MAX_ITEMS + 7 keeps MAX_ITEMS items and ends with a marker saying 7 were left out."""
    result = coerce_value(make(range(MAX_ITEMS + 7)))
    assert len(result) == MAX_ITEMS + 1
    assert all(type(item) is int for item in result[:MAX_ITEMS])
    assert isinstance(result[-1], str)
    assert "7" in result[-1]
    assert sorted(coerce_value(make(range(MAX_ITEMS)))) == list(range(MAX_ITEMS))


def test_mappings_longer_than_max_items_are_cut_with_a_marker() -> None:
    """A dict of MAX_ITEMS + 3 keeps MAX_ITEMS entries (the first ones) and adds one saying 3 were left out."""
    result = coerce_value({f"k{i}": i for i in range(MAX_ITEMS + 3)})
    assert len(result) == MAX_ITEMS + 1
    assert all(result[f"k{i}"] == i for i in range(MAX_ITEMS))
    (marker,) = (v for k, v in result.items() if not k.startswith("k"))
    assert "3" in marker


def test_containers_that_fail_to_iterate_become_text() -> None:
    """A list or mapping whose iteration raises becomes a string instead of an error."""
    assert type(coerce_value(BadIterList([1, 2]))) is str
    assert type(coerce_value(BadMapping())) is str


def test_datetime_whose_tzinfo_raises_does_not_raise() -> None:
    """A datetime whose tzinfo fails (isoformat raises) still coerces to a string."""

    class BrokenZone(dt.tzinfo):
        def utcoffset(self, when: dt.datetime | None) -> dt.timedelta:
            raise RuntimeError("zone database unavailable")

        def dst(self, when: dt.datetime | None) -> dt.timedelta:
            raise RuntimeError("zone database unavailable")

        def tzname(self, when: dt.datetime | None) -> str:
            raise RuntimeError("zone database unavailable")

    assert type(coerce_value(dt.datetime(2024, 1, 1, tzinfo=BrokenZone()))) is str
    assert type(coerce_value(dt.time(1, 2, tzinfo=BrokenZone()))) is str


def test_released_memoryview_does_not_raise() -> None:
    """A memoryview whose buffer was released cannot be read; it becomes a string, not an error."""
    view = memoryview(b"gone")
    view.release()
    assert type(coerce_value(view)) is str


def test_huge_ints_as_keys_and_in_int_subclasses_become_strings() -> None:
    """Ints beyond 64 bits become strings wherever they appear."""
    result = coerce_value({2**64: [BadInt(2**64), 2**64, -(2**64)]})
    assert result == {str(2**64): [str(2**64), str(2**64), str(-(2**64))]}
