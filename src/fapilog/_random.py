"""fapilog's own random numbers, for retry jitter and sampling.

They never come from the ``random`` module's shared generator: drawing from that (on delivery threads, at any
moment) would change the numbers an application that seeds it gets. The generator is reseeded in a forked
child, so the workers of a pre-forking server neither retry in step nor sample the same records.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

__all__ = ["uniform"]

_GENERATOR = random.Random()
os.register_at_fork(after_in_child=_GENERATOR.seed)

uniform: Callable[[], float] = _GENERATOR.random
"""A float in [0, 1) from fapilog's own generator (thread-safe: one C call under the interpreter lock)."""
