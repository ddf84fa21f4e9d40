"""The ``fapilog`` command."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    """Log through two pipelines, pretty to the console and JSON to a file, then show both and the drains."""
    from opentelemetry.sdk.trace import TracerProvider

    from fapilog import get_logger
    from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

    out_dir = Path(args.out or tempfile.mkdtemp(prefix="fapilog-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "demo.jsonl"
    tracer = TracerProvider().get_tracer("fapilog.demo")

    print("== pretty console (what a developer sees) ==", flush=True)
    with json_path.open("w", encoding="utf-8") as json_file:
        pretty = get_logger("demo.console", preset="dev", sinks=[StdoutPrettyExporter(sys.stdout)])
        as_json = get_logger("demo.json", preset="production", sinks=[StdoutJsonExporter(json_file)])
        for log in (pretty, as_json):
            log.info("service started", version="1.2.3", port=8000)
            with tracer.start_as_current_span("GET /items/{id}"):
                log.bind(request_id="req-7f3a", user_id="u-42")
                log.info("request handled", path="/items/17", status=200, duration_ms=12.5)
                log.warning("slow query", table="items", duration_ms=830.2)
                try:
                    {"id": 17}["name"]
                except KeyError:
                    log.exception("lookup failed", item_id=17)
                log.clear_context()
            log.audit("role changed", actor="admin", target="u-42", role="editor")
        drains = {log.name: log.drain() for log in (pretty, as_json)}

    print(f"\n== JSON lines (what a log store receives), from {json_path} ==")
    print(json_path.read_text(encoding="utf-8"), end="")
    print("\n== drain summary ==")
    for name, result in drains.items():
        print(
            f"{name}: submitted={result.submitted} processed={result.processed} dropped={result.dropped} "
            f"flush_latency={result.flush_latency_seconds * 1000:.1f} ms"
        )
    return 0


def _pretty(args: argparse.Namespace) -> int:
    """Render JSON log lines from stdin as pretty lines on stdout."""
    from fapilog._cli_pretty import pretty_lines
    from fapilog.exporters.stdout import stream_is_tty

    colors = args.color == "always" or (args.color == "auto" and stream_is_tty(sys.stdout))
    for line in pretty_lines(sys.stdin, colors=colors):
        sys.stdout.write(line)
    sys.stdout.flush()
    return 0


def _presets(args: argparse.Namespace) -> int:
    """List the presets and what each one sets."""
    import json

    from fapilog._presets import PRESETS

    for preset in PRESETS.values():
        print(f"{preset.name}: {preset.description}")
        if args.verbose:
            print(f"    {json.dumps(preset.values, sort_keys=True)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fapilog", description="fapilog: OpenTelemetry-native logging.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="log through the pipeline: pretty console and JSON output")
    demo.add_argument("--out", help="directory for the JSON log file (default: a temporary directory)")
    demo.set_defaults(run=_demo)
    pretty = commands.add_parser("pretty", help="render JSON log lines (fapilog or OTLP JSON) from stdin")
    pretty.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    pretty.set_defaults(run=_pretty)
    presets = commands.add_parser("presets", help="list the presets and what they set")
    presets.add_argument("-v", "--verbose", action="store_true", help="also show each preset's settings")
    presets.set_defaults(run=_presets)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # the reader went away (| head): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
