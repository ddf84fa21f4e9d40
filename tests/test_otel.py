"""``current_span_context``: the caller's short route to the current span gives the public API's answer."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context.context import Context, _RuntimeContext
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation import _SPAN_KEY

from fapilog import _otel
from fapilog._otel import current_span_context


def _public() -> SpanContext:
    return trace.get_current_span().get_span_context()


def test_the_short_route_is_the_one_taken_under_the_default_runtime_context() -> None:
    assert type(context_api._RUNTIME_CONTEXT) is ContextVarsRuntimeContext
    assert _otel._read_context is not None  # so the tests below compare the short route with the public one


def test_outside_any_span_it_is_the_invalid_span_context() -> None:
    assert current_span_context() is INVALID_SPAN_CONTEXT
    assert current_span_context() == _public()


def test_nested_spans_give_the_innermost_then_the_outer_again() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("outer") as outer:
        assert current_span_context() == outer.get_span_context() == _public()
        with tracer.start_as_current_span("inner") as inner:
            assert current_span_context() == inner.get_span_context() == _public()
            assert current_span_context() != outer.get_span_context()
        assert current_span_context() == outer.get_span_context()
    assert current_span_context() is INVALID_SPAN_CONTEXT


def test_a_span_set_by_hand_and_a_foreign_value_under_the_span_key() -> None:
    remote = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    token = context_api.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        assert current_span_context() == remote == _public()
    finally:
        context_api.detach(token)
    token = context_api.attach(context_api.set_value(_SPAN_KEY, "not a span"))
    try:  # the public API answers "no span" for anything that is not a Span: so do we
        assert current_span_context() is INVALID_SPAN_CONTEXT
        assert _public() is INVALID_SPAN_CONTEXT
    finally:
        context_api.detach(token)


def test_threads_and_tasks_see_their_own_context() -> None:
    tracer = TracerProvider().get_tracer("t")
    seen: dict[str, Any] = {}

    async def in_task() -> SpanContext:
        return current_span_context()

    with tracer.start_as_current_span("request") as span:
        thread = threading.Thread(target=lambda: seen.update(thread=current_span_context()))
        thread.start()
        thread.join()
        seen["task"] = asyncio.run(in_task())  # a task copies the context it was created in
        expected = span.get_span_context()
    assert seen["thread"] is INVALID_SPAN_CONTEXT  # a new thread starts with an empty context
    assert seen["task"] == expected


class _DictRuntimeContext(_RuntimeContext):
    """A runtime context of another kind (what OTEL_PYTHON_CONTEXT can select): one slot, no context variable."""

    def __init__(self) -> None:
        self.current = Context()

    def attach(self, context: Context) -> Any:  # the previous context serves as the token
        previous, self.current = self.current, context
        return previous

    def get_current(self) -> Context:
        return self.current

    def detach(self, token: Any) -> None:
        assert isinstance(token, Context)
        self.current = token


def test_another_runtime_context_is_followed_through_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _DictRuntimeContext()
    monkeypatch.setattr(context_api, "_RUNTIME_CONTEXT", runtime)
    remote = SpanContext(trace_id=7, span_id=9, is_remote=True)
    runtime.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    assert current_span_context() == remote == _public()
