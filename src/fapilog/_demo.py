"""``fapilog demo``: the demo shop under uvicorn on 127.0.0.1, driven by an httpx client, then a summary.

Pretty lines go to the console as the records are exported, fapilog's JSON envelopes to a rotating file;
when the server stops, its lifespan drains the pipeline and the drain's counts are shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from fapilog._optional import require

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """The ``demo`` subcommand and its options."""
    demo = commands.add_parser(
        "demo",
        help="run a small FastAPI service with generated traffic: pretty console, JSON file, drain summary",
    )
    demo.add_argument("--out", help="directory for the JSON log file (default: a new temporary directory)")
    demo.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="console colours")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve, send the traffic, stop, report; the exit code."""
    for module in ("fastapi", "uvicorn", "httpx"):
        require(module, extra="fastapi" if module != "httpx" else "http", feature="fapilog demo")
    from fapilog._demo_app import make_app
    from fapilog.exporters.stdout import StdoutPrettyExporter
    from fapilog.instrumentation._fastapi_state import STATE_ATTRIBUTE

    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="fapilog-demo-"))
    json_path = out_dir / "demo.jsonl"
    colors = {"always": True, "never": False}.get(args.color)
    console = StdoutPrettyExporter(sys.stdout, colors=colors)
    file_sink = {"type": "rotating_file", "directory": str(out_dir), "filename_prefix": "demo"}
    app = make_app([console, file_sink])

    print(f"fapilog demo: a FastAPI shop on 127.0.0.1, pretty lines below, JSON lines to {json_path}\n", flush=True)
    statuses = asyncio.run(_serve_and_drive(app))
    drain = getattr(app.state, STATE_ATTRIBUTE).last_drain

    print("\n== traffic ==")
    counts = Counter(status for _request, status in statuses)
    print(f"{len(statuses)} requests: " + ", ".join(f"{n} x HTTP {s}" for s, n in sorted(counts.items())))
    lines = json_path.read_text(encoding="utf-8").splitlines() if json_path.exists() else []
    print(f"\n== JSON lines: {len(lines)} records in {json_path} ==")
    login = next((line for line in lines if '"message":"login attempt"' in line), None)
    if login is not None:
        print(login)
    print(f"(render the file again with: fapilog pretty < {json_path})")
    print("\n== drain summary ==")
    if drain is None:
        print("the pipeline was not drained", file=sys.stderr)
        return 1
    print(
        f"submitted={drain.submitted} processed={drain.processed} dropped={drain.dropped} "
        f"retried={drain.retried} export_failures={drain.export_failures} "
        f"high_water_mark={drain.queue_depth_high_watermark} "
        f"flush_latency={drain.flush_latency_seconds * 1000:.1f} ms"
    )
    delivered = drain.dropped == 0 and drain.export_failures == 0 and drain.submitted == drain.processed
    return 0 if delivered else 1


async def _serve_and_drive(app: Any) -> list[tuple[str, int]]:
    """Run ``app`` on a free loopback port, send the demo traffic, stop the server (which drains)."""
    import httpx
    import uvicorn

    from fapilog._demo_app import TRAFFIC

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, log_level="critical", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped the server
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        statuses: list[tuple[str, int]] = []
        headers = {"User-Agent": "fapilog-demo-client"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            for method, path, body, user in TRAFFIC:
                extra = {"X-User-ID": user} if user else {}
                content = json.dumps(body).encode() if body is not None else None
                if content is not None:
                    extra["Content-Type"] = "application/json"
                reply = await client.request(method, path, content=content, headers=extra)
                statuses.append((f"{method} {path}", reply.status_code))
    finally:
        server.should_exit = True
        await serving
    return statuses
