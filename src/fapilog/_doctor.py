"""``fapilog doctor``: the effective settings and their sources, then a verdict on every exporter.

Exit codes: 0 when every check passed (OK, WARN or SKIP), 1 when any check failed, 2 when the settings
themselves are invalid (the error names the variable) or the command line is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from fapilog._doctor_checks import CheckResult, run_checks
from fapilog._doctor_settings import SettingRow, dotenv_notes, effective_settings, rows

__all__ = ["add_parser", "run"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def add_parser(commands: Any) -> None:
    """The ``doctor`` subcommand and its options."""
    doctor = commands.add_parser(
        "doctor",
        help="show the effective settings and where each came from; check every exporter's destination",
        description="Show the effective settings (secrets masked) and where each came from, then check that "
        "each configured exporter can reach its destination. Exit 0: all good, 1: a check failed, 2: invalid "
        "settings.",
    )
    doctor.add_argument("--preset", help="the preset the application uses (as get_logger(preset=...))")
    doctor.add_argument(
        "--environment",
        help="without --preset: the environment whose suggestions apply (default: detected, as get_logger() does)",
    )
    doctor.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an explicit setting, as Settings(...) arguments give it (core.log_level=DEBUG; JSON values)",
    )
    doctor.add_argument("--all", action="store_true", help="list every setting, not only those not at default")
    doctor.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    doctor.add_argument("--no-checks", action="store_true", help="show the settings only; contact nothing")
    doctor.add_argument("--timeout", type=float, default=3.0, help="seconds each check may take (default 3)")
    doctor.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the doctor with the parsed ``args``; the exit code."""
    try:
        settings, layers = effective_settings(
            preset=args.preset, environment=args.environment, assignments=args.assignments
        )
    except ValueError as exc:  # SettingsError; an unknown preset or environment, a malformed --set
        print(f"fapilog doctor: {exc}", file=sys.stderr)
        return EXIT_INVALID
    table = rows(settings, layers)
    notes = dotenv_notes(Path.cwd())
    checks = [] if args.no_checks else asyncio.run(run_checks(settings, timeout=args.timeout))
    failed = [c for c in checks if c.verdict == "FAIL"]
    if args.json:
        _json_report(sys.stdout, table, checks, notes, layers.below_label)
    else:
        _text_report(sys.stdout, table, checks, notes, layers.below_label, show_all=args.all)
    return EXIT_FAILED if failed else EXIT_OK


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if not isinstance(value, str) else value


def _text_report(
    out: TextIO,
    table: list[SettingRow],
    checks: list[CheckResult],
    notes: list[str],
    layer: str,
    *,
    show_all: bool,
) -> None:
    listed = table if show_all else [r for r in table if not r.is_default]
    out.write(f"settings (explicit > environment variables > {layer} > defaults)\n")
    width = max((len(r.path) for r in listed), default=0)
    for row in listed:
        out.write(f"  {row.path:<{width}}  {_shown(row.value)}  [{row.describe()}]\n")
    hidden = len(table) - len(listed)
    if hidden:
        out.write(f"  ... and {hidden} settings at their defaults (--all lists them)\n")
    for note in notes:
        out.write(f"note: {note}\n")
    if not checks:
        out.flush()
        return
    out.write("\nexporters\n")
    for check in checks:
        out.write(f"  {check.line()}\n")
    failed = sum(c.verdict == "FAIL" for c in checks)
    verdict = "all checks passed" if not failed else f"{failed} of {len(checks)} checks FAILED"
    out.write(f"\n{verdict}\n")
    out.flush()


def _json_report(out: TextIO, table: list[SettingRow], checks: list[CheckResult], notes: list[str], layer: str) -> None:
    doc = {
        "ok": not any(c.verdict == "FAIL" for c in checks),
        "layers": ["explicit", "env", layer, "default"],
        "settings": [{"path": r.path, "value": r.value, "source": r.source, "origin": r.origin or None} for r in table],
        "checks": [{"exporter": c.name, "verdict": c.verdict, "detail": c.detail} for c in checks],
        "notes": notes,
    }
    out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    out.flush()
