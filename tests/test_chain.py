"""The chain runs a batch through one stage after another; stages with ``process_batch`` take it whole.

The batch paths of the default stages must give exactly what their one-record ``process`` gives, and a stage
failing on one record of a batch must cost that record alone (or nothing, for a stage that fails open).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opentelemetry._logs import LogRecord as ApiLogRecord

from fapilog import get_logger
from fapilog._chain import Chain, Finisher
from fapilog._otel import InstrumentationScope, ReadWriteLogRecord, Record, Resource, SeverityNumber, new_record
from fapilog.processors import ContextVarsEnricher, RuntimeInfoEnricher, UrlCredentials
from fapilog.processors._base import Keep, Stage
from fapilog.testing import CaptureExporter

SCOPE = InstrumentationScope("app")
PIPELINE_RESOURCE = Resource({"service.name": "chain-test"})


def record(body: str, attributes: dict[str, Any], *, context: dict[str, Any] | None = None) -> Record:
    made = new_record(time.time_ns(), SeverityNumber.INFO, "INFO", body, attributes, SCOPE, None)
    if context:
        made.context = context
    return made


def varied_batch() -> list[Any]:
    """Clean records (some vouched for by the caller, as the facade does), URL secrets in a field, the body and
    the bound context, bound context alone, a record with a resource of its own, and records from an
    OpenTelemetry logger (the SDK's record type: bounded attributes or none, no captured context)."""
    batch: list[Any] = []
    for i in range(40):
        attrs: dict[str, Any] = {"i": i, "path": "/items", "ok": True}
        body, context = f"request {i}", None
        if i % 7 == 1:
            attrs["dsn"] = f"postgres://app:hunter{i}@db/x"
        if i % 9 == 2:
            body = f"fetched https://api.test/v1?token=secret{i}"
        if i % 5 == 3:
            context = {"request_id": f"r{i}"}
        if i % 11 == 4:
            context = {"callback": f"https://u:pw{i}@hooks.test/"}
        made = record(body, attrs, context=context)
        if i % 13 == 5:
            made.resource = Resource({"service.name": f"other-{i}"})
        if i % 4 == 0:
            made.checked = True  # every value a string or a scalar, as the caller found
        batch.append(made)
    sdk_body = ApiLogRecord(body="from otel https://o:pw-otel@x.test/", severity_text="INFO", attributes={"i": 40})
    batch.append(ReadWriteLogRecord(sdk_body, resource=Resource({"service.name": "sdk"})))
    batch.append(ReadWriteLogRecord(ApiLogRecord(body="no attributes", severity_text="INFO"), resource=None))
    return batch


def through_chain(stages: list[Any], batch: list[Any]) -> tuple[list[Any], Chain]:
    capture = CaptureExporter()
    chain = Chain(finisher=Finisher(PIPELINE_RESOURCE), stages=stages, exporters=[capture])
    asyncio.run(chain.process_batch(batch))
    return list(capture.records), chain


def one_by_one(stages: list[Any], batch: list[Record]) -> list[Record]:
    finisher = Finisher(PIPELINE_RESOURCE)
    kept = []
    for made in batch:
        finisher.finish(made)
        if all(stage.process(made) for stage in stages):
            kept.append(made)
    return kept


def shape(made: Any) -> tuple[Any, ...]:
    lr = made.log_record
    return lr.body, dict(lr.attributes or {}), dict(made.resource.attributes), getattr(made, "context", None)


def test_the_default_stages_batch_paths_give_what_one_record_at_a_time_gives() -> None:
    stages = [RuntimeInfoEnricher(), ContextVarsEnricher(), UrlCredentials()]
    expected = [shape(r) for r in one_by_one(stages, varied_batch())]
    got, chain = through_chain(stages, varied_batch())
    assert [shape(r) for r in got] == expected
    assert len(got) == 42
    assert chain.stage_errors == 0
    texts = repr(expected)  # the batch held secrets of each kind, and every one of them was masked
    assert "hunter" not in texts
    assert "secret" not in texts
    assert "pw" not in texts
    assert "token=***" in texts
    assert "app:***@db" in texts
    assert "u:***@hooks" in texts
    assert "other-5" in texts
    assert "request_id" in texts


def production_stages() -> list[Any]:
    logger = get_logger("chain-test", preset="production", sinks=[CaptureExporter()], reuse=False)
    stages = list(logger._pipeline.chain.stages)
    logger.drain()
    return stages


def with_more_secrets() -> list[Any]:
    batch = varied_batch()
    for i, made in enumerate(batch[:40]):
        attributes: Any = made.log_record.attributes
        if i % 6 == 0:
            attributes["password"] = f"pw-by-key-{i}"
        if i % 8 == 3:
            attributes["note"] = f"sent Authorization: Bearer tok{i}abcdef1234567890 upstream"
    return batch


def test_the_production_redactors_batch_paths_give_what_one_record_at_a_time_gives() -> None:
    assert {type(stage).__name__ for stage in production_stages()} >= {"FieldMask", "RegexMask", "UrlCredentials"}
    expected = [shape(r) for r in one_by_one(production_stages(), with_more_secrets())]
    got, chain = through_chain(production_stages(), with_more_secrets())
    assert [shape(r) for r in got] == expected
    assert chain.stage_errors == 0
    texts = repr(expected)
    assert "pw-by-key" not in texts
    assert "abcdef1234567890" not in texts
    assert "hunter" not in texts


def test_context_defaults_reach_every_record_of_a_batch() -> None:
    stages = [ContextVarsEnricher(defaults={"region": "eu"})]
    got, _ = through_chain(stages, [record("a", {}), record("b", {"x": 1}, context={"request_id": "r"})])
    assert [dict(r.log_record.attributes) for r in got] == [
        {"region": "eu"},
        {"region": "eu", "request_id": "r", "x": 1},
    ]


class _FailsOn(UrlCredentials):
    """A fail-closed stage whose one-record path raises for bodies containing "boom" (a URL, so the batch path
    hands those records to it)."""

    def process(self, record: Any) -> bool:
        if "boom" in str(record.log_record.body):
            raise RuntimeError("boom")
        return super().process(record)


def test_a_fail_closed_stage_failing_on_one_record_of_a_batch_drops_that_record_alone() -> None:
    batch = [record(f"m{i}", {"i": i}) for i in range(6)]
    batch[3] = record("see https://x.test/?boom=1", {"i": 3})
    got, chain = through_chain([_FailsOn()], batch)
    assert [r.log_record.attributes["i"] for r in got] == [0, 1, 2, 4, 5]
    assert chain.stage_errors == 1
    assert chain.filtered == 1


class _BatchBreaks(UrlCredentials):
    """A fail-closed stage whose batch path hands record 1 to ``process`` (which fails on it), then raises on
    record 3; its one-record path drops record 4."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def process(self, record: Any) -> bool:
        i: int = record.log_record.attributes["i"]
        self.calls.append(i)
        if i == 1:
            raise RuntimeError("cannot check record 1")
        return i != 4

    def process_batch(self, records: list[Any], process: Keep) -> list[Any]:
        kept = []
        for made in records:
            i = made.log_record.attributes["i"]
            if i == 3:
                raise RuntimeError("the quick look broke")
            if i == 1 and not process(made):
                continue
            kept.append(made)
        return kept


def test_when_a_batch_path_raises_each_record_is_still_decided_once() -> None:
    stage = _BatchBreaks()
    got, chain = through_chain([stage], [record(f"m{i}", {"i": i}) for i in range(6)])
    assert stage.calls == [1, 0, 2, 3, 4, 5]  # record 1 once, by the batch path; the rest one by one
    assert [r.log_record.attributes["i"] for r in got] == [0, 2, 3, 5]
    assert chain.stage_errors == 2  # record 1, and the batch path itself
    assert chain.filtered == 2  # record 1 (fail closed) and record 4


class _Seen(Stage):
    def __init__(self, log: list[tuple[str, int]], name: str, drop: int | None = None) -> None:
        super().__init__()
        self.log, self.label, self.drop = log, name, drop

    def process(self, record: Any) -> bool:
        i: int = record.log_record.attributes["i"]
        self.log.append((self.label, i))
        return i != self.drop


def test_stages_see_the_batch_in_order_and_never_a_record_an_earlier_stage_dropped() -> None:
    seen: list[tuple[str, int]] = []
    got, chain = through_chain(
        [_Seen(seen, "a", drop=1), _Seen(seen, "b")], [record(f"m{i}", {"i": i}) for i in range(3)]
    )
    assert seen == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 2)]
    assert [r.log_record.attributes["i"] for r in got] == [0, 2]
    assert chain.filtered == 1
