"""fapilog's own random numbers (retry jitter, sampling): apart from the ``random`` module's, and per process."""

from __future__ import annotations

import ast
import os
import random

import pytest

from fapilog._random import uniform


def test_draws_leave_the_random_modules_state_alone() -> None:
    """An application that seeds ``random`` gets the same numbers however much fapilog draws meanwhile."""
    state = random.getstate()
    draws = [uniform() for _ in range(1000)]
    assert random.getstate() == state
    assert all(0.0 <= d < 1.0 for d in draws)
    assert len(set(draws)) == len(draws)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_other_numbers_than_its_parent() -> None:
    """The generator is reseeded in a forked child: pre-forked workers neither retry in step nor sample the same
    records."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next draws, then leave at once
        os.write(write, repr([uniform() for _ in range(4)]).encode())
        os._exit(0)
    os.close(write)
    parent = [uniform() for _ in range(4)]
    with os.fdopen(read) as pipe:
        child = ast.literal_eval(pipe.read())
    os.waitpid(pid, 0)
    assert len(child) == 4
    assert child != parent
