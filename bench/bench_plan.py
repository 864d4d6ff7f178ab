"""Staffing plans proven on the real February days: service level and agent-hours beside the baselines.

    python -m bench plan [--file ../shared/data/anonbank/february.txt] [--first 1999-02-08] [--json]

For every day D from ``--first`` to the end of the log, a day-ahead plan is
made as ``floorwatch staffing --plan`` makes it: each queue's forecast
(``LoadForecaster``, learnt from the days before D), then agents per
interval with Erlang A (patience estimated from the abandons before D) for
the queue's target (80 % in 20 s). Then ``check_plan`` replays D's real
calls against it (``floorwatch staffing --check``). Same run, same calls:

``ours`` plans each queue's *day* to the target (``over="day"``: agents
where they answer the most within T); beside it, in the same run:

* **re-planned**: ours, re-made at 10:00 and 13:00 from the intraday
  reforecast (what a floor manager does with ``--from`` a time of day; how
  far the morning's deviation carries is learnt from the days before,
  ``stream.planning.outlook``);
* **calibrated**: ours, each day planned for the target plus the mean
  shortfall the checks of the working days before it showed (``margin_pct``);
  **calib_replan**: calibrated and re-planned at 10:00 and 13:00;
* **uncertain**: ours against the forecast's error (``uncertain=True``:
  the target met in expectation over the arrival rate, its spread learnt
  from the forecast's past errors, ``stream.planning.uncertainty``);
  **uncertain_replan**: that, re-planned at 10:00 and 13:00 against the
  reforecast's own past errors;
* **intraday**: re-planned as a floor runs it (``CADENCE``,
  ``stream.planning.intraday``): every hour from 08:00 to 21:00 from the
  reforecast, each change acting an hour after it is decided, the rest of
  the day aimed at what the day still needs after its service level so far
  (the day's calls before the re-plan against the plan in force), 10
  points either way at most; **intraday_15** (``CADENCE_15``): the same
  re-planned with every 15-minute interval up to 23:00, each change acting
  half an hour after it is decided (a floor that moves agents between the
  phones and other work within half an hour);
* **per interval**: every interval staffed to the target on its own (the
  textbook plan; rounding up in every interval overshoots the day);
* **flat peak**: the per-interval plan's peak held all the queue's open
  hours (the staffing a floor without a forecast keeps);
* **Erlang C**: the per-interval plan without abandons;
* **the bank's own day**: the service level the log itself shows (the
  staffing it really had);
* **intraday, queues apart** (``intraday_apart``): the intraday method on
  the same config with its pools removed, planned and checked queue by
  queue (each queue's agents take only its calls): the model before pools;
  its agent-hours beside **flat_peak_apart**, each queue's own flat peak.

The bank's config (``config/anonbank.yaml``) pools its six queues: every
method plans and checks them as one group (``stream.planning.pools``), and
the flat peak is the pool's peak (the baseline for agent-hours).

The day's service level is the core's, over all queues merged (the check's
``total``). Israeli working days are Sunday to Thursday; Friday and Saturday
are short days with little traffic, reported apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

import msgspec

from stream.fold.floor import Floor
from stream.planning.actuals import Log, cutoff_for, fold_history, read_log
from stream.planning.calls import contacts, patience
from stream.planning.check import check_plan, flat_peak
from stream.planning.outlook import forecast_histories
from stream.planning.intraday import Cadence, actionable, apply_replan, decision_times, site_margins
from stream.planning.plan import plan

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "anonbank" / "february.txt"
TZ = "Asia/Jerusalem"
# Intraday management as a floor runs it (``stream.planning.intraday``): a re-plan every hour from 08:00 to
# 21:00, each acting an hour after it is decided, aiming the rest of the day at what the day still needs.
CADENCE = Cadence(every_min=60, lead_min=60)
# A floor that re-plans with every 15-minute interval up to its last full hour (the bank's phones close at
# midnight) and can move agents between the phones and other work within half an hour.
CADENCE_15 = Cadence(every_min=15, lead_min=30, last=time(23, 0))
# The methods ``bench plan-sim`` re-runs on simulated months, by name (``day_ahead_plans``'s options, over="day").
METHODS = {
    "ours": {},
    "replanned": {"replan": (10, 13)},
    "uncertain_replan": {"replan": (10, 13), "uncertain": True},
    "intraday": {"cadence": CADENCE, "recover": True},
    "intraday_15": {"cadence": CADENCE_15, "recover": True},
    # The same, but a good morning is never spent: the rest of the day never aimed below target.
    "intraday_never_below": {"cadence": Cadence(every_min=60, lead_min=60, recover_down=0.0), "recover": True},
}


def _day_plan(log, hist, d: date, pat, over: str, margin: float, replan: tuple, uncertain: bool = False,
              cadence: Optional[Cadence] = None, tz: str = TZ, recover: bool = False) -> list[dict]:
    """Day ``d`` planned the evening before; with ``replan`` hours, re-made during the day from the reforecast.

    A re-plan at 10:00 replaces the plan from 10:00 on with one made from the
    forecast reshaped by the day's intervals up to 10:00 (``reforecast``).
    The history is folded once: the forecaster learns only whole days before
    the day, and reads the day's own offered counts only for intervals that
    ended before the re-plan (complete by then). With a ``cadence``
    (``stream.planning.intraday``) the re-plans come at its times instead and
    act only from their lead time on. ``recover``: each re-plan aims the rest
    of the day at what the *day* still needs (``intraday.recovery_margin``),
    from the service level so far: the day's calls offered before the
    re-plan run against the plan in force (what the floor's own figures
    show at that time).
    """
    def forecast(at):
        outs = forecast_histories(hist, at, 1, spread=uncertain)
        return [r for o in outs for r in o.rows], {(o.history.site, o.history.queue): o.spread for o in outs}

    def made(at, rows_in_force=None, effective=None) -> list[dict]:
        rows, sp = forecast(at)
        extra = (site_margins(rows, log.config, so_far(rows_in_force, at), effective, cadence or Cadence())
                 if recover and rows_in_force else None)
        return plan(actionable(rows, effective), log.config, patience=pat, over=over, margin_pct=margin, spread=sp,
                    site_margin=extra)

    def so_far(rows: list[dict], at: datetime) -> dict:
        """Each site's day so far under the plan in force: ``(offered, service level %)`` of the calls before ``at``."""
        cut = int(at.timestamp() * 1000)
        calls = {e.call for e in day_events if e.kind == "call_offered" and e.ts < cut}
        if not calls:
            return {}
        got = check_plan(Log([e for e in day_events if getattr(e, "call", None) in calls], log.config), rows)["days"]
        out: dict[str, list] = {}
        for day in got:
            for name, q in day["queues"].items():
                site = name.rpartition("/")[0] or next(r["site"] for r in rows if r["queue"] == name)
                o = out.setdefault(site, [0.0, 0.0])
                n = sum(1 for e in day_events if e.kind == "call_offered" and e.ts < cut and e.queue == name.rpartition("/")[2])
                if q["sl_pct"] is not None:
                    o[0] += n
                    o[1] += n * q["sl_pct"]
        return {s: (n, w / n if n else None) for s, (n, w) in out.items()}

    if recover:
        lo, hi = cutoff_for(d, tz), cutoff_for(d + timedelta(days=1), tz)
        day_events = [e for e in log.events if lo <= e.ts < hi + 6 * 3_600_000]
    if cadence is not None:
        rows = made(d)
        for at in decision_times(d, tz, cadence):
            rows = apply_replan(rows, made(at, rows, at + timedelta(minutes=cadence.lead_min)), at, cadence)
        return rows
    by = {(r["queue"], r["start"]): r for r in made(d)}
    for h in replan:
        at = datetime(d.year, d.month, d.day, h, tzinfo=ZoneInfo(tz))
        for r in made(at, list(by.values())):
            by[(r["queue"], r["start"])] = r
    return list(by.values())


