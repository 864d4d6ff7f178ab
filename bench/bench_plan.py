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
* **per interval**: every interval staffed to the target on its own (the
  textbook plan; rounding up in every interval overshoots the day);
* **flat peak**: the per-interval plan's peak held all the queue's open
  hours (the staffing a floor without a forecast keeps);
* **Erlang C**: the per-interval plan without abandons;
* **the bank's own day**: the service level the log itself shows (the
  staffing it really had).

The day's service level is the core's, over all queues merged (the check's
``total``). Israeli working days are Sunday to Thursday; Friday and Saturday
are short days with little traffic, reported apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from stream.fold.floor import Floor
from stream.planning.actuals import cutoff_for, fold_history, read_log
from stream.planning.calls import contacts, patience
from stream.planning.check import check_plan, flat_peak
from stream.planning.outlook import forecast_histories
from stream.planning.plan import plan

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "anonbank" / "february.txt"
TZ = "Asia/Jerusalem"


def _day_plan(log, hist, d: date, pat, over: str, margin: float, replan: tuple, uncertain: bool = False) -> list[dict]:
    """Day ``d`` planned the evening before; with ``replan`` hours, re-made during the day from the reforecast.

    A re-plan at 10:00 replaces the plan from 10:00 on with one made from the
    forecast reshaped by the day's intervals up to 10:00 (``reforecast``).
    The history is folded once: the forecaster learns only whole days before
    the day, and reads the day's own offered counts only for intervals that
    ended before the re-plan (complete by then).
    """
    def made(at) -> list[dict]:
        outs = forecast_histories(hist, at, 1, spread=uncertain)
        sp = {(o.history.site, o.history.queue): o.spread for o in outs}
        return plan([r for o in outs for r in o.rows], log.config, patience=pat, over=over, margin_pct=margin, spread=sp)

    by = {(r["queue"], r["start"]): r for r in made(d)}
    for h in replan:
        for r in made(datetime(d.year, d.month, d.day, h, tzinfo=ZoneInfo(TZ))):
            by[(r["queue"], r["start"])] = r
    return list(by.values())


def day_ahead_plans(log, first: date, last: date, erlang: str = "A", over: str = "interval", replan: tuple = (),
                    calibrate: bool = False, uncertain: bool = False) -> list[dict]:
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
        cut = cutoff_for(d, TZ)
        pat = patience([c for c in every if c.offered_ms < cut]) if erlang == "A" else None
        margin = min(10.0, max(0.0, sum(gaps) / len(gaps))) if gaps else 0.0
        day = _day_plan(log, hist, d, pat, over, margin, replan, uncertain)
        rows.extend(day)
        if calibrate and d.weekday() not in (4, 5):  # the working days' shortfall
            got = check_plan(log, day)["days"]
            if got and got[0]["total"]["sl_pct"] is not None:
                gaps.append(80.0 - got[0]["total"]["sl_pct"])
        d += timedelta(days=1)
    return rows


def run(path: str, first: date) -> dict:
    log = read_log(path, "anonbank")
    floor = Floor(log.config)
    floor.apply_many(log.events)
    floor.flush()
    real = {d["date"]: d["total"] for d in floor.report()["days"]}
    last = date.fromisoformat(max(real))
    plans = {"ours": day_ahead_plans(log, first, last, "A", "day")}
    plans["replanned"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13))
    plans["calibrated"] = day_ahead_plans(log, first, last, "A", "day", calibrate=True)
    plans["calib_replan"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13), calibrate=True)
    plans["uncertain"] = day_ahead_plans(log, first, last, "A", "day", uncertain=True)
    plans["uncertain_replan"] = day_ahead_plans(log, first, last, "A", "day", replan=(10, 13), uncertain=True)
    plans["per_interval"] = day_ahead_plans(log, first, last, "A", "interval")
    plans["flat_peak"] = flat_peak(plans["per_interval"])
    plans["erlang_c"] = day_ahead_plans(log, first, last, "C", "interval")
    checks = {k: {d["date"]: d["total"] for d in check_plan(log, v)["days"]} for k, v in plans.items()}
    days = []
    for dstr in sorted(checks["ours"]):
        row = {"date": dstr, "weekday": date.fromisoformat(dstr).strftime("%a"), "bank_sl_pct": real.get(dstr, {}).get("sl_pct")}
        for k in plans:
            c = checks[k].get(dstr, {})
            row[k] = {"sl_pct": c.get("sl_pct"), "abandon_pct": c.get("abandon_pct"), "agent_hours": c.get("agent_hours")}
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
    print(f"{'date':<11}{'day':<5}{'bank SL':>8}{'ours SL':>9}{'hours':>8}{'replan':>9}{'hours':>8}{'calib':>9}{'hours':>8}{'intv SL':>9}{'hours':>8}{'flat SL':>9}{'hours':>8}{'ErlC SL':>9}{'hours':>8}")

    def f(v, w=9):
        return f"{v:{w}.1f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"

    for r in res["days"]:
        print(f"{r['date']:<11}{r['weekday']:<5}{f(r['bank_sl_pct'], 8)}{f(r['ours']['sl_pct'])}{f(r['ours']['agent_hours'], 8)}"
              f"{f(r['replanned']['sl_pct'])}{f(r['replanned']['agent_hours'], 8)}"
              f"{f(r['calibrated']['sl_pct'])}{f(r['calibrated']['agent_hours'], 8)}"
              f"{f(r['per_interval']['sl_pct'])}{f(r['per_interval']['agent_hours'], 8)}"
              f"{f(r['flat_peak']['sl_pct'])}{f(r['flat_peak']['agent_hours'], 8)}{f(r['erlang_c']['sl_pct'])}{f(r['erlang_c']['agent_hours'], 8)}")
    for name in ("working_days", "all_days"):
        s = res[name]
        print(f"\n{name.replace('_', ' ')}: bank mean SL {s['bank']['mean_sl_pct']}")
        for k in (k for k in s if k != "bank"):
            v = s[k]
            print(f"  {k:<10} SL mean {v['mean_sl_pct']}, min {v['min_sl_pct']}, within 5 of 80: {v['days_within_5']}/{v['days']}, "
                  f"agent-hours {v['agent_hours']}")
        fl = s["flat_peak"]["agent_hours"]
        for k in ("ours", "calib_replan", "uncertain_replan"):
            print(f"  {k} / flat peak agent-hours: {s[k]['agent_hours'] / fl:.3f}" if fl else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
