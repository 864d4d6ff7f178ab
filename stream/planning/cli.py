"""``floorwatch forecast`` and ``floorwatch staffing --plan/--check/--roster``: the planning commands.

    floorwatch forecast --replay FILE --format anonbank|asterisk|jsonl --from DATE[THH:MM±HH:MM] --days N --json
    floorwatch staffing --plan (--replay FILE --format ... | --db URL) --from DATE --days N [--shrinkage S]
                        [--max-occupancy X] [--erlang A|C] [--over interval|day] [--margin POINTS] [--uncertain]
                        [--lead MINUTES] [--recover] --json
    floorwatch staffing --check --replay FILE --format ... --plan PLAN.json [--shrinkage S] [--runs N] [--seed N] --json
    floorwatch staffing --roster ROSTER.csv|yaml --plan PLAN.json --json          (scheduled vs needed)
    floorwatch staffing --suggest --plan PLAN.json [--shifts SHIFTS.yaml] --json  (a roster, by MILP)

``--from`` is a local date (the forecast learns from the days before it and
covers ``--days`` days from it) or a date and time with offset (today's
intervals up to it are actuals that reshape the rest of today); then
``--lead`` leaves out the intervals a re-plan cannot reach any more and
``--recover`` aims the rest of the day at what the day still needs
(``stream.planning.intraday``). ``--roster`` and ``--suggest`` work per pool
where the floor config (``--config``) gives the site pools (``roster.py``).
Errors are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Optional

from stream.sources.formats import NAMES as FORMAT_NAMES


class _Usage(Exception):
    """A one-line error for the user."""


def _start(text: str) -> date | datetime:
    try:
        if "T" in text or " " in text:
            t = datetime.fromisoformat(text)
            if t.tzinfo is None:
                raise ValueError
            return t
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date (YYYY-MM-DD) or a time with offset (YYYY-MM-DDTHH:MM+08:00), got {text!r}")


def _days(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 62:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to 62, got {text!r}")
    return n


def _log(args):
    from stream.planning.actuals import read_log

    cfg = None
    if getattr(args, "config", None):
        from stream.contracts.floor_config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            raise _Usage(str(exc))
    else:
        from stream.contracts.floor_config import load_config

        cfg = load_config()
    try:
        return read_log(args.replay, args.format, cfg)
    except ValueError as exc:
        raise _Usage(f"--replay: {exc}")


def _holidays(args):
    from stream.planning.holidays import load_holidays

    try:
        return load_holidays(getattr(args, "holidays", None))
    except ValueError as exc:
        raise _Usage(f"--holidays: {exc}")


def _need(args, *names: str) -> None:
    for n in names:
        attr = n.lstrip("-").replace("-", "_")
        if getattr(args, "from_" if attr == "from" else attr, None) in (None, False):
            raise _Usage(f"{n} is required here")


def forecast_rows(args) -> list[dict]:
    from stream.planning.outlook import forecast_log

    log = _log(args)
    _no_history(log, args.from_)
    return forecast_log(log, args.from_, args.days, _holidays(args))


def cmd_forecast(args: argparse.Namespace) -> int:
    try:
        rows = forecast_rows(args)
    except _Usage as exc:
        print(f"floorwatch forecast: {exc}", file=sys.stderr)
        return 2
    _emit({"intervals": rows}, args.json)
    return 0


def _emit(doc: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    rows = doc.get("intervals")
    if rows is not None:
        for r in rows:
            print("  ".join(f"{k}={v}" for k, v in r.items()))
    else:
        print(json.dumps(doc, ensure_ascii=False, indent=2))


def _read_plan(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise _Usage(f"--plan: no such file: {p}")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Usage(f"--plan: {p} is not JSON ({exc})")
    if not isinstance(doc, dict) or not isinstance(doc.get("intervals"), list):
        raise _Usage(f"--plan: {p} has no \"intervals\" list")
    for i, r in enumerate(doc["intervals"]):
        _check_interval(p, i, r)
    return doc["intervals"]


def _check_interval(p: Path, i: int, r) -> None:
    """One plan interval as the planning commands need it: site, queue, start with offset, agents >= 0 (or null)."""
    where = f"--plan: {p}: interval {i}"
    if not isinstance(r, dict):
        raise _Usage(f"{where} is not an object")
    for k in ("site", "queue", "start"):
        if not isinstance(r.get(k), str) or not r[k]:
            raise _Usage(f"{where}: needs {k!r} (a string)")
    try:
        t = datetime.fromisoformat(r["start"])
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise _Usage(f"{where}: start must be a local time with its UTC offset, got {r['start']!r}")
    n = r.get("agents")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0 or n != n):
        raise _Usage(f"{where}: agents must be a number >= 0 (or null), got {n!r}")


def _no_history(log, start) -> None:
    """A forecast needs some of the log before ``--from``: say so rather than print nothing."""
    from stream.planning.actuals import cutoff_for

    cfg = log.config
    if not any(ev.ts < cutoff_for(start, cfg.site(ev.site).timezone) for ev in log.events):
        raise _Usage(f"--from {start.isoformat()}: the log has nothing before it to learn from")


def run_staffing(args: argparse.Namespace) -> Optional[int]:
    """The plan/check/roster modes of ``floorwatch staffing``; None when none was asked for."""
    modes = [m for m in ("check", "roster", "suggest") if getattr(args, m, None)]
    plan_flag = args.plan is True
    if not modes and not plan_flag:
        return None
    try:
        if len(modes) > 1 or (plan_flag and modes):
            given = (["--plan"] if plan_flag else []) + [f"--{m}" for m in modes]
            raise _Usage(f"give only one of --plan, --check, --roster, --suggest, not {' and '.join(given)}")
        if plan_flag:
            doc = {"intervals": _plan(args)}
        elif modes == ["check"]:
            doc = _check(args)
        elif modes == ["roster"]:
            doc = _roster(args)
        else:
            doc = _suggest(args)
    except _Usage as exc:
        print(f"floorwatch staffing: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"floorwatch staffing: {exc}", file=sys.stderr)
        return 2
    _emit(doc, args.json)
    return 0


def _stored_plan_inputs(args):
    """Forecast rows and patience from the history store (``--db``): Erlang A's patience from its waits."""
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.history.store import Store, StoreError, engine_url
    from stream.planning.outlook import forecast_histories, spreads_of
    from stream.planning.so_far import of_store
    from stream.planning.stored import history_from_store, patience_from_history, with_format_sites

    try:
        cfg = with_format_sites(load_config(args.config) if getattr(args, "config", None) else load_config())
    except ConfigError as exc:
        raise _Usage(str(exc))
    try:
        # Planning never makes a database: a mistyped SQLite path is an error, not an empty history.
        if engine_url(args.db).startswith("sqlite:///") and not Path(engine_url(args.db)[len("sqlite:///"):]).is_file():
            raise StoreError(f"no history database at {args.db} (write one with `floorwatch replay … --db` or a worker's --db)")
        store = Store.open(args.db)
        try:
            hist = history_from_store(store, cfg)
            # --recover: the day so far from the same store (its intervals over by --from).
            so_far = of_store(store, cfg, args.from_) if args.recover and hist else None
        finally:
            store.close()
    except StoreError as exc:
        raise _Usage(f"--db: {exc}")
    if not hist:
        raise _Usage("--db: the history database has no interval rows to forecast from")
    today = args.from_.date() if isinstance(args.from_, datetime) else args.from_
    # Only rows before --from: whole days before its date (the store has no instant finer than a day here).
    pat = patience_from_history(hist, today) if args.erlang == "A" else None
    outs = forecast_histories(hist, args.from_, args.days, _holidays(args), spread=args.uncertain)
    return [r for o in outs for r in o.rows], pat, cfg, (spreads_of(outs) if args.uncertain else None), so_far


