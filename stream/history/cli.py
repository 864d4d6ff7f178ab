"""``floorwatch history``: the interval history of a site, by 15 minutes, hours or days.

    floorwatch history --db URL --site S [--queue Q|*] --from DATE --to DATE --step 15m|1h|1d [--json]

Dates are the site's local dates, both included. ``--json`` prints
``{"rows": [{"site", "queue", "start", "offered", ...}]}`` (the replay
report's figures; ``queue`` ``"*"`` is the site's total); without it, a table.
``backfill`` is what ``floorwatch replay FILE --db URL`` calls after the fold.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

DEFAULT_STEP = "1h"


def register(subparsers: Any) -> None:
    h = subparsers.add_parser("history", help="the interval history of a site from the history database")
    h.add_argument("--db", required=True, help="postgresql://user@host/db or sqlite:///path (or a file path)")
    h.add_argument("--site", required=True)
    h.add_argument("--queue", help="one queue, or * for the site total only (default: every queue and the total)")
    h.add_argument("--from", dest="date_from", required=True, help="first local date, YYYY-MM-DD")
    h.add_argument("--to", dest="date_to", required=True, help="last local date (included), YYYY-MM-DD")
    h.add_argument("--step", choices=("15m", "1h", "1d"), default=DEFAULT_STEP)
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    h.set_defaults(func=cmd_history)

    d = subparsers.add_parser("daily-report", help="email each site's previous day as XLSX at a local hour")
    d.add_argument("--db", required=True, help="the history database")
    d.add_argument("--reports", help="reports YAML (default config/reports.yaml)")
    d.add_argument("--delivery", help="delivery YAML with the SMTP channel and recipients (default config/delivery.yaml)")
    d.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    d.add_argument("--once", action="store_true", help="send what is due now, then exit")
    d.add_argument("--site", help="with --date: send this site's report of that date now")
    d.add_argument("--date", help="with --site: the local date to send (YYYY-MM-DD)")
    d.set_defaults(func=cmd_daily_report)


def cmd_history(args: argparse.Namespace) -> int:
    from stream.history.rollup import QueryError, history, parse_date
    from stream.history.store import Store, StoreError

    try:
        first = parse_date(args.date_from, "--from")
        last = parse_date(args.date_to, "--to")
        # A query never makes a database: a mistyped SQLite path is an error, not an empty history.
        store = Store.open(args.db, must_exist=True)
        try:
            out = history(store, args.site, args.queue, first, last, args.step)
        finally:
            store.close()
    except (QueryError, StoreError) as exc:
        print(f"floorwatch history: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    from stream.history.rollup import ROW_KEYS

    t = Table(title=f"{args.site} {first}..{last} / {args.step}")
    for k in ROW_KEYS[1:]:
        t.add_column(k, justify="left" if k in ("queue", "start") else "right")
    for r in out["rows"]:
        t.add_row(*("" if r[k] is None else f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in ROW_KEYS[1:]))
    Console().print(t)
    return 0


def cmd_daily_report(args: argparse.Namespace) -> int:
    import time

    from stream.contracts.floor_config import ConfigError, load_config
    from stream.delivery.config import load_delivery_config
    from stream.history.daily import DailyMailer, load_reports_config
    from stream.history.rollup import QueryError, parse_date
    from stream.history.store import Store, StoreError

    if bool(args.site) != bool(args.date):
        print("floorwatch daily-report: --site and --date go together", file=sys.stderr)
        return 2
    try:
        mailer = DailyMailer(Store.open(args.db), load_config(args.config), load_reports_config(args.reports),
                             load_delivery_config(args.delivery))
        if args.site:
            mailer.send(args.site, parse_date(args.date, "--date").isoformat())
            return 0
        while True:
            for site, day in mailer.run_due():
                print(f"floorwatch daily-report: sent {site} {day}", file=sys.stderr)
            if args.once:
                return 0
            time.sleep(60)
    except (ConfigError, StoreError, QueryError) as exc:
        print(f"floorwatch daily-report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the SMTP server (smtplib raises OSError subclasses)
        print(f"floorwatch daily-report: cannot send: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def backfill(floor, db_url: str, alerts: Optional[list[dict]] = None) -> int:
    """Write a folded (and flushed) floor's history and the log's alert changes; returns rows
    written. Raises StoreError."""
    from stream.history.rows import alert_row, floor_batch
    from stream.history.store import Store

    store = Store.open(db_url)
    try:
        batch = floor_batch(floor)
        batch.alerts = [alert_row(ch) for ch in alerts or ()]
        return store.upsert(batch)
    finally:
        store.close()


def replayed_alerts(path, fmt: str, config) -> list[dict]:
    """The alert changes a replay of the log raises (what the live workers would have written),
    with the alert rules of config/alerts.yaml, on a floor of their own."""
    from stream.alerts.cli import replay_alerts
    from stream.alerts.config import load_alerts
    from stream.alerts.engine import AlertEngine
    from stream.fold.floor import Floor

    return replay_alerts(path, fmt, Floor(config), AlertEngine(load_alerts()))