def day_ahead_plans(log, first: date, last: date, erlang: str = "A", over: str = "interval", replan: tuple = (),
                    calibrate: bool = False, uncertain: bool = False,
                    cadence: Optional[Cadence] = None, days: Optional[Iterable[date]] = None, tz: str = TZ,
                    recover: bool = False) -> list[dict]:
    """Every day's plan from ``first`` to ``last`` (``_day_plan``), patience from the abandons before the day.

    ``calibrate``: each day D is planned for 80 + m, m the mean of (80 − the
    day's checked service level) over the working days before D (0..10
    points), then checked; only days before D inform D.
    """
    hist = fold_history(log.events, log.config)
    every = contacts(log.events)
    rows: list[dict] = []
    gaps: list[float] = []
    d = first
    while d <= last:
        cut = cutoff_for(d, tz)
        pat = patience([c for c in every if c.offered_ms < cut]) if erlang == "A" else None
        margin = min(10.0, max(0.0, sum(gaps) / len(gaps))) if gaps else 0.0
        if days is not None and d not in days:
            d += timedelta(days=1)
            continue
        day = _day_plan(log, hist, d, pat, over, margin, replan, uncertain, cadence, tz, recover)
        rows.extend(day)
        if calibrate and d.weekday() not in (4, 5):  # the working days' shortfall
            got = check_plan(log, day)["days"]
            if got and got[0]["total"]["sl_pct"] is not None:
                gaps.append(80.0 - got[0]["total"]["sl_pct"])
        d += timedelta(days=1)
    return rows