def _margin(args) -> None:
    if not -50.0 <= args.margin <= 19.0:
        raise _Usage(f"--margin: points added to the service-level target, from -50 to 19, got {args.margin:g}")


def _plan(args) -> list[dict]:
    from stream.planning.calls import contacts, patience
    from stream.planning.intraday import actionable
    from stream.planning.outlook import outlooks_log, spreads_of
    from stream.planning.plan import plan

    if getattr(args, "db", None):
        if args.replay:
            raise _Usage("give --replay or --db, not both")
        _need(args, "--from", "--days")
        _margin(args)
        effective = _effective(args)
        rows, pat, cfg, spread, so_far = _stored_plan_inputs(args)
        extra = None
        if so_far is not None:
            from stream.planning.intraday import site_margins

            _say_no_day_so_far(so_far, args.from_)
            extra = site_margins(rows, cfg, so_far, effective)   # the Cadence's bounds
        return plan(actionable(rows, effective), cfg, patience=pat, shrinkage=args.shrinkage or 0.0,
                    max_occupancy=args.max_occupancy, over=args.over, margin_pct=args.margin, spread=spread,
                    site_margin=extra)
    _need(args, "--replay", "--format", "--from", "--days")
    _margin(args)
    effective = _effective(args)
    log = _log(args)
    _no_history(log, args.from_)
    outs = outlooks_log(log, args.from_, args.days, _holidays(args), spread=args.uncertain)
    rows = [r for o in outs for r in o.rows]
    extra = None
    if args.recover:
        from stream.planning.intraday import site_margins

        from stream.planning.so_far import of_log

        extra = site_margins(rows, log.config, of_log(log, args.from_), effective)   # the Cadence's bounds
    pat = None
    if args.erlang == "A":
        from stream.planning.actuals import cutoff_for

        cfg = log.config
        cuts = {}
        before = []
        for ev in log.events:
            c = cuts.get(ev.site)
            if c is None:
                c = cuts[ev.site] = cutoff_for(args.from_, cfg.site(ev.site).timezone)
            if ev.ts < c:
                before.append(ev)
        pat = patience(contacts(before))
    out = plan(actionable(rows, effective), log.config, patience=pat, shrinkage=args.shrinkage or 0.0,
               max_occupancy=args.max_occupancy, over=args.over, margin_pct=args.margin,
               spread=spreads_of(outs) if args.uncertain else None, site_margin=extra)
    return out


