"""The ``floorwatch`` command line.

    floorwatch replay FILE --format anonbank|asterisk|jsonl [--site S] --report json|table
    floorwatch tail FILE --format asterisk|jsonl --kafka URL   follow a growing log (stream/sources/tail.py)
    floorwatch simulate --scenario busy-day|mmc [--calls N] [...] --seed S (--out FILE.jsonl | --report json)
    floorwatch staffing --calls N --interval-min M --aht-s S --target-s T (--sl GOAL | --agents N) --json
    floorwatch forecast | staffing --plan/--check/--roster/--suggest   (stream/planning/cli.py)
    floorwatch up            the live floor (see README)
    floorwatch schema        the event JSON Schema
    floorwatch dashboard --redis URL [--http-port P]   the wall dashboard alone
    floorwatch ewt --replay FILE --format anonbank|jsonl --json    the wait predicted at each arrival (stream/predict/cli.py)
    floorwatch alerts --replay FILE --format anonbank|jsonl --json    |    floorwatch detect --nab DIR --out DIR   (stream/alerts/cli.py)

Exit codes: 0 ok, 1 input read but nothing usable in it (a replay that accepted none of its rows),
2 bad usage or input that cannot be read at all. Every user error is one line on stderr, never a
traceback (``FLOORWATCH_DEBUG=1`` shows the traceback of an unexpected one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date as _date
from pathlib import Path
from typing import Optional, Sequence

# numpy (through river's detectors) would start a BLAS thread per core that spins after each
# call: on a small machine that is CPU taken from the broker, Redis and the worker itself.
# floorwatch's numeric work is small; one thread it is, unless the operator says otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _progress_for(path: Path, label: str):
    """A progress bar on stderr for long runs (only on a terminal)."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    prog = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = prog.add_task(label, total=path.stat().st_size)
    return prog, (lambda n: prog.advance(task, n))


# A replayed day is millions of objects; freeing them one by one at exit takes
# longer than the OS takes to reclaim the whole process. The command line
# (``run``) therefore leaves without freeing a floor it has reported on;
# in-process callers of ``main`` are unaffected.
_fast_exit = False
_kept: list = []


def _keep_for_exit(state: object) -> None:
    if _fast_exit:
        _kept.append(state)


def _emit_report(report: dict, kind: str, lang: str = "en") -> None:
    if kind == "json":
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        from stream.cli.tables import console, report_tables

        console().print(report_tables(report, lang))


class UserError(Exception):
    """A mistake in the command line or its input: said in one line, exit 2."""


