"""``floorwatch history``: the interval history of a site, by 15 minutes, hours or days.

    floorwatch history --db URL --site S [--queue Q|*] --from DATE --to DATE --step 15m|1h|1d [--json]
    floorwatch history --db URL --site S --from DATE --to DATE --agents [--by team] [--team T] [--agent A]
                       [--step 1h|1d] [--hour H] [--teams FILE] [--json]

Dates are the site's local dates, both included. ``--json`` prints
``{"rows": [{"site", "queue", "start", "offered", ...}]}`` (the replay
report's figures; ``queue`` ``"*"`` is the site's total); without it, a table.
With ``--agents``, agent (``--by team``: team) performance from the agent
interval rows instead: handled, AHT and AHT by queue, occupancy, not-ready
time by reason (``{"rows": [...], "teams": {...}}``, as ``/api/history/agents``).
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
    h.add_argument("--step", choices=("15m", "1h", "1d"), help=f"bucket (default {DEFAULT_STEP}; with --agents: the whole period)")
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    h.add_argument("--agents", action="store_true", help="agent or team performance instead of the queues' flow")
    h.add_argument("--by", choices=("agent", "team"), default="agent", help="with --agents: a row per agent or per team")
    h.add_argument("--team", help="with --agents: only this team's agents (unassigned: those in no team)")
    h.add_argument("--agent", help="with --agents: only this agent")
    h.add_argument("--hour", type=int, help="with --agents: only this local hour (0-23) of each day")
    h.add_argument("--teams", help="teams YAML (default config/teams.yaml)")
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
    from stream.contracts.floor_config import ConfigError
    from stream.history.agents import agent_report
    from stream.history.rollup import QueryError, history, parse_date
    from stream.history.store import Store, StoreError
    from stream.history.teams import load_teams

    try:
        first = parse_date(args.date_from, "--from")
        last = parse_date(args.date_to, "--to")
        if args.agents:
            if args.step == "15m":
                raise QueryError("with --agents, --step must be 1h or 1d")
            teams = load_teams(args.teams)
        elif any(v is not None for v in (args.team, args.agent, args.hour)) or args.by != "agent":
            raise QueryError("--by, --team, --agent and --hour go with --agents")
        # A query never makes a database: a mistyped SQLite path is an error, not an empty history.
        store = Store.open(args.db, must_exist=True)
        try:
            if args.agents:
                out = agent_report(store, args.site, first, last, teams=teams, by=args.by, team=args.team,
                                   agent=args.agent, step=args.step, hour=args.hour)
            else:
                out = history(store, args.site, args.queue, first, last, args.step or DEFAULT_STEP)
            # A mistyped site is not an empty history either: name the sites the database holds.
            if not out["rows"] and not store.has_site(args.site):
                known = ", ".join(store.sites()) or "none yet"
                raise QueryError(f"no site {args.site!r} in the history database (it holds: {known})")
        finally:
            store.close()
    except (QueryError, StoreError, ConfigError) as exc:
        print(f"floorwatch history: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    if args.agents:
        Console().print(_agent_table(out, f"{args.site} {first}..{last}" + (f" / {args.step}" if args.step else "")))
        return 0
    from stream.history.rollup import ROW_KEYS

    t = Table(title=f"{args.site} {first}..{last} / {args.step or DEFAULT_STEP}")
    for k in ROW_KEYS[1:]:
        t.add_column(k, justify="left" if k in ("queue", "start") else "right")
    for r in out["rows"]:
        t.add_row(*("" if r[k] is None else f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in ROW_KEYS[1:]))
    Console().print(t)
    return 0


def _agent_table(out: dict, title: str):
    from rich.table import Table

    t = Table(title=title)
    rows = out["rows"]
    reasons = sorted({k for r in rows for k in r["not_ready_s"]})
    queues = sorted({k for r in rows for k in r["aht_by_queue_s"]})
    cols = (["start"] if rows and "start" in rows[0] else []) + ["key", "handled", "aht_s", *(f"aht {q}" for q in queues),
                                                                 "occupancy_pct", *(f"not_ready {k} min" for k in reasons)]
    for c in cols:
        t.add_column(c, justify="left" if c in ("start", "key") else "right")

    def f(v) -> str:
        return "" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)

    for r in rows:
        t.add_row(*([r["start"]] if "start" in cols else []), r["key"], f(r["handled"]), f(r["aht_s"]),
                  *(f(r["aht_by_queue_s"].get(q)) for q in queues), f(r["occupancy_pct"]),
                  *(f(r["not_ready_s"].get(k, 0) / 60) for k in reasons))
    return t


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
