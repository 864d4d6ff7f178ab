"""``floorwatch ewt``: the wait predicted for each offered contact of a log, beside its actual wait.

    floorwatch ewt --replay FILE --format anonbank|asterisk|jsonl [--site S] [--config F] --json

One line per offered contact, in arrival order: ``{"id", "site", "queue", "at",
"predicted_wait_s", "actual_wait_s", "outcome"}`` — the prediction made at its
arrival from the fold's state just before it (``stream.predict.replay``);
``actual_wait_s`` is null while it is still waiting at the end of the log.
Without ``--json``, the same as text columns. Exit codes: 0 ok, 1 a log of
which nothing was accepted, 2 bad usage or input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stream.sources.formats import NAMES, SourceError, none_accepted

__all__ = ["register", "cmd_ewt"]


def register(subparsers) -> None:
    """Add ``ewt`` to the floorwatch command line."""
    e = subparsers.add_parser("ewt", help="replay a log and print the wait predicted for each offered contact")
    e.add_argument("--replay", required=True, metavar="FILE")
    e.add_argument("--format", choices=NAMES, required=True)
    e.add_argument("--site", help="asterisk: the site the log feeds (default: the one with an asterisk: section)")
    e.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    e.add_argument("--json", action="store_true", help="one JSON object per line")
    e.set_defaults(func=cmd_ewt)


def cmd_ewt(args: argparse.Namespace) -> int:
    from stream.sources.formats import read_events
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.fold.calendar import iso_utc
    from stream.fold.floor import Floor
    from stream.predict.ewt import EWT
    from stream.predict.replay import predict_replay

    path = Path(args.replay)
    if not path.is_file():
        print(f"floorwatch ewt: no such file: {path}", file=sys.stderr)
        return 2
    try:
        floor = Floor(load_config(args.config))
        records = predict_replay(read_events(path, args.format, floor, args.site), floor, [EWT()])
    except (ConfigError, SourceError) as exc:
        print(f"floorwatch ewt: {exc}", file=sys.stderr)
        return 2
    rejected = floor.rejected_summary()
    if not records and rejected["count"]:
        print(f"floorwatch ewt: {none_accepted(path, args.format, rejected['reasons'])}", file=sys.stderr)
        return 2
    w = sys.stdout.write
    for r in records:
        p = r["predicted"]["EWT"]
        line = {
            "id": r["id"],
            "site": r["site"],
            "queue": r["queue"],
            "at": iso_utc(r["at"]),
            "predicted_wait_s": round(p.wait_s, 1),
            "actual_wait_s": r["actual_wait_s"],
            "outcome": r["outcome"],
        }
        if args.json:
            w(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            actual = "-" if r["actual_wait_s"] is None else f"{r['actual_wait_s']:.0f}"
            w(f"{line['at']}  {r['site']:<12} {r['queue']:<16} predicted {p.wait_s:6.0f} s "
              f"[{p.low_s:.0f}-{p.high_s:.0f}]  actual {actual:>5} s  {r['outcome']}\n")
    return 0
