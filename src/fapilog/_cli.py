"""The ``fapilog`` command: demo, pretty, doctor, presets."""

from __future__ import annotations

import argparse
import os
import sys

from fapilog._demo import add_parser as add_demo_parser
from fapilog._doctor import add_parser as add_doctor_parser

__all__ = ["main"]


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
    add_demo_parser(commands)
    pretty = commands.add_parser("pretty", help="render JSON log lines (fapilog or OTLP JSON) from stdin")
    pretty.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    pretty.set_defaults(run=_pretty)
    presets = commands.add_parser("presets", help="list the presets and what they set")
    presets.add_argument("-v", "--verbose", action="store_true", help="also show each preset's settings")
    presets.set_defaults(run=_presets)
    add_doctor_parser(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # the reader went away (| head): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
