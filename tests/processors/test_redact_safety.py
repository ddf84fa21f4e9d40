"""ReDoS safety: backtracking-prone patterns are refused at configuration; the built-in ones scan in linear time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from fapilog.processors import RegexMask, UrlCredentials
from fapilog.processors._redact_patterns import BUILTIN_PATTERNS
from fapilog.processors._redact_safety import compile_safe

UNSAFE = [
    (r"(a+)+$", "a quantifier inside a quantified group"),
    (r"(a*)*", "can match the empty string"),
    (r"(a|aa)*b", "alternatives inside a quantified group"),
    (r"(a|a)*", "alternatives inside a quantified group"),
    (r"(.*)*x", "can match the empty string"),
    (r"(\w+\s?)+$", "a quantifier inside a quantified group"),
    (r"(.*a){12}", "a quantifier inside a quantified group"),
    (r"(a?){25}a{25}", "can match the empty string"),
    (r"(\d+|\w+)+", "a quantifier inside a quantified group"),
    (r"(ab|a)*c", "alternatives inside a quantified group"),
    (r"(\w\d|\d\w)+", "alternatives inside a quantified group"),
    (r"(x+x+)+y", "a quantifier inside a quantified group"),
    (r"(?=(a+)+)b", "a quantifier inside a quantified group"),
    (r"\d+\d*", "two unbounded quantifiers"),
    (r".*.*=", "two unbounded quantifiers"),
    (r"\d+\.?\d+", "two unbounded quantifiers"),
    (r"(?i:a)+(?i:A)+", "two unbounded quantifiers"),
    (r"(a)\1", "backreferences are not allowed"),
    (r"(?P<x>a)(?P=x)", "backreferences are not allowed"),
    (r"(a)?(?(1)b|c)", "backreferences are not allowed"),
    (r"x*", "matches the empty string"),
]

SAFE = [
    r"ORD-\d{4}",
    r"(?:-\w+)*x",
    r"\w+(?:\.\w+)+",
    r"(?:\w+,)+",
    r"(foo|bar|baz)+",
    r"[0-9](?:[ -]?[0-9]){12,18}",
    r"password\s*[:=]\s*\S+",
    r"[a-z]+[A-Z]+",
    r"(?i)[a-z]+\d+",
    r"(?:ab|cd)*e",
    r"\s*:\s*",
]


@pytest.mark.parametrize(("pattern", "reason"), UNSAFE, ids=[p for p, _ in UNSAFE])
def test_backtracking_prone_patterns_are_refused(pattern: str, reason: str) -> None:
    """Nested quantifiers, overlapping alternatives, adjacent quantifiers and backreferences are refused by name."""
    with pytest.raises(ValueError, match=re.escape(f"unsafe pattern {pattern!r}: ") + ".*" + re.escape(reason)):
        RegexMask([pattern])


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_are_accepted(pattern: str) -> None:
    """Patterns without those shapes compile, including quantified groups delimited by a separator."""
    assert RegexMask([pattern]).patterns == (pattern,)


def test_builtin_patterns_pass_the_same_check() -> None:
    """Every built-in pattern (and the URL stage's) would be accepted as a user pattern."""
    for builtin in BUILTIN_PATTERNS.values():
        compile_safe(builtin.regex)
    from fapilog.processors import _redact_urls

    for regex in (_redact_urls._USERINFO, _redact_urls._PARAM, _redact_urls._PARAM_NAME, _redact_urls._VALUE_END):
        compile_safe(regex.pattern)


ADVERSARIAL = [
    "a",
    "1",
    "1 ",
    "1-",
    "11-1",
    "eyJ-",
    "eyJa.",
    "Bearer ",
    "AKIA",
    "a@",
    "@a.",
    "a.",
    "password=",
    "password: ",
    '"api_key":"',
    "aws_secret_key=",
    "//a:",
    "http://u:p",
    "?token=",
    "&a",
    "123-45-",
]


def _best_of(run: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("name", [*BUILTIN_PATTERNS, "url_credentials"])
def test_scanning_grows_linearly_on_adversarial_inputs(name: str) -> None:
    """On 100 KB strings built to provoke backtracking, scanning takes < 50x the time of 10 KB (quadratic: ~100x).

    The 10 KB time is floored at 1 ms so that timer noise on a tiny baseline cannot fail the comparison.
    """
    stage = UrlCredentials(max_string_length=10**6) if name == "url_credentials" else None
    mask = RegexMask([name], max_string_length=10**6) if stage is None else None
    scan = stage.scan if stage is not None else mask.scan  # type: ignore[union-attr]
    for unit in ADVERSARIAL:
        small = unit * (10_000 // len(unit))
        large = unit * (100_000 // len(unit))
        t_small = _best_of(lambda s=small: scan(s))  # type: ignore[misc]
        t_large = _best_of(lambda s=large: scan(s))  # type: ignore[misc]
        assert t_large < 50 * max(t_small, 0.001), f"{name} on {unit!r}*n: {t_small:.4f}s -> {t_large:.4f}s"


def test_the_scan_cap_bounds_any_accepted_pattern() -> None:
    """With the default cap, a 1 MB string is scanned in its first 64 KiB only, and the rest is dropped."""
    stage = RegexMask([r"ORD-\d{4}"])
    out = stage.scan("ORD-1234 " + "x" * 1_000_000)
    assert out.startswith("*** x")
    assert out.endswith(f"...[{1_000_009 - 65_536} characters dropped: too long to scan]")
