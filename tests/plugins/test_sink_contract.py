"""The seed's sink contract through the adapter: write_serialized (one serialization, used instead of
write), health_check, and start/stop errors contained."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from fapilog import Settings, get_logger, testing
from fapilog._diagnostics import Diagnostics
from fapilog._sinks import SinkAdapter, build_exporters
from fapilog.plugins.sinks import BaseSink, SerializedView


class BytesSink:
    """A sink that prefers bytes, and has write() too."""

    name = "bytes"

    def __init__(self) -> None:
        self.views: list[SerializedView] = []
        self.entries: list[dict[str, Any]] = []

    async def write(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)

    async def write_serialized(self, view: SerializedView) -> None:
        self.views.append(view)


def test_write_serialized_is_used_instead_of_write() -> None:
    """With serialize_in_flush, a sink with write_serialized gets each entry as a view of its JSON envelope;
    write() is not called."""
    sink = BytesSink()
    (adapter,) = build_exporters(
        [sink], console="stdout_json", diagnostics=Diagnostics(), settings=Settings(core={"serialize_in_flush": True})
    )
    log = get_logger("bytes", sinks=[adapter])
    log.info("one", n=1)
    log.info("two\nlines")
    log.drain()
    assert sink.entries == []
    docs = [orjson.loads(bytes(view)) for view in sink.views]
    assert [d["log"]["message"] for d in docs] == ["one", "two\nlines"]
    assert docs[0]["log"]["data"] == {"n": 1}
    assert all(isinstance(view.data, memoryview) for view in sink.views)
    assert not bytes(sink.views[0]).endswith(b"\n")


def test_without_serialize_in_flush_write_is_used() -> None:
    """With serialize_in_flush off, a sink that has both methods gets envelope dicts through write()."""
    sink = BytesSink()
    (adapter,) = build_exporters(
        [sink], console="stdout_json", diagnostics=Diagnostics(), settings=Settings(core={"serialize_in_flush": False})
    )
    log = get_logger("dicts", sinks=[adapter])
    log.info("as a dict")
    log.drain()
    assert sink.views == []
    assert [e["log"]["message"] for e in sink.entries] == ["as a dict"]


class OnlyBytes:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    async def write_serialized(self, view: SerializedView) -> None:
        self.data.append(bytes(view))


def test_a_sink_with_only_write_serialized_is_accepted() -> None:
    """write_serialized alone makes an object a sink (even with serialize_in_flush off)."""
    sink = OnlyBytes()
    (adapter,) = build_exporters(
        [sink], console="stdout_json", diagnostics=Diagnostics(), settings=Settings(core={"serialize_in_flush": False})
    )
    log = get_logger("only", sinks=[adapter])
    log.info("bytes only")
    log.drain()
    assert b'"message":"bytes only"' in sink.data[0]


class Moody:
    """A sink whose start fails once, whose writes of 'bad' fail, and whose stop and health_check fail."""

    name = "moody"

    def __init__(self) -> None:
        self.starts = 0
        self.messages: list[str] = []

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("not yet")

    async def write(self, entry: dict[str, Any]) -> None:
        if entry["log"]["message"] == "bad":
            raise ValueError("bad entry")
        self.messages.append(entry["log"]["message"])

    async def stop(self) -> None:
        raise RuntimeError("stop failed")

    async def health_check(self) -> bool:
        raise RuntimeError("unknown")


def test_start_write_stop_errors_are_contained_and_start_is_retried() -> None:
    """A failing start fails its batch and is retried with the next; write and stop errors never raise."""
    sink = Moody()
    log = get_logger("moody", sinks=[sink])
    log.info("lost while starting")
    first = log.drain()
    log.info("good")
    log.info("bad")
    second = log.drain()
    assert first.export_failures == 1
    assert second.export_failures >= 1
    assert sink.starts == 2
    assert sink.messages == ["good"]
    testing.reset()  # stop() raises inside: contained


def test_health_check_reports_the_sinks_answer() -> None:
    """The adapter's health_check is the sink's (True when it has none, False when it raises)."""

    class Healthy:
        async def write(self, entry: dict[str, Any]) -> None:
            pass

        def health_check(self) -> bool:
            return True

    class Plain:
        async def write(self, entry: dict[str, Any]) -> None:
            pass

    async def checks() -> list[bool]:
        return [
            await SinkAdapter(Healthy()).health_check(),
            await SinkAdapter(Plain()).health_check(),
            await SinkAdapter(Moody()).health_check(),
        ]

    assert asyncio.run(checks()) == [True, True, False]


def test_base_sink_is_a_runtime_protocol() -> None:
    """BaseSink matches any object with start/write/stop, whether or not it subclasses it."""

    class Explicit(BaseSink):
        async def write(self, entry: dict[str, Any]) -> None:
            pass

    assert isinstance(Explicit(), BaseSink)
    assert isinstance(Moody(), BaseSink)
    assert not isinstance(OnlyBytes(), BaseSink)
    assert asyncio.run(Explicit().start()) is None
    assert bytes(SerializedView(memoryview(b"{}"))) == b"{}"
