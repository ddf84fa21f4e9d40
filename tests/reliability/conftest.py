"""The reliability suite's shared parts: the figures the tests measure, and the report test running last."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CACHE_KEY = "fapilog/reliability-figures"


class Figures:
    """Figures measured by the tests of this session (name -> value), for the report and for CI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.measured: dict[str, int] = {}

    def add(self, name: str, value: int, *, accumulate: bool = False) -> None:
        with self._lock:
            self.measured[name] = self.measured.get(name, 0) + value if accumulate else value


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """The session's measured figures; written to the pytest cache (and printed as JSON) at the end."""
    yield _FIGURES
    cache = getattr(request.config, "cache", None)
    if cache is not None and _FIGURES.measured:
        cache.set(CACHE_KEY, dict(sorted(_FIGURES.measured.items())))
        path = cache.mkdir("fapilog") / "reliability-figures.json"
        path.write_text(json.dumps(dict(sorted(_FIGURES.measured.items())), indent=2) + "\n", encoding="utf-8")


def measured_figures() -> dict[str, int]:
    """What the tests of this session have measured so far."""
    return dict(_FIGURES.measured)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The report test runs after every other test of the suite, so it sees what they measured."""
    report = [item for item in items if Path(str(item.path)).resolve() == HERE / "test_report.py"]
    if report:
        rest = [item for item in items if item not in report]
        items[:] = rest + report
