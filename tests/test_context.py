"""Bound context follows the code: isolated per thread and task, carried into tasks, threads and executors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from fapilog import create_task_with_context, preserve_context, run_in_executor_with_context
from fapilog._context import bind_context, clear_context, current_context, unbind_context
from fapilog.testing import capture_logs


def _snapshot() -> dict[str, Any]:
    return dict(current_context())


def _in_thread(func: Any) -> Any:
    """Run ``func`` in a new thread and return its result."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(func()))
    thread.start()
    thread.join()
    return result[0]


def test_bind_unbind_and_clear() -> None:
    """bind adds (later values win), unbind removes the keys named, clear removes everything."""
    bind_context(request_id="r1", user_id="u1")
    bind_context(request_id="r2", tenant_id="t")
    assert _snapshot() == {"request_id": "r2", "user_id": "u1", "tenant_id": "t"}
    unbind_context("user_id", "not_bound")
    assert _snapshot() == {"request_id": "r2", "tenant_id": "t"}
    clear_context()
    assert _snapshot() == {}


def test_the_bound_mapping_is_read_only_and_never_changes_under_a_reader() -> None:
    """current_context() cannot be modified, and a mapping taken earlier keeps its values after later binds."""
    bind_context(request_id="r1")
    earlier = current_context()
    with pytest.raises(TypeError):
        earlier["request_id"] = "x"  # type: ignore[index]
    bind_context(request_id="r2")
    unbind_context("request_id")
    assert dict(earlier) == {"request_id": "r1"}


def test_threads_do_not_share_bindings() -> None:
    """A new thread starts without the creator's bindings, and what it binds stays in it."""
    bind_context(request_id="main")

    def work() -> tuple[dict[str, Any], dict[str, Any]]:
        seen = _snapshot()
        bind_context(request_id="thread")
        return seen, _snapshot()

    seen, after = _in_thread(work)
    assert seen == {}
    assert after == {"request_id": "thread"}
    assert _snapshot() == {"request_id": "main"}


def test_concurrent_tasks_never_see_each_others_bindings() -> None:
    """Two interleaved tasks binding different request_ids each see only their own."""
    seen: dict[str, Mapping[str, Any]] = {}

    async def task(name: str, mine: asyncio.Event, other: asyncio.Event) -> None:
        bind_context(request_id=name)
        mine.set()
        await other.wait()  # the other task has bound its own value by now
        seen[name] = current_context()

    async def main() -> None:
        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(task("a", a, b), task("b", b, a))
        assert _snapshot() == {}

    asyncio.run(main())
    assert dict(seen["a"]) == {"request_id": "a"}
    assert dict(seen["b"]) == {"request_id": "b"}


def test_tasks_inherit_the_creators_context_but_do_not_change_it() -> None:
    """A task sees what its creator bound; what the task binds never reaches the creator."""

    async def child() -> dict[str, Any]:
        seen = _snapshot()
        bind_context(request_id="child", extra=1)
        return seen

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        bind_context(request_id="parent")
        seen = await asyncio.create_task(child())
        return seen, _snapshot()

    seen, parent_after = asyncio.run(main())
    assert seen == {"request_id": "parent"}
    assert parent_after == {"request_id": "parent"}


def test_create_task_with_context_copies_the_callers_context_at_creation() -> None:
    """create_task_with_context names the task and runs it in a copy of the context as it was when created."""

    async def child() -> dict[str, Any]:
        seen = _snapshot()
        bind_context(request_id="child")
        return seen

    async def main() -> tuple[str, dict[str, Any], dict[str, Any]]:
        bind_context(request_id="parent")
        task = create_task_with_context(child(), name="worker-1")
        bind_context(request_id="changed-after-creation")
        seen = await task
        return task.get_name(), seen, _snapshot()

    name, seen, parent_after = asyncio.run(main())
    assert name == "worker-1"
    assert seen == {"request_id": "parent"}
    assert parent_after == {"request_id": "changed-after-creation"}


def test_preserve_context_carries_bindings_into_a_thread() -> None:
    """A function wrapped by preserve_context runs in a thread with the bindings of when it was wrapped."""
    bind_context(request_id="r-42")
    wrapped = preserve_context(_snapshot)
    bind_context(request_id="later")
    assert _in_thread(_snapshot) == {}  # a plain thread has none
    assert _in_thread(wrapped) == {"request_id": "r-42"}
    assert wrapped.__name__ == "_snapshot"


def test_preserve_context_passes_arguments_and_does_not_leak_back() -> None:
    """The wrapper passes arguments through, and bindings made inside do not persist between calls."""
    bind_context(request_id="r")

    def work(a: int, *, b: int) -> tuple[int, dict[str, Any]]:
        seen = _snapshot()
        bind_context(request_id="inside")
        return a + b, seen

    wrapped = preserve_context(work)
    assert _in_thread(lambda: wrapped(1, b=2)) == (3, {"request_id": "r"})
    assert wrapped(3, b=4) == (7, {"request_id": "r"})
    assert _snapshot() == {"request_id": "r"}


@pytest.mark.parametrize("own_executor", [False, True])
def test_run_in_executor_with_context_carries_bindings(own_executor: bool) -> None:
    """Work run in an executor (the default or a given one) sees the caller's bindings and returns its result."""

    def work(prefix: str) -> str:
        return f"{prefix}:{current_context().get('request_id')}"

    async def main(executor: ThreadPoolExecutor | None) -> tuple[str, str]:
        bind_context(request_id="r-7")
        plain = await asyncio.get_running_loop().run_in_executor(executor, work, "plain")
        carried = await run_in_executor_with_context(work, "carried", executor=executor)
        return plain, carried

    with ThreadPoolExecutor(max_workers=1) as pool:
        plain, carried = asyncio.run(main(pool if own_executor else None))
    assert plain == "plain:None"  # without the helper, the worker thread has no bindings
    assert carried == "carried:r-7"


def test_bound_request_ids_reach_only_their_own_tasks_records() -> None:
    """End to end: a request_id bound in a task is in that task's envelopes' context, never in another's."""

    async def handle(logger: Any, name: str, request_id: str | None, ready: asyncio.Barrier) -> None:
        if request_id is not None:
            logger.bind(request_id=request_id)
        await ready.wait()  # every task has bound (or not) before any logs
        logger.info(f"from {name}")
        await asyncio.sleep(0)
        logger.info(f"again from {name}")

    with capture_logs() as (logger, exp):

        async def main() -> None:
            ready = asyncio.Barrier(3)
            await asyncio.gather(
                handle(logger, "a", "req-a", ready),
                handle(logger, "b", "req-b", ready),
                handle(logger, "c", None, ready),
            )

        asyncio.run(main())
    by_message = {e["log"]["message"]: e["log"]["context"] for e in exp.envelopes()}
    assert len(by_message) == 6
    for name, expected in (("a", "req-a"), ("b", "req-b"), ("c", None)):
        for message in (f"from {name}", f"again from {name}"):
            assert by_message[message].get("request_id") == expected


def test_a_record_keeps_the_context_of_its_call() -> None:
    """Binding after a call does not change that call's record."""
    with capture_logs() as (logger, exp):
        logger.bind(request_id="first")
        logger.info("one")
        logger.bind(request_id="second", user_id="u")
        logger.info("two")
        logger.unbind("request_id").info("three")
    contexts = [e["log"]["context"] for e in exp.envelopes()]
    assert contexts == [{"request_id": "first"}, {"request_id": "second", "user_id": "u"}, {"user_id": "u"}]
