"""Live terminal view: a source paced on event time, folded in process, shown as tables.

``Pacer`` maps wall-clock time to event time at a chosen speed, so a day of
events plays out at 60x (or any speed, or as fast as possible) while the core
only ever sees event time: the pacer ticks the core with the event-time "now"
when no event is due, the way wall-clock ticks do on a live floor.

>>> p = Pacer(speed=60.0, first_ts=0, wall_start=100.0)
>>> p.event_now(101.0)        # one wall second = one event minute
60000
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from typing import Iterable, Iterator, Optional


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


def run_up(args) -> int:
    """``floorwatch up``: the whole stack, or with ``--in-process`` this terminal view alone."""
    if getattr(args, "in_process", False):
        return run_terminal(args)
    from stream.stack import run_stack

    return run_stack(args)


def run_terminal(args, out=None) -> int:
    from rich.console import Console, Group
    from rich.live import Live

    from stream.config import ConfigError, load_config
    from stream.core import Floor
    from stream.tables import snapshot_table

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"floorwatch: {exc}", file=sys.stderr)
        return 2
    events = _source(args, cfg)
    floor = Floor(cfg)
    console = Console(file=out, width=200) if out is not None else Console()
    deadline = time.monotonic() + args.for_seconds if getattr(args, "for_seconds", None) else None
    last_draw = 0.0

    def render():
        parts = [snapshot_table(floor.snapshot(s), args.lang) for s in sorted(floor.sites)]
        return Group(*parts)

    with Live(render(), console=console, refresh_per_second=4, transient=False) as live:
        for batch, now in paced_batches(events, args.speed):
            floor.apply_many(batch)
            floor.tick(now)
            t = time.monotonic()
            if t - last_draw >= 0.5:
                live.update(render())
                last_draw = t
            if deadline is not None and t >= deadline:
                break
        live.update(render())
    return 0


def _source(args, cfg) -> Iterable:
    if getattr(args, "replay", None):
        if args.format == "anonbank":
            from simulators import anonbank

            cfg.sites.setdefault(anonbank.SITE, anonbank.site_config())
            return anonbank.read_anonbank(args.replay).events
        from simulators.jsonl import read_jsonl

        return (e for e in read_jsonl(args.replay) if not isinstance(e, tuple) and hasattr(e, "ts"))
    if args.scenario == "none":
        return iter(())
    from simulators import busy_day

    return busy_day.generate(cfg, seed=args.seed, calls=args.calls)
