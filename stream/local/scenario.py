"""What ``floorwatch up`` feeds the floor: a simulated busy day, or a replayed file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable


def scenario_events(args, cfg) -> Iterable:
    """The events of ``--replay FILE --format F``, else of ``--scenario`` (adds a replayed log's own sites to ``cfg``).

    A replayed file's dead letters are left out here: ``floorwatch replay`` reports them.
    """
    if getattr(args, "replay", None):
        from stream.sources import formats

        f = formats.get(args.format)
        formats.add_sites(f, cfg)
        items = f.read(Path(args.replay), cfg, getattr(args, "site", None))
        return (e for e in items if not isinstance(e, formats.Dead))
    if args.scenario == "none":
        return iter(())
    from simulators import busy_day

    return busy_day.generate(cfg, seed=args.seed, calls=args.calls)
