"""Exceptions as OpenTelemetry exception.* attributes, and which exception a log call refers to."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fapilog._exceptions import exception_attributes, resolve_exc_info

UNBOUNDED = 10**9


class MyError(Exception):
    """An application exception (not a builtin)."""


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class NotAStringError(Exception):
    def __str__(self) -> Any:
        return 42  # noqa: PLE0307 - a broken __str__ is the point


def _recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom of the stack")
    _recurse(depth - 1)


def _caught(func: Any, *args: Any) -> BaseException:
    try:
        func(*args)
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def _chained() -> BaseException:
    def outer() -> None:
        try:
            _recurse(30)
        except ValueError as inner:
            raise KeyError("outer key") from inner

    return _caught(outer)


def test_type_message_and_stacktrace_of_a_builtin_exception() -> None:
    """A builtin's type is its bare name, the message its str(), the stack a standard traceback."""
    attrs = exception_attributes(_caught(_recurse, 2), max_frames=10, max_chars=UNBOUNDED)
    assert set(attrs) == {"exception.type", "exception.message", "exception.stacktrace"}
    assert attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "bottom of the stack"
    stack = attrs["exception.stacktrace"]
    assert stack.startswith("Traceback (most recent call last):\n")
    assert stack.count("in _recurse") == 3
    assert stack.endswith("ValueError: bottom of the stack\n")


def test_type_of_an_application_exception_is_qualified_by_its_module() -> None:
    """An exception defined outside builtins is named module.QualName, so same-named classes differ."""
    attrs = exception_attributes(MyError("x"), max_frames=10, max_chars=UNBOUNDED)
    assert attrs["exception.type"] == f"{__name__}.MyError"
    assert attrs["exception.message"] == "x"


def test_an_exception_never_raised_has_just_its_last_line() -> None:
    """An exception created but not raised has no frames: the stack is its 'Type: message' line."""
    attrs = exception_attributes(ValueError("not raised"), max_frames=10, max_chars=UNBOUNDED)
    assert attrs["exception.stacktrace"] == "ValueError: not raised\n"


def test_cause_chain_is_in_the_stack() -> None:
    """'raise B from A' keeps A's traceback first, the 'direct cause' line, then B's."""
    attrs = exception_attributes(_chained(), max_frames=50, max_chars=UNBOUNDED)
    assert attrs["exception.type"] == "KeyError"
    assert attrs["exception.message"] == "'outer key'"
    stack = attrs["exception.stacktrace"]
    cause = stack.index("ValueError: bottom of the stack")
    link = stack.index("The above exception was the direct cause of the following exception")
    assert cause < link < stack.index("KeyError: 'outer key'")


def test_implicit_context_is_in_the_stack() -> None:
    """An exception raised while handling another keeps the other, with the 'during handling' line."""

    def handler() -> None:
        try:
            raise ValueError("first")
        except ValueError:
            raise RuntimeError("second")  # noqa: B904 - the implicit context is what is tested

    stack = exception_attributes(_caught(handler), max_frames=10, max_chars=UNBOUNDED)["exception.stacktrace"]
    assert "ValueError: first" in stack
    assert "During handling of the above exception, another exception occurred" in stack
    assert stack.endswith("RuntimeError: second\n")


def test_a_cycle_in_the_cause_chain_terminates() -> None:
    """Exceptions that name each other as cause are each formatted once."""
    a, b = ValueError("a"), KeyError("b")
    a.__cause__, b.__cause__ = b, a
    stack = exception_attributes(a, max_frames=10, max_chars=UNBOUNDED)["exception.stacktrace"]
    assert stack.count("ValueError: a") == 1
    assert stack.count("KeyError: 'b'") == 1


def test_exception_groups_show_every_member() -> None:
    """An ExceptionGroup's stack names each exception it holds."""
    group = ExceptionGroup("many", [ValueError("one"), TypeError("two")])
    attrs = exception_attributes(group, max_frames=10, max_chars=UNBOUNDED)
    assert attrs["exception.type"] == "ExceptionGroup"
    for text in ("ValueError: one", "TypeError: two", "many"):
        assert text in attrs["exception.stacktrace"]


