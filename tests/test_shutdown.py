"""Draining at interpreter exit, on SIGTERM/SIGINT, and after os.fork, in real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import orjson
import pytest


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def messages(stdout: str) -> list[str]:
    return [orjson.loads(line)["log"]["message"] for line in stdout.splitlines() if line.startswith("{")]


def test_atexit_drains_everything_queued() -> None:
    """Records still queued when the interpreter exits are exported by the drain at exit."""
    result = run(
        """
        from fapilog import Settings, get_logger
        log = get_logger("exit", settings=Settings(format="json", core={"batch_timeout_seconds": 60}))
        for i in range(5000):
            log.info(f"m{i}")
        """
    )
    assert result.returncode == 0, result.stderr
    assert messages(result.stdout) == [f"m{i}" for i in range(5000)]


def test_atexit_drain_can_be_disabled() -> None:
    """With atexit_drain_enabled=False, nothing is drained at exit (records waiting for a batch are lost)."""
    result = run(
        """
        from fapilog import Settings, get_logger
        core = {"batch_timeout_seconds": 60, "atexit_drain_enabled": False}
        log = get_logger("exit", settings=Settings(format="json", core=core))
        log.info("never exported")
        """
    )
    assert result.returncode == 0, result.stderr
    assert messages(result.stdout) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_then_behaves_as_before(signum: int) -> None:
    """With install_shutdown_handlers, SIGTERM/SIGINT drain within the deadline, then the old handler runs."""
    code = textwrap.dedent(
        """
        import sys, time
        from fapilog import Settings, get_logger, install_shutdown_handlers
        assert install_shutdown_handlers(timeout=5)
        log = get_logger("sig", settings=Settings(format="json", core={"batch_timeout_seconds": 60}))
        for i in range(2000):
            log.info(f"m{i}")
        print("ready", file=sys.stderr, flush=True)
        time.sleep(30)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "ready"
    start = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 20
    assert messages(out) == [f"m{i}" for i in range(2000)]
    if signum == signal.SIGTERM:
        assert proc.returncode == -signal.SIGTERM
    else:
        assert "KeyboardInterrupt" in err


def test_fork_child_gets_a_fresh_worker_and_never_resends_the_parent_queue() -> None:
    """After os.fork the child logs through its own worker; records queued in the parent stay the parent's."""
    result = run(
        """
        import os, sys
        from fapilog import Settings, get_logger
        log = get_logger("fork", settings=Settings(format="json", core={"batch_timeout_seconds": 60}))
        for i in range(100):
            log.info("parent-before", i=i)
        pid = os.fork()
        if pid == 0:
            log.info("child", pid=os.getpid())
            r = log.drain(5)
            sys.stdout.flush()
            os._exit(0 if (r.submitted, r.processed) == (1, 1) else 3)
        _, status = os.waitpid(pid, 0)
        log.info("parent-after")
        r = log.drain(5)
        print("child-status", os.waitstatus_to_exitcode(status), r.submitted, r.processed, file=sys.stderr)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line)["log"] for line in result.stdout.splitlines() if line.startswith("{")]
    names = [line["message"] for line in lines]
    assert names.count("child") == 1
    assert names.count("parent-before") == 100
    assert names[-1] == "parent-after"
    assert "child-status 0 101 101" in result.stderr
    child = next(line for line in lines if line["message"] == "child")
    assert child["diagnostics"]["pid"] == child["data"]["pid"]
