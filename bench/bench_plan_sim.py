"""The planning methods of ``bench plan`` on simulated months: days within 80 ± 5 where no setting was chosen.

    python -m bench plan-sim [--seeds 1,2,3] [--json]

``bench plan``'s methods were compared on the Anonymous Bank's February;
this checks that what won there is not a fit to those 15 days. Each seed is
a month (28 days from Sunday 2026-03-01) of the busy-day simulator's
hotline (``simulators.busy_day``: two queues, 80 % in 20 s, exponential
patience, log-normal handle times) with a known weekly pattern (Monday
busiest, weekends light), day-to-day noise (log-normal, σ 0.10) and one
surprise working day at 1.4× its level (drawn per seed from the planned
weeks). Every day from the 8th is planned the evening before from the days
before, re-planned during the day as the method says, and proven on the
day's own simulated calls by ``check_plan`` — the same code and settings as
``bench plan`` (``bench.bench_plan.day_ahead_plans``), nothing re-tuned here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, timedelta

import numpy as np
from numpy.random import PCG64, Generator

from bench.bench_plan import METHODS, day_ahead_plans
from simulators import busy_day
from stream.contracts.floor_config import FloorConfig
from stream.planning.actuals import Log
from stream.planning.check import check_plan, flat_peak

TZ = "Asia/Shanghai"
START = date(2026, 3, 1)  # a Sunday
DAYS = 28
FIRST = 7  # days learnt before the first plan
BASE_CALLS = 1600
WEEKLY = (1.20, 1.05, 1.0, 1.0, 0.95, 0.55, 0.45)  # Monday .. Sunday
NOISE = 0.10
SURPRISE = 1.4

CONFIG = FloorConfig.from_dict({"sites": {"sim": {"kind": "hotline", "timezone": TZ, "queues": {
    "general": {"sl_t_s": 20, "sl_target_pct": 80}, "billing": {"sl_t_s": 20, "sl_target_pct": 80}}}}})


def month(seed: int) -> tuple[Log, date]:
    """One simulated month's events and its surprise day."""
    rng = Generator(PCG64(seed))
    days = [START + timedelta(days=k) for k in range(DAYS)]
    planned = [d for d in days[FIRST:] if d.weekday() < 5]
    surprise = planned[int(rng.integers(len(planned)))]
    events = []
    for k, d in enumerate(days):
        calls = BASE_CALLS * WEEKLY[d.weekday()] * math.exp(NOISE * rng.standard_normal())
        if d == surprise:
            calls *= SURPRISE
        events.extend(busy_day.generate(CONFIG, seed=seed * 1000 + k, calls=int(round(calls)), day=d))
    events.sort(key=lambda e: e.ts)
    return Log(events, CONFIG), surprise


def run(seeds: list[int]) -> dict:
    rows = []
    for seed in seeds:
        log, surprise = month(seed)
        first, last = START + timedelta(days=FIRST), START + timedelta(days=DAYS - 1)
        plans = {k: day_ahead_plans(log, first, last, "A", "day", tz=TZ, **kw) for k, kw in METHODS.items()}
        plans["flat_peak"] = flat_peak(day_ahead_plans(log, first, last, "A", "interval", tz=TZ))
        checks = {k: {d["date"]: d["total"] for d in check_plan(log, v)["days"]} for k, v in plans.items()}
        for dstr in sorted(checks["flat_peak"]):
            d = date.fromisoformat(dstr)
            rows.append({"seed": seed, "date": dstr, "weekday": d.strftime("%a"), "surprise": d == surprise,
                         **{k: {"sl_pct": checks[k].get(dstr, {}).get("sl_pct"),
                                "agent_hours": checks[k].get(dstr, {}).get("agent_hours")} for k in plans}})
    methods = list(METHODS) + ["flat_peak"]

    def summary(sel: list[dict]) -> dict:
        out = {}
        flat = sum(r["flat_peak"]["agent_hours"] or 0 for r in sel)
        for k in methods:
            sls = [r[k]["sl_pct"] for r in sel if r[k]["sl_pct"] is not None]
            ah = sum(r[k]["agent_hours"] or 0 for r in sel)
            out[k] = {"days_within_5": sum(abs(s - 80) <= 5 for s in sls), "days": len(sls),
                      "mean_sl_pct": round(float(np.mean(sls)), 2) if sls else None, "min_sl_pct": min(sls) if sls else None,
                      "agent_hours": round(ah, 1), "vs_flat_peak": round(ah / flat, 3) if flat else None}
        return out

    work = [r for r in rows if r["weekday"] not in ("Sat", "Sun")]
    return {"days": rows, "working_days": summary(work), "all_days": summary(rows),
            "surprise_days": summary([r for r in rows if r["surprise"]])}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench plan-sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"bench plan-sim: --seeds must be integers separated by commas, got {args.seeds!r}", file=sys.stderr)
        return 2
    res = run(seeds)
    if args.json:
        print(json.dumps(res))
        return 0
    for r in res["days"]:
        print(f"seed {r['seed']} {r['date']} {r['weekday']}{' *' if r['surprise'] else '  '} "
              + " ".join(f"{k} {r[k]['sl_pct']}" for k in r if isinstance(r[k], dict)))
    for name in ("working_days", "all_days", "surprise_days"):
        print(f"\n{name.replace('_', ' ')} ({len(seeds)} simulated months):")
        for k, v in res[name].items():
            print(f"  {k:<18} within 5 of 80: {v['days_within_5']}/{v['days']}, SL mean {v['mean_sl_pct']}, min {v['min_sl_pct']}, "
                  f"agent-hours {v['agent_hours']} ({v['vs_flat_peak']} of flat peak)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
