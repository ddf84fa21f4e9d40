"""Sink specs: names, dicts, exporters and seed-contract sink objects (adapted, with errors contained)."""

from __future__ import annotations

from typing import Any

import pytest

from fapilog import Settings, get_logger, testing


class SeedSink:
    """A sink following fapilog 0.18's contract: async start / write(entry) / stop."""

    name = "seed"

    def __init__(self, fail_on: str | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.started = 0
        self.stopped = 0
        self.fail_on = fail_on

    async def start(self) -> None:
        self.started += 1

    async def write(self, entry: dict[str, Any]) -> None:
        if entry["log"]["message"] == self.fail_on:
            raise OSError("disk full")
        self.entries.append(entry)

    async def stop(self) -> None:
        self.stopped += 1


def test_seed_contract_sink_receives_envelopes() -> None:
    """A start/write/stop sink gets started once, one envelope dict per record, and stopped at close."""
    sink = SeedSink()
    log = get_logger("seed", sinks=[sink])
    log.info("a", k=1)
    log.info("b")
    log.drain()
    assert (sink.started, sink.stopped) == (1, 0)
    testing.reset()  # drains and closes every cached logger's pipeline
    assert [e["log"]["message"] for e in sink.entries] == ["a", "b"]
    assert sink.entries[0]["log"]["data"] == {"k": 1}
    assert (sink.started, sink.stopped) == (1, 1)


def test_seed_sink_passed_as_sinks_argument_with_errors_contained() -> None:
    """sinks=[obj] adapts a seed-contract sink; a write that raises is counted, never raised."""
    sink = SeedSink(fail_on="bad")
    log = get_logger("seed", sinks=[sink])
    log.info("good")
    log.info("bad")
    log.info("after")
    result = log.drain()
    assert [e["log"]["message"] for e in sink.entries] == ["good", "after"]
    assert result.export_failures >= 1
    assert result.processed == 3


def test_sink_dict_with_unknown_option_fails_at_start_up() -> None:
    """A sink dict with an option its exporter does not take fails naming the sink type."""
    with pytest.raises(ValueError, match="stdout_json"):
        get_logger("bad", settings=Settings(sinks=[{"type": "stdout_json", "colour": True}]))


def test_not_a_sink_is_refused() -> None:
    """An object that is neither an exporter nor a sink is refused at start-up."""
    with pytest.raises(ValueError, match="not a sink"):
        get_logger("bad", sinks=[42])
