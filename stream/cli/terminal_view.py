"""Live terminal view: a source paced on event time, folded in process, shown as tables.

``floorwatch up --in-process``: no Kafka, Redis or wall, the day folded here.
Pacing is ``stream.runtime.pacing``.
"""

from __future__ import annotations

import sys
import time

from stream.local.scenario import scenario_events
from stream.runtime.pacing import paced_batches


def run_terminal(args, out=None) -> int:
    from rich.console import Console, Group
    from rich.live import Live

    from stream.contracts.floor_config import ConfigError, load_config
    from stream.fold.floor import Floor
    from stream.cli.tables import snapshot_table

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"floorwatch: {exc}", file=sys.stderr)
        return 2
    events = scenario_events(args, cfg)
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