def _writable_out(path: str) -> None:
    """``--out`` must name a file in a folder that exists (checked before a day is generated)."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"--out {path}: is a directory, not a file")
    if not p.parent.is_dir():
        raise UserError(f"--out {path}: no such folder: {p.parent}")


def _none_accepted(report: dict, path: Path, fmt: str) -> Optional[str]:
    """The one-line reason when a replay accepted none of its rows, else None."""
    from stream.sources.formats import none_accepted

    rej = report.get("rejected") or {}
    if (report.get("total") or {}).get("offered") or not rej.get("count"):
        return None
    return none_accepted(path, fmt, rej.get("reasons") or {"unknown": rej["count"]})


def _load_config(path: Optional[str]):
    from stream.contracts.floor_config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def cmd_replay(args: argparse.Namespace) -> int:
    from stream.runtime.replay import replay_file

    path = Path(args.file)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a log file")
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    from stream.sources.formats import SourceError

    cfg = _load_config(args.config)
    try:
        if args.kafka:
            from stream.runtime.publish import publish_file

            return publish_file(path, args.format, args.kafka, speed=args.speed, config=cfg, site=args.site)
        from stream.fold.floor import Floor

        # The floor's config (config/floor.yaml unless --config) gives sites their
        # timezones and queues their T; a replayed log adds its own sites to it.
        if args.db:
            from stream.history.rows import backfill_limits

            # History needs every interval of the log, not only the last two days'.
            floor = Floor(cfg, limits=backfill_limits(cfg))
        else:
            floor = Floor(cfg)
        prog, cb = _progress_for(path, f"replay {path.name}")
        if prog is not None:
            with prog:
                floor = replay_file(path, args.format, floor, cb, site=args.site)
        else:
            floor = replay_file(path, args.format, floor, site=args.site)
    except SourceError as exc:
        print(f"floorwatch replay: {exc}", file=sys.stderr)
        return 2
    if args.db:
        from stream.contracts.floor_config import ConfigError
        from stream.history.cli import backfill, replayed_alerts
        from stream.history.store import StoreError

        try:
            n = backfill(floor, args.db, replayed_alerts(path, args.format, cfg))
        except (StoreError, ConfigError) as exc:
            print(f"floorwatch replay: {exc}", file=sys.stderr)
            return 2
        print(f"floorwatch replay: {n} history rows written", file=sys.stderr)
    report = floor.report()
    _keep_for_exit(floor)
    why = _none_accepted(report, path, args.format)
    if why:
        print(f"floorwatch replay: {why}", file=sys.stderr)
        return 2  # the --format named is not the file's: a usage error, as alerts and staffing say
    _emit_report(report, args.report, args.lang)
    return 0


def _scenario_events(args: argparse.Namespace, cfg):
    if args.scenario == "busy-day":
        from simulators import busy_day

        day = _date.fromisoformat(args.date) if args.date else None
        kw = {"seed": args.seed, "calls": args.calls or 20_000}
        if day is not None:
            kw["day"] = day
        return busy_day.generate(cfg, **kw)
    from simulators import mmc

    return mmc.generate(
        calls_per_hour=args.calls_per_hour,
        aht_s=args.aht_s,
        agents=args.agents,
        hours=args.hours if args.calls is None else args.calls / args.calls_per_hour,
        seed=args.seed,
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.out:
        _writable_out(args.out)
    cfg = _load_config(args.config)
    events = _scenario_events(args, cfg)
    if args.kafka:
        from stream.runtime.publish import publish_events

        return publish_events(events, args.kafka, speed=args.speed)
    if args.out:
        from stream.sources.jsonl import write_jsonl

        n = write_jsonl(events, args.out)
        print(f"floorwatch simulate: wrote {n:,} events to {args.out}", file=sys.stderr)
        return 0
    from stream.fold.floor import Floor
    from stream.runtime.replay import replay_events

    floor = replay_events(events, Floor(cfg))
    _emit_report(floor.report(), args.report, args.lang)
    _keep_for_exit(floor)
    return 0


def cmd_staffing(args: argparse.Namespace) -> int:
    from stream.planning import staffing
    from stream.planning.cli import run_staffing

    rc = run_staffing(args)  # --plan / --check / --roster / --suggest
    if rc is not None:
        return rc
    missing = [f for f in ("calls", "interval_min", "aht_s", "target_s") if getattr(args, f) is None]
    if missing or (args.sl is None) == (args.agents is None):
        need = ", ".join("--" + f.replace("_", "-") for f in missing) or "one of --sl, --agents"
        print(f"floorwatch staffing: {need} required (or --plan/--check/--roster/--suggest)", file=sys.stderr)
        return 2
    try:
        result = staffing.solve(
            calls=args.calls,
            interval_min=args.interval_min,
            aht_s=args.aht_s,
            target_s=args.target_s,
            sl_goal=args.sl,
            agents=args.agents,
            max_occupancy=args.max_occupancy,
            shrinkage=args.shrinkage,
        )
    except ValueError as exc:
        print(f"floorwatch staffing: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        # For people: agents whole, shares in percent to one decimal, ASA in seconds to one.
        shown = {
            "agents": f"{result['agents']}",
            "service_level": f"{100 * result['service_level']:.1f}%",
            "wait_probability": f"{100 * result['wait_probability']:.1f}%",
            "asa_s": f"{result['asa_s']:.1f} s",
            "occupancy": f"{100 * result['occupancy']:.1f}%",
        }
        for k, v in result.items():
            print(f"{k:>16}: {shown.get(k, v)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from stream.contracts.events import event_schema

    json.dump(event_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from stream.sources.formats import SourceError

    try:
        if getattr(args, "in_process", False):
            from stream.cli.terminal_view import run_terminal

            return run_terminal(args)
        from stream.local.up import run_stack

        return run_stack(args)
    except SourceError as exc:
        print(f"floorwatch up: {exc}", file=sys.stderr)
        return 2


def cmd_worker(args: argparse.Namespace) -> int:
    from stream.sources import anonbank
    from stream.runtime.worker import WorkerSettings, run_worker

    cfg = _load_config(args.config)
    if args.db:
        from stream.history.store import StoreError, check_url

        try:
            check_url(args.db)
        except StoreError as exc:
            print(f"floorwatch worker: {exc}", file=sys.stderr)
            return 2
    # A replayed Anonymous Bank log brings its own site (as in-process replay adds it).
    cfg.sites.setdefault(anonbank.SITE, anonbank.site_config())
    from stream.runtime.advisor import Advisor

    advisor = Advisor(cfg, args.db)  # staffing advice: the wall's tiles and the understaffed rule
    settings = WorkerSettings(
        kafka_url=args.kafka,
        redis_url=args.redis,
        config=cfg,
        redis_prefix=args.redis_prefix,
        partitions=args.partitions,
        on_events_factory=_alerts_hook_factory(cfg, advisor.annotate),
        history_db=args.db,
        advisor=advisor,
    )
    run_worker(settings, loglevel=args.loglevel)
    return 0


def _alerts_hook_factory(cfg, annotate=None):
    """The alert engine per partition (stream.alerts.runtime)."""
    from stream.alerts.runtime import hook_factory

    return hook_factory(cfg, annotate=annotate)


def cmd_report(args: argparse.Namespace) -> int:
    from stream.runtime.redis_report import report_from_redis

    _emit_report(report_from_redis(args.redis, args.redis_prefix), "json" if args.json else "table", args.lang)
    return 0


def _speed(v: str) -> float:
    if v == "max":
        return float("inf")
    try:
        x = float(v)
    except ValueError:
        raise argparse.ArgumentTypeError("speed is a number (times real time) or 'max'")
    if x <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0")
    return x


def _count(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not a whole number")
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative; a count is 0 or more")
    return n


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (no usage block): ``floorwatch simulate: --calls: -5 is negative``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from stream.sources.formats import NAMES as FORMAT_NAMES

    p = _Parser(prog="floorwatch", description="Real-time floor monitor for customer-service floors.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("replay", help="replay a log through the core and report the figures")
    r.add_argument("file")
    r.add_argument("--format", choices=FORMAT_NAMES, required=True)
    r.add_argument("--site", help="asterisk: the site the log feeds (default: the one with an asterisk: section)")
    r.add_argument("--report", choices=("json", "table"), default="table")
    r.add_argument("--config", help="floor YAML (default config/floor.yaml; anonbank adds its own site)")
    r.add_argument("--kafka", help="publish into a running stack instead (kafka://host:port)")
    r.add_argument("--speed", type=_speed, default=float("inf"), help="times real time, or max")
    r.add_argument("--db", help="also write the log's interval history to this database (postgresql://... or sqlite:///...)")
    r.add_argument("--lang", choices=("zh", "en"), default="en", help="table headers' language")
    r.set_defaults(func=cmd_replay)

    s = sub.add_parser("simulate", help="generate a day of events")
    s.add_argument("--scenario", choices=("busy-day", "mmc"), required=True)
    s.add_argument("--calls", type=_count, help="busy-day: calls in the day; mmc: number of calls")
    s.add_argument("--calls-per-hour", type=float, default=200.0)
    s.add_argument("--aht-s", type=float, default=180.0)
    s.add_argument("--agents", type=int, default=12)
    s.add_argument("--hours", type=float, default=8.0)
    s.add_argument("--date", help="busy-day: the day to simulate (YYYY-MM-DD)")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    out = s.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="write the events as JSON lines")
    out.add_argument("--report", choices=("json", "table"), help="fold them in process and report")
    out.add_argument("--kafka", help="publish into a running stack (kafka://host:port)")
    s.add_argument("--speed", type=_speed, default=float("inf"), help="with --kafka: times real time, or max")
    s.add_argument("--lang", choices=("zh", "en"), default="en", help="table headers' language")
    s.set_defaults(func=cmd_simulate)

    st = sub.add_parser("staffing", help="Erlang C: agents needed for a service level; plans, checks, rosters")
    st.add_argument("--calls", type=float)
    st.add_argument("--interval-min", type=float)
    st.add_argument("--aht-s", type=float)
    st.add_argument("--target-s", type=float)
    g = st.add_mutually_exclusive_group()
    g.add_argument("--sl", type=float, help="service-level goal, 0..1 (0.8 = 80%%)")
    g.add_argument("--agents", type=int)
    st.add_argument("--max-occupancy", type=float)
    st.add_argument("--shrinkage", type=float)
    st.add_argument("--json", action="store_true")
    from stream.planning.cli import add_staffing_arguments, register as register_forecast

    add_staffing_arguments(st)
    st.set_defaults(func=cmd_staffing)
    register_forecast(sub)

    u = sub.add_parser("up", help="run the live floor")
    u.add_argument("--scenario", choices=("busy-day", "none"), default="busy-day")
    u.add_argument("--replay", help="replay this file instead of simulating")
    u.add_argument("--format", choices=FORMAT_NAMES, default="jsonl")
    u.add_argument("--site", help="with --replay --format asterisk: the site the log feeds")
    u.add_argument("--speed", type=_speed, default=60.0, help="times real time, or max (default 60)")
    u.add_argument("--calls", type=int, default=20_000)
    u.add_argument("--seed", type=int, default=1)
    u.add_argument("--config")
    u.add_argument("--lang", choices=("zh", "en"), default="zh")
    u.add_argument("--kafka")
    u.add_argument("--redis")
    u.add_argument("--kafka-port", type=int)
    u.add_argument("--redis-port", type=int)
    u.add_argument("--http-port", type=int, default=8080)
    u.add_argument("--for-seconds", type=float, help="stop by itself after this long (demos, tests)")
    u.add_argument("--db", help="history database (default: FLOORWATCH_HISTORY_DB or a local SQLite file, "
                                "~/.local/share/floorwatch/history.db)")
    u.add_argument("--in-process", action="store_true",
                   help="no Kafka, Redis or wall: fold in this process and show the figures as terminal tables (--lang)")
    u.set_defaults(func=cmd_up)

    w = sub.add_parser("worker", help="a stream worker: fold events from Kafka, publish to Redis")
    w.add_argument("--kafka", required=True, help="kafka://host:port")
    w.add_argument("--redis", required=True, help="redis://host:port/db")
    w.add_argument("--redis-prefix", help="key prefix (default fw:)")
    w.add_argument("--partitions", type=int, default=8, help="partitions of floorwatch.events when it is created")
    w.add_argument("--config")
    w.add_argument("--loglevel", default="warning")
    w.add_argument("--db", help="write sealed intervals to this history database (postgresql://... or sqlite:///...)")
    w.set_defaults(func=cmd_worker)

    rp = sub.add_parser("report", help="the live day-to-date report, from Redis")
    rp.add_argument("--redis", required=True)
    rp.add_argument("--redis-prefix")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--lang", choices=("zh", "en"), default="en", help="table headers' language")
    rp.set_defaults(func=cmd_report)

    sc = sub.add_parser("schema", help="print the event JSON Schema")
    sc.set_defaults(func=cmd_schema)

    from dashboard.cli import register as register_dashboard

    register_dashboard(sub)

    from stream.delivery.cli import register as register_deliver

    register_deliver(sub)

    from stream.alerts.cli import register as register_alerts

    register_alerts(sub)

    from stream.sources.tail import register as register_tail

    register_tail(sub)
    from stream.history.cli import register as register_history

    register_history(sub)
    from stream.predict.cli import register as register_ewt

    register_ewt(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    from stream.contracts.floor_config import ConfigError

    args = build_parser().parse_args(argv)
    cmd = f"floorwatch {args.command}"
    try:
        return args.func(args)
    except ConfigError as exc:
        # A config file read on the way (e.g. the replayed log's site file): one line, no traceback.
        print(f"floorwatch: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"{cmd}: {exc}", file=sys.stderr)
        return 2
    except SystemExit:
        raise
    except (OSError, ValueError) as exc:
        # A file that cannot be read or written, a value out of range: the user's to fix.
        if os.environ.get("FLOORWATCH_DEBUG"):
            raise
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        what = getattr(exc, "strerror", None) or str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{cmd}: {name}{what}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("FLOORWATCH_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"{cmd}: internal error: {type(exc).__name__}: {first} (FLOORWATCH_DEBUG=1 shows where)", file=sys.stderr)
        return 1


def run() -> None:
    """The ``floorwatch`` command: ``main``, then exit (at once after a replay, see ``_kept``)."""
    global _fast_exit
    _fast_exit = True
    rc = main()
    if _kept:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            pass  # the reader has gone: nothing left to deliver
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    run()
