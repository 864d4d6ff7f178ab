"""Event time paced to the wall clock: replay a day at 60x, or as fast as it goes.

``Pacer`` maps wall-clock time to event time at a chosen speed, so a day of
events plays out at 60x (or any speed, or as fast as possible) while the core
only ever sees event time: the pacer ticks the core with the event-time "now"
when no event is due, the way wall-clock ticks do on a live floor.

>>> p = Pacer(speed=60.0, first_ts=0, wall_start=100.0)
>>> p.event_now(101.0)        # one wall second = one event minute
60000
"""

from __future__ import annotations

import math
import time
from typing import Iterable, Iterator


class Pacer:
    """Event time as a function of wall time at ``speed`` x real time."""

    def __init__(self, speed: float, first_ts: int, wall_start: float) -> None:
        self.speed = speed
        self.first_ts = first_ts
        self.wall_start = wall_start

    def event_now(self, wall: float) -> int:
        if math.isinf(self.speed):
            return 2**62
        return self.first_ts + int((wall - self.wall_start) * 1000 * self.speed)

    def wall_due(self, ts: int) -> float:
        if math.isinf(self.speed):
            return self.wall_start
        return self.wall_start + (ts - self.first_ts) / 1000 / self.speed


def paced_batches(
    events: Iterable, speed: float, max_batch: int = 5000, clock=time.monotonic, sleep=time.sleep
) -> Iterator[tuple[list, int]]:
    """Yield ``(batch, event-time now)`` as the wall clock reaches the events' times.

    At speed ``inf`` the batches come as fast as they are taken and "now" is the
    last event's time; otherwise empty batches tick the clock while waiting.
    """
    it = iter(events)
    pending = next(it, None)
    if pending is None:
        return
    fast = math.isinf(speed)
    pacer = Pacer(speed, pending.ts, clock())
    last_ts = pending.ts
    while pending is not None:
        now = last_ts if fast else pacer.event_now(clock())
        if not fast and pending.ts > now:
            sleep(min(0.2, max(0.0, pacer.wall_due(pending.ts) - clock())))
            yield [], max(last_ts, min(pacer.event_now(clock()), pending.ts))
            continue
        batch = [pending]
        pending = None
        for ev in it:
            if not fast and ev.ts > now:
                pending = ev
                break
            batch.append(ev)
            if len(batch) >= max_batch:
                pending = next(it, None)
                break
        last_ts = max(last_ts, batch[-1].ts)
        yield batch, (last_ts if fast else max(now, last_ts))
