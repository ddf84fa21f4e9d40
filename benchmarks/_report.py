"""Ratios against our rows, one markdown table per scenario, and results/latest.{md,json}."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import _targets
from _format import Row, count, delivered, label, mib, ok, rss_growth_mib, times, us
from _jobs import SCENARIOS


def _baseline(rows: Sequence[Row], row: Row) -> Row | None:
    """Our row in the same scenario and group: each peer is compared with it."""
    for other in rows:
        if other["ours"] and other["scenario"] == row["scenario"] and other["group"] == row["group"] and ok(other):
            return other
    return None


def add_ratios(rows: list[Row]) -> None:
    """Per peer row: caller median and p99 ÷ ours (``*_vs_ours``), our rate ÷ its rate (``ours_rate_ratio``)."""
    for row in rows:
        base = _baseline(rows, row)
        if base is None or not ok(row) or row["ours"]:
            continue
        row["median_vs_ours"] = row["median_us"] / base["median_us"]
        row["p99_vs_ours"] = row["p99_us"] / base["p99_us"]
        if row.get("rate_per_s") and base.get("rate_per_s"):
            row["ours_rate_ratio"] = base["rate_per_s"] / row["rate_per_s"]


def _table(header: Sequence[str], rows: Sequence[Row], cells: Callable[[Row], list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" + "|--:" * (len(header) - 1) + "|"]
    for row in rows:
        if ok(row):
            values = cells(row)
        else:
            error = str(row["error"]).strip().splitlines() or [""]
            values = [label(row), "error: " + error[-1][:100], *[""] * (len(header) - 2)]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def _steady(rows: Sequence[Row]) -> str:
    header = ["Library", "Caller median (µs)", "Caller p99 (µs)", "Records/s to file", "Records/s, each run",
              "Delivered (worst run)", "Peak RSS (MiB)", "Median: this ÷ ours", "Rate: ours ÷ this"]  # fmt: skip
    return _table(
        header,
        rows,
        lambda r: [label(r), us(r["median_us"]), us(r["p99_us"]), count(r["rate_per_s"]), _each_rate(r),
                   delivered(r), count(mib(r["rss_peak_kib"])), times(r.get("median_vs_ours")),
                   times(r.get("ours_rate_ratio"))],
    )  # fmt: skip


def _each_rate(row: Row) -> str:
    return ", ".join(count(run["rate_per_s"]) if "rate_per_s" in run else "error" for run in row.get("runs", []))


def _burst(rows: Sequence[Row]) -> str:
    header = ["Library (configuration)", "Lost (worst run)", "Counted as dropped by the library",
              "Caller median (µs)", "Caller p99 (µs)", "Caller p99.9 (µs)", "Caller max (ms)", "Peak RSS (MiB)",
              "p99: this ÷ ours"]  # fmt: skip

    def reported(row: Row) -> str:
        dropped = row.get("reported", {}).get("dropped")
        return "—" if dropped is None else count(dropped)

    return _table(
        header,
        rows,
        lambda r: [label(r), count(r["lost"]), reported(r), us(r["median_us"]), us(r["p99_us"]), us(r["p999_us"]),
                   f"{r['max_us'] / 1000:.1f}", count(mib(r["rss_peak_kib"])), times(r.get("p99_vs_ours"))],
    )  # fmt: skip


def _slow(rows: Sequence[Row]) -> str:
    header = ["Library: where the 3 ms is spent", "Caller median (µs)", "Caller p99 (µs)", "Delivered",
              "Seconds until all delivered"]  # fmt: skip
    return _table(
        header,
        rows,
        lambda r: [label(r), us(r["median_us"]), us(r["p99_us"]), delivered(r), f"{r['e2e_seconds']:.3f}"],
    )


def _stalled(rows: Sequence[Row]) -> str:
    header = ["Records logged", "Dropped", "Queued at the end", "Queue bytes (its estimate)", "Byte limit",
              "RSS before (MiB)", "Peak RSS (MiB)", "RSS growth (MiB)", "Caller median / p99 (µs)"]  # fmt: skip

    def cells(r: Row) -> list[str]:
        rep = r["reported"]
        return [count(r["n"]), count(rep["dropped"]), count(rep["queue_depth"]), count(rep["queue_bytes"]),
                count(rep["max_queue_bytes"]), f"{mib(r['rss_before_kib']):.1f}", f"{mib(r['rss_peak_kib']):.1f}",
                f"{rss_growth_mib(r):.1f}", f"{us(r['median_us'])} / {us(r['p99_us'])}"]  # fmt: skip

    text = _table(header, rows, cells)
    for row in rows:
        samples = row.get("reported", {}).get("rss_kib_by_tenth")
        if ok(row) and samples:
            text += "\n\nRSS (MiB) after each tenth of the burst: " + ", ".join(f"{mib(s):.1f}" for s in samples)
    return text


_TABLES: dict[str, Callable[[Sequence[Row]], str]] = {
    "sync": _steady,
    "async": _steady,
    "burst": _burst,
    "slow_sink": _slow,
    "stalled": _stalled,
}


def markdown(meta: dict[str, Any], rows: Sequence[Row], verdicts: Sequence[_targets.Verdict]) -> str:
    parts = [
        "# fapilog benchmarks: latest run",
        "",
        f"Run {meta['date']} on {meta['machine']}; Python {meta['python']}; commit {meta['commit']}.",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(meta["versions"].items()) if " " not in k or "(" in k)
        + ".",
        "",
        "## Targets (SPEC §8)",
        "",
        *(f"- `{line}`" for line in _targets.lines(verdicts)),
        "",
        f"Each job runs in its own process, one at a time. Sync, asyncio and burst jobs ran {meta['repeats']} "
        "times, interleaved; their tables show the median of each timing over the runs, and the worst run's "
        "losses and peak RSS. Caller times are `perf_counter_ns` around each call.",
    ]
    for scenario in SCENARIOS:
        chosen = [r for r in rows if r["scenario"] == scenario.name]
        if chosen:
            title = f"## {scenario.title} (N = {count(chosen[0]['n'])})"
            parts += ["", title, "", scenario.description, "", _TABLES[scenario.name](chosen)]
    return "\n".join(parts) + "\n"


def write(out_dir: Path, meta: dict[str, Any], rows: Sequence[Row], verdicts: Sequence[_targets.Verdict]) -> str:
    """Write latest.md and latest.json to ``out_dir``; returns the markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(meta, rows, verdicts)
    (out_dir / "latest.md").write_text(text, encoding="utf-8")
    document = {"meta": meta, "targets": list(verdicts), "results": list(rows)}
    (out_dir / "latest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return text