@pytest.mark.parametrize("max_frames", [1, 3, 7])
def test_frames_are_bounded_per_exception_keeping_the_innermost(max_frames: int) -> None:
    """Each traceback in the chain keeps at most max_frames frames, the ones nearest the raise."""
    stack = exception_attributes(_chained(), max_frames=max_frames, max_chars=UNBOUNDED)["exception.stacktrace"]
    blocks = stack.split("Traceback (most recent call last):\n")[1:]
    assert len(blocks) == 2
    for block in blocks:
        assert 1 <= block.count('  File "') <= max_frames
    first_block_lines = blocks[0].splitlines()
    innermost = [line for line in first_block_lines if line.startswith('  File "')][-1]
    assert innermost.endswith("in _recurse")
    assert 'raise ValueError("bottom of the stack")' in blocks[0]


def test_a_short_stack_is_kept_whole() -> None:
    """A stack shorter than max_chars is not touched."""
    exc = _chained()
    full = exception_attributes(exc, max_frames=5, max_chars=UNBOUNDED)["exception.stacktrace"]
    same = exception_attributes(exc, max_frames=5, max_chars=len(full))["exception.stacktrace"]
    assert same == full


@settings(deadline=None, max_examples=50)
@given(st.integers(min_value=0, max_value=800))
@example(0)
def test_stack_is_bounded_in_characters_keeping_the_end(max_chars: int) -> None:
    """The stack is at most max_chars characters in all (even 0), and what is kept is the end of the full stack."""
    exc = _chained()
    full = exception_attributes(exc, max_frames=50, max_chars=UNBOUNDED)["exception.stacktrace"]
    assert len(full) > 800  # the example is long enough to need cutting
    stack = exception_attributes(exc, max_frames=50, max_chars=max_chars)["exception.stacktrace"]
    assert len(stack) <= max_chars
    assert stack.endswith(full[len(full) - max_chars // 2 :])
    if max_chars >= 100:  # the smallest bound settings allow keeps the last line whole
        assert stack.endswith("KeyError: 'outer key'\n")


@pytest.mark.parametrize("cls", [UnprintableError, NotAStringError])
def test_an_exception_whose_str_fails_still_gives_attributes(cls: type[Exception]) -> None:
    """When str(exc) raises, the message is a placeholder naming the type and the stack is still built."""
    attrs = exception_attributes(_caught(_raise, cls), max_frames=10, max_chars=UNBOUNDED)
    assert isinstance(attrs["exception.message"], str)
    assert cls.__name__ in attrs["exception.message"]
    assert "in _raise" in attrs["exception.stacktrace"]
    assert cls.__name__ in attrs["exception.stacktrace"]


def _raise(cls: type[Exception]) -> None:
    raise cls()


def test_resolve_prefers_exc() -> None:
    """exc= wins over exc_info, and a non-exception exc= means no exception."""
    exc, other = ValueError("a"), KeyError("b")
    assert resolve_exc_info(exc, other) is exc
    assert resolve_exc_info(exc, True) is exc
    assert resolve_exc_info("not an exception", None) is None  # type: ignore[arg-type]


def test_resolve_exc_info_true_inside_except_is_the_current_exception() -> None:
    """exc_info=True inside an except block refers to the exception being handled."""
    try:
        raise MyError("handled")
    except MyError as current:
        handled, resolved = current, resolve_exc_info(None, True)
    assert resolved is handled


def test_resolve_exc_info_true_outside_except_is_nothing() -> None:
    """exc_info=True with no exception being handled refers to nothing."""
    assert resolve_exc_info(None, True) is None


def test_resolve_exc_info_tuple_and_instance() -> None:
    """A (type, value, traceback) tuple gives its value; an exception instance gives itself."""
    exc = _caught(_recurse, 0)
    assert resolve_exc_info(None, (type(exc), exc, exc.__traceback__)) is exc
    assert resolve_exc_info(None, exc) is exc
    try:
        raise MyError("current")
    except MyError:
        info = sys.exc_info()
        assert resolve_exc_info(None, info) is info[1]
        assert resolve_exc_info(None, exc) is exc  # an explicit instance wins over the current one


@pytest.mark.parametrize("exc_info", [None, False])
def test_resolve_nothing_is_nothing_even_while_handling(exc_info: Any) -> None:
    """Without exc or a truthy exc_info there is no exception, even inside an except block."""
    assert resolve_exc_info(None, exc_info) is None
    try:
        raise MyError("ignored")
    except MyError:
        assert resolve_exc_info(None, exc_info) is None
