"""docs/reliability.md states the suite's figures, only those, and they match what this run measured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._figures import FIGURES, HOSTILE_SURFACES
from .conftest import measured_figures

pytestmark = pytest.mark.reliability

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<value>[0-9,]+) \|$")
ALLOWED_IN_PROSE = ("UTF-8",)  # names with a digit that are not figures


def stated() -> dict[str, str]:
    """The figures table of the page: name -> value as written."""
    rows = [ROW.match(line) for line in PAGE.read_text(encoding="utf-8").splitlines()]
    return {m.group("name"): m.group("value") for m in rows if m is not None}


def test_the_page_states_every_figure_of_the_suite() -> None:
    """The figures table names exactly the suite's figures, each with the suite's value (thousands with commas)."""
    table = stated()
    assert set(table) == set(FIGURES), f"missing {set(FIGURES) - set(table)}, unknown {set(table) - set(FIGURES)}"
    for name, value in FIGURES.items():
        assert table[name] == f"{value:,}", f"{name}: the page says {table[name]}, the suite {value:,}"


def test_the_page_has_no_number_outside_the_figures_table() -> None:
    """Prose, lists and code on the page carry no number of their own: every figure comes from the table."""
    text = PAGE.read_text(encoding="utf-8")
    for allowed in ALLOWED_IN_PROSE:
        text = text.replace(allowed, "")
    prose = [line for line in text.splitlines() if ROW.match(line) is None]
    numbers = [(line, m.group()) for line in prose for m in re.finditer(r"\d+", line)]
    assert not numbers, f"numbers outside the figures table: {numbers}"


def test_what_this_run_measured_matches_the_page() -> None:
    """Each figure the tests of this run measured (they run before this one) equals the page's figure."""
    measured = measured_figures()
    if not any(name in FIGURES for name in measured):
        pytest.skip("no reliability test ran before this one in this session")
    parts = [f"hostile_examples.{surface}" for surface in HOSTILE_SURFACES]
    if not all(part in measured for part in parts):  # an accumulated figure is complete only with every part
        measured.pop("hostile_examples_total", None)
    table = stated()
    compared = 0
    for name, value in measured.items():
        if name in FIGURES:
            assert table[name] == f"{value:,}", f"{name}: this run measured {value:,}, the page says {table[name]}"
            compared += 1
    assert compared > 0
