"""The targets of SPEC §8, each checked against this run's rows: PASS, FAIL, or N/A when not measured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _format import Row, count, find, mib, rss_growth_mib, times, us

Verdict = dict[str, Any]


def _verdict(name: str, passed: bool | None, detail: str) -> Verdict:
    return {"target": name, "passed": passed, "detail": detail}


def _median_ratio(rows: Sequence[Row], name: str, ours_key: str, peer_key: str, need: float) -> Verdict:
    ours, peer = find(rows, ours_key), find(rows, peer_key)
    if ours is None or peer is None:
        return _verdict(name, None, "not measured")
    ratio = peer["median_us"] / ours["median_us"]
    detail = f"ours {us(ours['median_us'])} µs vs {us(peer['median_us'])} µs: {times(ratio)} (need ≥ {need:g}x)"
    return _verdict(name, ratio >= need, detail)


def _rate_ratio(rows: Sequence[Row], name: str, peer_key: str, need: float) -> Verdict:
    # Like for like: our defaults (queue sized to N) against the peers' setups (fapilog 0.18.1's default
    # pipeline with its queue sized to N; structlog with no redaction). The production preset row, which
    # also masks credentials, is in the table beside it.
    ours, peer = find(rows, "sync-ours-defaults"), find(rows, peer_key)
    if ours is None or peer is None:
        return _verdict(name, None, "not measured")
    ratio = ours["rate_per_s"] / peer["rate_per_s"]
    detail = (
        f"ours {count(ours['rate_per_s'])}/s vs {count(peer['rate_per_s'])}/s: {times(ratio)} (need ≥ {need:g}x); "
        f"delivered {count(ours['delivered'])} and {count(peer['delivered'])} of {count(ours['n'])}"
    )
    if ours["lost"]:
        return _verdict(name, False, detail + " (we lost records)")
    if peer["lost"]:
        return _verdict(name, None, detail + " (the peer lost records: no like-for-like rate)")
    return _verdict(name, ratio >= need, detail)


def _caller_p99(rows: Sequence[Row], name: str, key: str) -> Verdict:
    row = find(rows, key)
    if row is None:
        return _verdict(name, None, "not measured")
    detail = f"caller p99 {us(row['p99_us'])} µs; lost {count(row['lost'])} of {count(row['n'])}"
    return _verdict(name, row["p99_us"] < 50 and row["lost"] == 0, detail)


def _burst(rows: Sequence[Row]) -> list[Verdict]:
    burst = find(rows, "burst-ours-default")
    lost, p99 = "Burst, production preset: zero records lost", "Burst, production preset: caller p99 < 50 µs"
    if burst is None:
        return [_verdict(lost, None, "not measured"), _verdict(p99, None, "not measured")]
    return [
        _verdict(lost, burst["lost"] == 0, f"lost {count(burst['lost'])} of {count(burst['n'])}"),
        _verdict(p99, burst["p99_us"] < 50, f"caller p99 {us(burst['p99_us'])} µs"),
    ]


def _stalled(rows: Sequence[Row]) -> Verdict:
    name = "Stalled sink: memory growth within the 32 MiB byte limit"
    row = find(rows, "stalled-ours-default")
    if row is None:
        return _verdict(name, None, "not measured")
    reported = row["reported"]
    limit = mib(reported["max_queue_bytes"] / 1024)
    growth = rss_growth_mib(row)
    detail = (
        f"RSS grew {growth:.1f} MiB from just before the burst to its peak (limit {limit:g} MiB); the queue held "
        f"{count(reported['queue_depth'])} records, {mib(reported['queue_bytes'] / 1024):.1f} MiB by its own "
        f"estimate; {count(reported['dropped'])} of {count(row['n'])} dropped"
    )
    return _verdict(name, growth <= limit, detail)


def targets(rows: Sequence[Row]) -> list[Verdict]:
    return [
        _median_ratio(rows, "Caller median ≤ 1/5 of fapilog 0.18.1", "sync-ours-default", "sync-fapilog018-default", 5),
        _median_ratio(
            rows, "Caller median ≤ 1/3 of OTel SDK emit + BLRP (both in a span)", "sync-ours-span", "sync-otel-span", 3
        ),
        _rate_ratio(rows, "End-to-end rate to a file ≥ 15x fapilog 0.18.1", "sync-fapilog018-default", 15),
        _rate_ratio(rows, "End-to-end rate to a file ≥ 1.5x structlog", "sync-structlog-default", 1.5),
        *_burst(rows),
        _caller_p99(rows, "3 ms exporter (per batch): caller p99 < 50 µs, all delivered", "slow_sink-ours-exporter"),
        _caller_p99(
            rows, "3 ms seed-contract sink (per write): caller p99 < 50 µs, all delivered", "slow_sink-ours-seed_sink"
        ),
        _stalled(rows),
    ]


def lines(verdicts: Sequence[Verdict]) -> list[str]:
    mark = {True: "PASS", False: "FAIL", None: "N/A "}
    return [f"{mark[v['passed']]}  {v['target']}: {v['detail']}" for v in verdicts]
