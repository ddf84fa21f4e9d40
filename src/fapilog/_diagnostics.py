"""fapilog's own diagnostics: one line per event on stderr (or stdout), rate-limited, never into a pipeline.

Lines look like ``[fapilog][worker][WARN] export failed exporter=StdoutJsonExporter error=...``. They are
written straight to the stream, so a diagnostic can never re-enter the pipeline it is about. Each distinct
(component, message) pair is written at most once per ``window`` seconds; repeats are counted and the count
is reported with the next line written for that pair.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Literal

__all__ = ["Diagnostics"]


class Diagnostics:
    """A rate-limited writer of internal warnings. Disabled ones cost a flag check."""

    __slots__ = ("_last", "_lock", "_suppressed", "enabled", "output", "window")

    def __init__(
        self,
        *,
        enabled: bool = False,
        output: Literal["stderr", "stdout"] = "stderr",
        window: float = 5.0,
    ) -> None:
        self.enabled = enabled
        self.output = output
        self.window = window
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def warn(self, component: str, message: str, **fields: Any) -> None:
        """Write one warning line, unless the same one was written less than ``window`` seconds ago."""
        if not self.enabled:
            return
        key = (component, message)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            repeats = self._suppressed.pop(key, 0)
        if repeats:
            fields["suppressed_repeats"] = repeats
        detail = " ".join(f"{k}={_safe(v)}" for k, v in fields.items())
        line = f"[fapilog][{component}][WARN] {message}{' ' + detail if detail else ''}\n"
        try:
            stream = sys.stdout if self.output == "stdout" else sys.stderr
            stream.write(line)
            stream.flush()
        except Exception:
            pass


def _safe(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= 500 else text[:500] + "..."
