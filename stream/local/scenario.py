"""What ``floorwatch up`` feeds the floor: a simulated busy day, or a replayed file."""

from __future__ import annotations

from typing import Iterable


def scenario_events(args, cfg) -> Iterable:
    """The events of ``--replay FILE --format F``, else of ``--scenario`` (adds a replayed log's own site to ``cfg``)."""
    if getattr(args, "replay", None):
        if args.format == "anonbank":
            from stream.sources import anonbank

            anonbank.add_site(cfg)
            return anonbank.read_anonbank(args.replay).events
        from stream.sources.jsonl import read_jsonl

        return (e for e in read_jsonl(args.replay) if not isinstance(e, tuple) and hasattr(e, "ts"))
    if args.scenario == "none":
        return iter(())
    from simulators import busy_day

    return busy_day.generate(cfg, seed=args.seed, calls=args.calls)
