"""Sizes and durations written the way people write them in settings."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fapilog._units import parse_duration, parse_size

PROPERTY = settings(deadline=None)

_DECIMAL = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_BINARY = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 MB", 10_000_000),
        ("64 MiB", 64 * 1024 * 1024),
        ("1 KB", 1000),
        ("1 KiB", 1024),
        ("2 GB", 2_000_000_000),
        ("3 GiB", 3 * 2**30),
        ("1 TB", 10**12),
        ("512", 512),
        ("512 B", 512),
        ("1.5 KiB", 1536),
        ("10mb", 10_000_000),
        ("  10  kb  ", 10_000),
        ("7 k", 7000),
    ],
)
def test_size_strings_use_decimal_and_binary_units(text: str, expected: int) -> None:
    """KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024, case and spaces do not matter."""
    assert parse_size(text) == expected


@PROPERTY
@given(st.data(), st.sampled_from(sorted({**_DECIMAL, **_BINARY}.items())))
def test_whole_sizes_in_any_unit_are_exact(data: st.DataObject, unit: tuple[str, int]) -> None:
    """A whole number in any unit is that number times the unit, exactly (up to 2**53 bytes, 8 PiB)."""
    name, multiplier = unit
    number = data.draw(st.integers(min_value=0, max_value=2**53 // multiplier))
    assert parse_size(f"{number} {name}".strip()) == number * multiplier


@PROPERTY
@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=999))
@example(1, 1)  # "1.001 KB" is 1001 bytes, not 1000
@example(2, 10)  # "2.010 KB"
def test_fractional_kilobytes_are_not_truncated_by_float_rounding(whole: int, thousandths: int) -> None:
    """ "W.TTT KB" is exactly W*1000 + TTT bytes (decimal fractions must not lose a byte to binary floats)."""
    assert parse_size(f"{whole}.{thousandths:03d} KB") == whole * 1000 + thousandths


def test_fractional_megabytes_are_exact() -> None:
    """ "2.01 MB" is 2,010,000 bytes."""
    assert parse_size("2.01 MB") == int(Fraction("2.01") * 10**6) == 2_010_000


@PROPERTY
@given(st.integers(min_value=0, max_value=2**53))
def test_numbers_are_bytes(number: int) -> None:
    """An int, a float with no fraction, or a digit string is a number of bytes."""
    assert parse_size(number) == number
    assert parse_size(str(number)) == number
    if number < 2**52:
        assert parse_size(float(number)) == number


@pytest.mark.parametrize("bad", ["ten MB", "10 XB", "", "10 MBs", "-1 MB", "10 ib", "1e3", "MB", "10 M B", "0x10"])
def test_bad_size_strings_raise_value_error_naming_the_value(bad: str) -> None:
    """A string that is not a size raises ValueError quoting what was given."""
    with pytest.raises(ValueError, match="not a size") as info:
        parse_size(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [-1, -0.5, True, False])
def test_negative_and_boolean_sizes_raise(bad: int | float) -> None:
    """Negative numbers and booleans are not sizes."""
    with pytest.raises(ValueError, match=repr(bad).replace(".", r"\.")):
        parse_size(bad)


@pytest.mark.parametrize("bad", [math.inf, math.nan, "9" * 400])
def test_unrepresentable_sizes_raise_value_error(bad: float | str) -> None:
    """Infinity, NaN and numbers too large for a float raise ValueError (not OverflowError)."""
    with pytest.raises(ValueError):
        parse_size(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("2h", 7200.0),
        ("3m", 180.0),
        ("1d", 86400.0),
        ("1.5m", 90.0),
        ("10", 10.0),
        (" 5 S ", 5.0),
        ("hourly", 3600.0),
        ("daily", 86400.0),
        ("weekly", 7 * 86400.0),
        ("DAILY", 86400.0),
    ],
)
def test_duration_strings(text: str, expected: float) -> None:
    """Durations take ms/s/m/h/d suffixes (seconds when there is none) and the names hourly/daily/weekly."""
    assert parse_duration(text) == pytest.approx(expected)


@PROPERTY
@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]))
def test_whole_durations_scale_by_unit(number: int, unit: tuple[str, float]) -> None:
    """N<unit> is N times the unit in seconds, and the result is a float."""
    result = parse_duration(f"{number}{unit[0]}")
    assert isinstance(result, float)
    assert result == pytest.approx(number * unit[1])


@pytest.mark.parametrize("number", [0, 1, 2.5, 3600])
def test_numbers_are_seconds(number: float) -> None:
    """A number is a duration in seconds, returned as a float."""
    result = parse_duration(number)
    assert result == number
    assert isinstance(result, float)


@pytest.mark.parametrize("bad", ["5 years", "", "-5s", "fast", "5 sec", "ms", "1h30m", -1, True])
def test_bad_durations_raise_value_error_naming_the_value(bad: str | int) -> None:
    """Anything that is not a duration raises ValueError quoting what was given."""
    with pytest.raises(ValueError, match="duration") as info:
        parse_duration(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "9" * 400])
def test_non_finite_durations_raise(bad: float | str) -> None:
    """NaN and infinity, given as numbers or as digit strings too large for a float, are not durations."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