def _effective(args) -> Optional[datetime]:
    """When a re-plan made at ``--from`` acts (``--lead`` minutes later); None for a plan from a date."""
    if args.lead is None and not args.recover:
        return None
    if not isinstance(args.from_, datetime):
        raise _Usage("--lead and --recover re-plan a day under way: give --from a time (DATETHH:MM+08:00)")
    lead = args.lead or 0
    if lead < 0 or lead % 15:
        raise _Usage(f"--lead: minutes, a multiple of 15 from 0, got {lead}")
    return args.from_ + timedelta(minutes=lead)


def _say_no_day_so_far(so_far: dict, start: datetime) -> None:
    """A --recover with no figure of the day before --from at any site plans at the target: say so (one line,
    on stderr; the plan still prints)."""
    if not any(sl is not None for _, sl in so_far.values()):
        print(f"floorwatch staffing: --recover: no service level of the day before {start.isoformat()} in the "
              "history database; the rest of the day aims at the target", file=sys.stderr)


# Runs of a --check: a month of the bank's log checks in about 0.5 s a run, and one run's service level can sit
# 4 points from another's on a short-staffed day (docs/planning.md, "Checking a plan").
CHECK_RUNS = 10


def _runs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"a whole number of runs >= 1, got {text!r}")
    return n


def _check(args) -> dict:
    from stream.planning.check import check_plan

    _need(args, "--replay", "--format")
    if not isinstance(args.plan, str):
        raise _Usage("--check needs --plan PLAN.json")
    rows = _read_plan(args.plan)
    return check_plan(_log(args), rows, shrinkage=args.shrinkage or 0.0, seed=args.seed, runs=args.runs)


def _floor(args):
    """The floor config for --roster/--suggest (its pools; the log formats' sites too, as a plan has them)."""
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.planning.stored import with_format_sites

    try:
        return with_format_sites(load_config(args.config) if getattr(args, "config", None) else load_config())
    except ConfigError as exc:
        raise _Usage(str(exc))


