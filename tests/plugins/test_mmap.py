"""MemoryMappedPersistence on real files: appends, growth, truncation at close, crash recovery, sync modes,
health, and the seed's MyMmapSink end to end."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from fapilog import get_logger, testing
from fapilog.plugins.sinks import BaseSink, MemoryMappedPersistence
from tests.test_seed_snippets import SINKS_MMAP as SEED_MMAP_SINK


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_append_line_then_close_leaves_exactly_the_lines(tmp_path: Path) -> None:
    """The file is mapped with room to spare, and truncated at close to the bytes written."""
    path = tmp_path / "sub" / "data.log"

    async def main() -> tuple[int, int]:
        store = MemoryMappedPersistence(path, initial_size="64 KiB")
        await store.open()
        capacity_open = os.path.getsize(path)
        await store.append_line(b"first")
        offset = await store.append(b"raw")
        await store.append_line(memoryview(b"second"))
        await store.close()
        return capacity_open, offset

    capacity_open, offset = run(main())
    assert capacity_open == 65_536
    assert offset == 6
    assert path.read_bytes() == b"first\nrawsecond\n"


def test_the_file_grows_by_the_growth_factor(tmp_path: Path) -> None:
    """An append that does not fit grows the file (by growth_factor, at least enough) and keeps every byte."""
    path = tmp_path / "grow.log"
    line = b"x" * 999

    async def main() -> list[int]:
        store = MemoryMappedPersistence(path, initial_size=4096, growth_factor=1.5)
        await store.open()
        capacities = [store.capacity]
        for _ in range(100):
            await store.append_line(line)
            if store.capacity != capacities[-1]:
                capacities.append(store.capacity)
        await store.append_line(b"y" * 500_000)  # far more than 1.5x: grows to fit
        capacities.append(store.capacity)
        await store.close()
        return capacities

    capacities = run(main())
    assert capacities[:2] == [4096, 8192]  # 4096 * 1.5, rounded up to the allocation granularity
    assert all(b > a for a, b in itertools.pairwise(capacities))
    assert capacities[-1] >= 100 * 1000 + 500_001
    assert path.read_bytes() == (line + b"\n") * 100 + b"y" * 500_000 + b"\n"


def test_reopening_appends_after_the_existing_data(tmp_path: Path) -> None:
    """open() on an existing file continues after its data."""
    path = tmp_path / "again.log"
    path.write_bytes(b"old\n")

    async def main() -> int:
        store = MemoryMappedPersistence(path, initial_size=4096)
        await store.open()
        found = store.written
        await store.append_line(b"new")
        await store.close()
        return found

    assert run(main()) == 4
    assert path.read_bytes() == b"old\nnew\n"


_CRASH = """
import asyncio, os, sys
from fapilog.plugins.sinks import MemoryMappedPersistence

async def main():
    store = MemoryMappedPersistence(sys.argv[1], initial_size=8192, sync="never")
    await store.open()
    for i in range(50):
        await store.append_line(b"line %d" % i)
    os._exit(0)  # no close(): the process dies with the file still mapped

asyncio.run(main())
"""


def test_data_survives_a_process_that_dies_without_close(tmp_path: Path) -> None:
    """Appended bytes reach the file even without close(); open() skips the zero padding and continues."""
    path = tmp_path / "crash.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    subprocess.run([sys.executable, "-c", _CRASH, str(path)], env=env, check=True, timeout=60)
    raw = path.read_bytes()
    assert len(raw) == 8192
    assert raw.rstrip(b"\0") == b"".join(b"line %d\n" % i for i in range(50))

    async def main() -> None:
        store = MemoryMappedPersistence(path, initial_size=8192)
        await store.open()
        await store.append_line(b"after restart")
        await store.close()

    run(main())
    assert path.read_bytes().splitlines()[-2:] == [b"line 49", b"after restart"]


@pytest.mark.parametrize("sync", ["never", "close", "always"])
def test_every_sync_mode_writes_the_same_bytes(tmp_path: Path, sync: str) -> None:
    """sync never / close / always differ in durability, not in content; flush() is always allowed."""
    path = tmp_path / f"{sync}.log"

    async def main() -> None:
        async with MemoryMappedPersistence(path, initial_size=4096, sync=sync) as store:  # type: ignore[arg-type]
            for i in range(2000):
                await store.append_line(b"%d" % i)
            await store.flush()

    run(main())
    assert path.read_bytes() == b"".join(b"%d\n" % i for i in range(2000))


def test_health_check_and_misuse(tmp_path: Path) -> None:
    """health_check: True while open, False once closed or when the file was deleted; bad use raises."""
    path = tmp_path / "health.log"

    async def main() -> list[bool]:
        store = MemoryMappedPersistence(path)
        states = [await store.health_check()]
        with pytest.raises(RuntimeError, match="not open"):
            await store.append_line(b"too early")
        await store.open()
        await store.open()  # idempotent
        states.append(await store.health_check())
        path.unlink()
        states.append(await store.health_check())
        await store.close()
        await store.close()  # idempotent
        states.append(await store.health_check())
        return states

    assert run(main()) == [False, True, False, False]
    with pytest.raises(ValueError, match="growth_factor"):
        MemoryMappedPersistence(path, growth_factor=1.0)
    with pytest.raises(ValueError, match="initial_size"):
        MemoryMappedPersistence(path, initial_size=0)
    with pytest.raises(ValueError, match="sync"):
        MemoryMappedPersistence(path, sync="sometimes")  # type: ignore[arg-type]


def test_seed_mmap_sink_works_end_to_end(tmp_path: Path) -> None:
    """The seed's MyMmapSink, verbatim, as get_logger(sinks=[MyMmapSink(path)]): every entry lands in the
    file, which is cut to its data when the logger's pipeline closes."""
    namespace: dict[str, Any] = {}
    exec(SEED_MMAP_SINK, namespace)
    path = tmp_path / "app.mmap"
    sink = namespace["MyMmapSink"](str(path))
    assert isinstance(namespace["MyMmapSink"](str(path)), BaseSink)  # it follows the protocol
    log = get_logger("mmap", sinks=[sink])
    for i in range(100):
        log.info("mapped", i=i)
    log.drain()
    assert run(sink.health_check()) is True
    testing.reset()  # closes every pipeline: stop() closes the map
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line)["log"]["data"]["i"] for line in lines] == list(range(100))
