"""Garbage-collector settings for folding events: all day (the worker) or a whole file (replay).

The core allocates a few objects per event and creates no reference cycles, so
reference counting frees it all; but with CPython's default thresholds the
cyclic collector runs every 700 allocations and, as the day's state grows, walks
it again and again, a large share of a worker's time on a busy day
(docs/measurements.md). Fewer, larger young collections keep the cycles
that asyncio and the Kafka client do make collected, at a fraction of the cost.

>>> import gc
>>> tune_for_folding()
>>> gc.get_threshold()[0] >= 100_000
True
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

# Young-generation allocations between collections, and the ratios above it.
THRESHOLDS = (200_000, 20, 1000)


def tune_for_folding() -> None:
    """Freeze what startup allocated (imports, config) and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside (a replay: it ends before garbage could pile up).

    Reference counting still frees everything as it goes.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
