# mypy: ignore-errors
"""Draws results/latest.png from results/latest.json. Runs in the peers' virtual environment (matplotlib
lives there, so the project itself does not depend on it): ``python _chart.py latest.json latest.png``.
"""

from __future__ import annotations

import json
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS_COLOUR = "#1f77b4"
PEER_COLOUR = "#b0b0b0"

PANELS = (
    ("sync", "median_us", "1. Sync loop: caller median (µs, lower is better)"),
    ("sync", "rate_per_s", "1. Sync loop: records/s to a file, all delivered (higher is better)"),
    ("async", "median_us", "2. asyncio loop: caller median (µs, lower is better)"),
    ("burst", "p99_us", "3. Burst: caller p99 (µs, log scale, lower is better)"),
    ("slow_sink", "p99_us", "4. A sink taking 3 ms per write: caller p99 (µs, log scale, lower is better)"),
)
LOG_SCALE = {"p99_us"}


def _panel(ax, rows, scenario, field, title):
    chosen = [r for r in rows if r["scenario"] == scenario and "error" not in r and r.get(field) is not None]
    chosen.reverse()  # first row on top
    labels = [r["label"] for r in chosen]
    values = [r[field] for r in chosen]
    colours = [OURS_COLOUR if r["ours"] else PEER_COLOUR for r in chosen]
    bars = ax.barh(labels, values, color=colours)
    if field in LOG_SCALE:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    for bar, value in zip(bars, values, strict=True):
        text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + text, va="center", fontsize=7)
    ax.set_title(title, fontsize=9, loc="left")
    ax.tick_params(axis="y", labelsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.margins(x=0.18)


def main(source, target):
    with open(source, encoding="utf-8") as f:
        document = json.load(f)
    rows = document["results"]
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(9.5, 2.9 * len(PANELS)))
    for ax, (scenario, field, title) in zip(axes, PANELS, strict=True):
        _panel(ax, rows, scenario, field, title)
    meta = document["meta"]
    fig.suptitle(
        f"fapilog {meta['versions'].get('fapilog (ours)', '')} vs peers — {meta['date']}, {meta['machine']}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
