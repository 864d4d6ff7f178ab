"""``floorwatch alerts`` and ``floorwatch detect``: the alert commands.

    floorwatch alerts --replay FILE --format anonbank|asterisk|jsonl [--site S] [--json] [--all] [--config F] [--alerts F] [--lang zh|en]
        the alerts a replay raises, on event time (one JSON object per line with --json;
        --all adds repeats, acknowledgements and resolutions)
    floorwatch detect --nab DIR --out DIR
        every *.csv (timestamp,value) under DIR scored by the live detector, written at
        the same relative path under the out DIR with columns timestamp,value,anomaly_score

``register(subparsers)`` adds both to the ``floorwatch`` parser (stream/cli/main.py).
Exit codes: 0 ok, 2 bad usage or input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from stream.fold.calendar import iso_utc
from stream.sources.formats import NAMES, SourceError, read_events

__all__ = ["register", "cmd_alerts", "cmd_detect", "replay_alerts"]


def register(subparsers) -> None:
    """Add ``alerts`` and ``detect`` to the floorwatch command line."""
    a = subparsers.add_parser("alerts", help="replay a log and print the alerts it raises (event time)")
    a.add_argument("--replay", required=True, metavar="FILE")
    a.add_argument("--format", choices=NAMES, required=True)
    a.add_argument("--site", help="asterisk: the site the log feeds (default: the one with an asterisk: section)")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--all", action="store_true", help="also repeats and resolutions, not only raises")
    a.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    a.add_argument("--alerts", help="alerts YAML (default config/alerts.yaml)")
    a.add_argument("--period-s", type=int, default=30, help="evaluate each site every N s of event time (divides 300)")
    a.add_argument("--lang", choices=("zh", "en"), default="en", help="message language of the text output")
    a.set_defaults(func=cmd_alerts)

    d = subparsers.add_parser("detect", help="score timestamp,value CSVs (e.g. NAB) with the live detector")
    d.add_argument("--nab", required=True, metavar="DIR")
    d.add_argument("--out", required=True, metavar="DIR")
    d.set_defaults(func=cmd_detect)


def replay_alerts(path: Path, fmt: str, floor, engine, period_ms: int = 30_000, site: Optional[str] = None) -> list[dict]:
    """All alert changes of a replayed file, in order."""
    from stream.alerts.driver import AlertDriver
    from stream.runtime.advisor import Advisor

    # The staffing advice the understaffed rule reads, as a worker without history makes it.
    drv = AlertDriver(floor, engine, period_ms, annotate=Advisor(floor.config).annotate)
    out: list[dict] = []
    batch: list = []
    for ev in read_events(path, fmt, floor, site):
        batch.append(ev)
        if len(batch) >= 10_000:
            out.extend(drv.feed(batch))
            batch = []
    out.extend(drv.feed(batch))
    return out


def _line(ch: dict) -> dict:
    return {
        "time": iso_utc(ch["at_ms"]),
        "at_ms": ch["at_ms"],
        "change": ch["change"],
        "id": ch["id"],
        "rule": ch["rule"],
        "site": ch["site"],
        "queue": ch["queue"],
        "agent": ch["agent"],
        "severity": ch["severity"],
        "value": ch["value"],
        "threshold": ch["threshold"],
        "expected": ch["expected"],
        "score": ch["score"],
        "onset_ms": ch.get("onset_ms"),
        "message": ch["message"],
    }


def cmd_alerts(args: argparse.Namespace) -> int:
    from stream.alerts.config import load_alerts
    from stream.alerts.engine import AlertEngine
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.fold.floor import Floor

    path = Path(args.replay)
    if not path.is_file():
        print(f"floorwatch alerts: no such file: {path}", file=sys.stderr)
        return 2
    if args.period_s <= 0 or 300 % args.period_s:
        print("floorwatch alerts: --period-s must divide 300", file=sys.stderr)
        return 2
    try:
        floor = Floor(load_config(args.config))
        engine = AlertEngine(load_alerts(args.alerts))
    except ConfigError as exc:
        print(f"floorwatch alerts: {exc}", file=sys.stderr)
        return 2
    try:
        changes = replay_alerts(path, args.format, floor, engine, args.period_s * 1000, args.site)
    except SourceError as exc:
        print(f"floorwatch alerts: {exc}", file=sys.stderr)
        return 2
    rej = floor.rejected_summary()
    if not floor.sites and rej["count"]:  # no site met a single event: most often a wrong --format
        from stream.sources.formats import none_accepted

        print(f"floorwatch alerts: {none_accepted(path, args.format, rej['reasons'])}", file=sys.stderr)
        return 2
    lang = "zh-CN" if args.lang == "zh" else "en"
    w = sys.stdout.write
    for ch in changes:
        if not args.all and ch["change"] != "raised":
            continue
        if args.json:
            w(json.dumps(_line(ch), ensure_ascii=False) + "\n")
        else:
            w(f"{_local(floor, ch)}  {ch['change']:<8} {ch['severity']:<8} {ch['message'][lang]}\n")
    return 0


def _local(floor, ch: dict) -> str:
    """The change's time in its site's local time, with the offset (what the floor's clocks say)."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(floor.config.site(ch.get("site") or "").timezone)
    return datetime.fromtimestamp(ch["at_ms"] / 1000, tz=timezone.utc).astimezone(tz).isoformat(timespec="seconds")


def cmd_detect(args: argparse.Namespace) -> int:
    from stream.alerts.series import read_series_csv, score_series, write_scores_csv

    src, dst = Path(args.nab), Path(args.out)
    if not src.is_dir():
        print(f"floorwatch detect: no such directory: {src}", file=sys.stderr)
        return 2
    files = sorted(p for p in src.rglob("*.csv") if dst.resolve() not in p.resolve().parents)
    if not files:
        print(f"floorwatch detect: no *.csv under {src}", file=sys.stderr)
        return 2
    bad = 0
    for p in files:
        try:
            raw, ts, vs = read_series_csv(p)
        except (ValueError, OSError) as exc:
            print(f"floorwatch detect: {exc}", file=sys.stderr)
            bad += 1
            continue
        write_scores_csv(dst / p.relative_to(src), raw, vs, score_series(ts, vs))
    print(f"floorwatch detect: scored {len(files) - bad} of {len(files)} files into {dst}", file=sys.stderr)
    return 2 if bad else 0