def _roster(args) -> dict:
    from stream.planning.roster import Units, coverage, read_roster

    if not isinstance(args.plan, str):
        raise _Usage("--roster needs --plan PLAN.json (the need to compare with)")
    rows = _read_plan(args.plan)
    cfg = _floor(args)
    # Per pool where the site has pools: a person counts once for the pool's queues (roster.py).
    return {"intervals": coverage(read_roster(args.roster, Units(cfg, rows)), rows, cfg)}


def _suggest(args) -> dict:
    from stream.planning.roster import load_shift_rules, suggest

    if not isinstance(args.plan, str):
        raise _Usage("--suggest needs --plan PLAN.json (the need to cover)")
    rows = _read_plan(args.plan)
    return suggest(rows, load_shift_rules(args.shifts), _floor(args))


def _one_line_errors(p: argparse.ArgumentParser) -> None:
    """Usage errors as one line naming what is wrong (argparse prints the whole usage first)."""

    def error(message: str):
        print(f"{p.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)

    p.error = error  # type: ignore[method-assign]


def add_staffing_arguments(st: argparse.ArgumentParser) -> None:
    """The plan/check/roster options of ``floorwatch staffing`` (beside the single-interval ones)."""
    _one_line_errors(st)
    st.add_argument("--plan", nargs="?", const=True, default=None, metavar="PLAN.json",
                    help="alone: make a plan from a forecast; with --check/--roster/--suggest: the plan to use")
    st.add_argument("--check", action="store_true", help="replay a log's real contacts against --plan's agents")
    st.add_argument("--roster", metavar="ROSTER", help="a roster (CSV or YAML): scheduled against --plan's need")
    st.add_argument("--suggest", action="store_true", help="suggest a roster covering --plan's need (MILP)")
    st.add_argument("--shifts", metavar="SHIFTS.yaml", help="allowed shift patterns for --suggest (default config/shifts.yaml)")
    st.add_argument("--replay", metavar="FILE")
    st.add_argument("--db", metavar="URL", help="--plan from the history database (postgresql://... or sqlite:///...) "
                                                "instead of --replay; Erlang A with the patience its waits show")
    st.add_argument("--format", choices=FORMAT_NAMES)
    st.add_argument("--from", dest="from_", type=_start, metavar="DATE")
    st.add_argument("--days", type=_days)
    st.add_argument("--erlang", choices=("A", "C"), default="A", help="A: with patience from the log's abandons (default)")
    st.add_argument("--margin", type=float, default=0.0, metavar="POINTS",
                    help="plan for the target plus this many points (the shortfall past checks showed)")
    st.add_argument("--uncertain", action="store_true",
                    help="meet the target in expectation over the forecast's error, as its past days show it "
                         "(more agents where the forecast has strayed; see docs/planning.md)")
    st.add_argument("--lead", type=int, default=None, metavar="MINUTES",
                    help="with --from a time: a re-plan acts this many minutes later (the intervals before are the "
                         "plan in force and are left out); a multiple of 15")
    st.add_argument("--recover", action="store_true",
                    help="with --from a time: aim the rest of the day at what the day still needs after its service "
                         "level so far (the floor's own figures up to --from: folded from --replay, or the intervals --db holds; see docs/planning.md)")
    st.add_argument("--over", choices=("interval", "day"), default="interval",
                    help="meet the target in every interval (default) or over each queue's day, at fewer agent-hours")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--runs", type=_runs, default=CHECK_RUNS,
                    help=f"--check: simulate the days this many times and give each figure's mean, and the service "
                         f"level's range over the runs (default {CHECK_RUNS}; what the log cannot say is drawn at random)")
    st.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    st.add_argument("--holidays", help="holiday calendar YAML (default config/holidays.yaml)")


def register(sub) -> None:
    """Add ``floorwatch forecast`` to the command line."""
    f = sub.add_parser("forecast", help="forecast offered contacts and AHT per queue and 15-minute interval")
    f.add_argument("--replay", required=True, metavar="FILE", help="the history: a log to learn from")
    f.add_argument("--format", choices=FORMAT_NAMES, required=True)
    f.add_argument("--from", dest="from_", type=_start, required=True, metavar="DATE")
    f.add_argument("--days", type=_days, default=14)
    f.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    f.add_argument("--holidays", help="holiday calendar YAML (default config/holidays.yaml)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_forecast)
    _one_line_errors(f)