# Each plan is checked this many times (``check_plan``'s runs): a day's figure is the runs' mean, and the runs'
# range says how much of it is the check's draw (an answered caller's patience, which the log cannot say).
RUNS = 10


def apart(log: Log) -> Log:
    """The same log with every site's pools removed: each queue staffed and checked alone."""
    cfg = log.config
    sites = {name: msgspec.structs.replace(sc, pools={}) for name, sc in cfg.sites.items()}
    return Log(log.events, msgspec.structs.replace(cfg, sites=sites))


def run(path: str, first: date) -> dict:
    log = read_log(path, "anonbank")
    floor = Floor(log.config)
    floor.apply_many(log.events)
    floor.flush()
    real = {d["date"]: d["total"] for d in floor.report()["days"]}
    last = date.fromisoformat(max(real))
    alone = apart(log)
    plans = {"ours": day_ahead_plans(log, first, last, "A", "day")}
    plans["replanned"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13))
    plans["calibrated"] = day_ahead_plans(log, first, last, "A", "day", calibrate=True)
    plans["calib_replan"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13), calibrate=True)
    plans["uncertain"] = day_ahead_plans(log, first, last, "A", "day", uncertain=True)
    plans["uncertain_replan"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13), uncertain=True)
    plans["intraday"] = day_ahead_plans(log, first, last, "A", "day", **METHODS["intraday"])
    plans["intraday_15"] = day_ahead_plans(log, first, last, "A", "day", **METHODS["intraday_15"])
    plans["per_interval"] = day_ahead_plans(log, first, last, "A", "interval")
    plans["flat_peak"] = flat_peak(plans["per_interval"], log.config)
    plans["erlang_c"] = day_ahead_plans(log, first, last, "C", "interval")
    plans["intraday_apart"] = day_ahead_plans(alone, first, last, "A", "day", **METHODS["intraday"])
    # The baseline of the queues apart: each queue's own peak (the flat peak before pools).
    plans["flat_peak_apart"] = flat_peak(day_ahead_plans(alone, first, last, "A", "interval"))
    logs = {k: alone if k.endswith("_apart") else log for k in plans}
    checks = {k: {d["date"]: d["total"] for d in check_plan(logs[k], v, runs=RUNS)["days"]} for k, v in plans.items()}
    days = []
    for dstr in sorted(checks["ours"]):
        row = {"date": dstr, "weekday": date.fromisoformat(dstr).strftime("%a"), "bank_sl_pct": real.get(dstr, {}).get("sl_pct")}
        for k in plans:
            c = checks[k].get(dstr, {})
            row[k] = {"sl_pct": c.get("sl_pct"), "sl_pct_range": c.get("sl_pct_range"), "abandon_pct": c.get("abandon_pct"),
                      "agent_hours": c.get("agent_hours")}
        days.append(row)
    work = [r for r in days if r["weekday"] not in ("Fri", "Sat")]

    def summary(rows: list[dict]) -> dict:
        out = {}
        for k in plans:
            sls = [r[k]["sl_pct"] for r in rows if r[k]["sl_pct"] is not None]
            out[k] = {
                "days_within_5": sum(abs(s - 80) <= 5 for s in sls),
                "days": len(sls),
                "mean_sl_pct": round(sum(sls) / len(sls), 2) if sls else None,
                "min_sl_pct": min(sls) if sls else None,
                "agent_hours": round(sum(r[k]["agent_hours"] or 0 for r in rows), 1),
            }
            flat = sum(r["flat_peak_apart" if k.endswith("_apart") else "flat_peak"]["agent_hours"] or 0 for r in rows)
            out[k]["vs_flat_peak"] = round(out[k]["agent_hours"] / flat, 3) if flat else None
            # Days whose every run is within the band, not only their mean.
            out[k]["days_every_run_within_5"] = sum(
                1 for r in rows if r[k]["sl_pct_range"] and all(abs(v - 80) <= 5 for v in r[k]["sl_pct_range"]))
        bank = [r["bank_sl_pct"] for r in rows if r["bank_sl_pct"] is not None]
        out["bank"] = {"mean_sl_pct": round(sum(bank) / len(bank), 2) if bank else None}
        return out

    return {"days": days, "working_days": summary(work), "all_days": summary(days)}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench plan", description=__doc__.split("\n\n")[0])
    p.add_argument("--file", default=str(DEFAULT))
    p.add_argument("--first", default="1999-02-08")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not Path(args.file).is_file():
        print(f"bench plan: no such file: {args.file}", file=sys.stderr)
        return 2
    res = run(args.file, date.fromisoformat(args.first))
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"{'date':<11}{'day':<5}{'bank SL':>8}{'ours SL':>9}{'hours':>8}{'replan':>9}{'hours':>8}{'calib':>9}{'hours':>8}{'intv SL':>9}{'hours':>8}{'flat SL':>9}{'hours':>8}{'ErlC SL':>9}{'hours':>8}{'unc+re':>9}{'hours':>8}{'intrad':>9}{'hours':>8}")

    def f(v, w=9):
        return f"{v:{w}.1f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"

    for r in res["days"]:
        print(f"{r['date']:<11}{r['weekday']:<5}{f(r['bank_sl_pct'], 8)}{f(r['ours']['sl_pct'])}{f(r['ours']['agent_hours'], 8)}"
              f"{f(r['replanned']['sl_pct'])}{f(r['replanned']['agent_hours'], 8)}"
              f"{f(r['calibrated']['sl_pct'])}{f(r['calibrated']['agent_hours'], 8)}"
              f"{f(r['per_interval']['sl_pct'])}{f(r['per_interval']['agent_hours'], 8)}"
              f"{f(r['flat_peak']['sl_pct'])}{f(r['flat_peak']['agent_hours'], 8)}{f(r['erlang_c']['sl_pct'])}{f(r['erlang_c']['agent_hours'], 8)}"
              f"{f(r['uncertain_replan']['sl_pct'])}{f(r['uncertain_replan']['agent_hours'], 8)}"
              f"{f(r['intraday']['sl_pct'])}{f(r['intraday']['agent_hours'], 8)}")
    for name in ("working_days", "all_days"):
        s = res[name]
        print(f"\n{name.replace('_', ' ')}: bank mean SL {s['bank']['mean_sl_pct']}")
        for k in (k for k in s if k != "bank"):
            v = s[k]
            print(f"  {k:<10} SL mean {v['mean_sl_pct']}, min {v['min_sl_pct']}, within 5 of 80: {v['days_within_5']}/{v['days']} "
                  f"(every one of {RUNS} runs: {v['days_every_run_within_5']}), "
                  f"agent-hours {v['agent_hours']}")
        for k in ("ours", "calib_replan", "uncertain_replan", "intraday", "intraday_15", "intraday_apart"):
            print(f"  {k} / flat peak agent-hours: {s[k]['vs_flat_peak']}")
    print(f"\nper working day, intraday pooled hourly / every 15 min / queues apart hourly "
          f"(SL %: mean and range of {RUNS} runs, agent-hours):")

    def span(v):
        return f"{v[0]:5.1f}-{v[1]:<5.1f}" if v else f"{'-':>11}"

    for r in res["days"]:
        if r["weekday"] not in ("Fri", "Sat"):
            print(f"  {r['date']} {r['weekday']}" + "   ".join(
                f"{f(m['sl_pct'], 6)} {span(m['sl_pct_range'])} {f(m['agent_hours'], 7)}"
                for m in (r["intraday"], r["intraday_15"], r["intraday_apart"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
