"""The reliability suite's figures: the sizes of what it tries, in one place.

The tests take their case counts and loads from these constants and assert that exactly the expected
counts held; ``FIGURES`` names each figure docs/reliability.md states, and ``test_report`` checks that the
page states these values and no other numbers. Figures the tests measure are also recorded (see
``conftest.Figures``) and written to ``.pytest_cache`` for CI to keep.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.processors.test_redact_safety import ADVERSARIAL

# ---- hostile input ----------------------------------------------------------------------------------------
HOSTILE_EXAMPLES = 120  # Hypothesis examples per API surface
HOSTILE_SURFACES = ("get_logger", "get_async_logger", "configure", "builder", "runtime")
HOSTILE_CALLS_MAX = 3  # log calls per example, at most
PRETTY_CLI_EXAMPLES = 200  # hostile JSON lines given to ``fapilog pretty``
SECRET_EXAMPLES = 120  # Hypothesis examples of the secrets-through-every-output property

# ---- load ---------------------------------------------------------------------------------------------------
LOAD_THREADS = 32
LOAD_RECORDS_PER_THREAD = 500
LOAD_TASKS = 1_000
LOAD_RECORDS_PER_TASK = 20
LOAD_RECORDS = LOAD_THREADS * LOAD_RECORDS_PER_THREAD + LOAD_TASKS * LOAD_RECORDS_PER_TASK

# ---- faults ---------------------------------------------------------------------------------------------------
FAULT_RECORDS = 2_000  # records logged past each faulty exporter
SHUTDOWN_RECORDS = 20_000  # records queued when SIGTERM arrives or the interpreter exits
SHUTDOWN_THREADS = 8  # threads logging while the signal arrives
SHUTDOWN_EXTRA = 5_000  # records each of those threads logs, at most
PREFORK_WORKERS = 4
PREFORK_RECORDS_PER_WORKER = 1_000

# ---- security -------------------------------------------------------------------------------------------------
REDOS_SIZES = (1_000, 10_000, 100_000)  # lengths of the pathological inputs
REDOS_SHAPES = tuple(ADVERSARIAL)  # units repeated to provoke backtracking (shared with the processors' tests)
REDOS_CHECKER_EXAMPLES = 200  # generated backtracking-prone patterns given to the checker
FASTAPI_EXAMPLES = 200  # hostile requests sent to a real uvicorn server

FIGURES: dict[str, int] = {
    "hostile_examples_per_surface": HOSTILE_EXAMPLES,
    "hostile_surfaces": len(HOSTILE_SURFACES),
    "hostile_examples_total": HOSTILE_EXAMPLES * len(HOSTILE_SURFACES),
    "hostile_calls_per_example_max": HOSTILE_CALLS_MAX,
    "pretty_cli_examples": PRETTY_CLI_EXAMPLES,
    "secret_examples": SECRET_EXAMPLES,
    "load_threads": LOAD_THREADS,
    "load_records_per_thread": LOAD_RECORDS_PER_THREAD,
    "load_tasks": LOAD_TASKS,
    "load_records_per_task": LOAD_RECORDS_PER_TASK,
    "load_records": LOAD_RECORDS,
    "fault_records": FAULT_RECORDS,
    "shutdown_records": SHUTDOWN_RECORDS,
    "shutdown_threads": SHUTDOWN_THREADS,
    "shutdown_records_per_thread": SHUTDOWN_EXTRA,
    "prefork_workers": PREFORK_WORKERS,
    "prefork_records_per_worker": PREFORK_RECORDS_PER_WORKER,
    "redos_max_input": max(REDOS_SIZES),
    "redos_shapes": len(REDOS_SHAPES),
    "redos_checker_examples": REDOS_CHECKER_EXAMPLES,
    "fastapi_examples": FASTAPI_EXAMPLES,
}


def hypothesis_settings(examples: int) -> settings:
    """Reproducible Hypothesis settings: fixed example count, derandomized, no deadline, no database."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
