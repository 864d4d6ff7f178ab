"""The supervisor's what-if: how long an answer takes, for the largest queue and each hall, from live states.

    python -m bench whatif [--calls 150000] [--seed 1] [--at 0.3,0.5,0.7] [--repeat 5] [--json]

The busy day (``simulators/busy_day.py``, ``--calls`` calls; the bench fold's
file) is folded up to each ``--at`` share of its events; there the worker's
snapshot and advice (``stream.runtime.advisor``, the contacts waiting one by
one) are what the dashboard holds, and ``GET /api/whatif``'s answer
(``dashboard.ahead.whatif``: two courses, 12 runs each) is timed for the
queue with the most agents on duty (+3 agents), and ``/api/whatif/hall``'s
(``dashboard.ahead.hall_whatif``) for each hall (+2 counters): median and
worst of ``--repeat`` answers, beside the one-second goal (issue 16) and
the Erlang formula a planner would read instead (``staffing.solve`` for the
same queue: an instant answer, but for a steady state, not from the floor's
state now). The machine's other load counts: the figures are what a
supervisor would wait on this machine now.

``--pools``: also each hotline's largest group of queues with the same
threshold and short-abandon limit declared one pool (``SiteConfig.pools``),
its advice made pooled, and the pool's what-if (``dashboard.ahead.pool_whatif``:
all members against the pool's agents, +3) timed beside the queue alone
(queue ``pool:NAME``; ``on duty``: the pool's agents).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def _time(fn, repeat: int) -> tuple[float, float, object]:
    got, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        got.append(time.perf_counter() - t)
    return statistics.median(got), max(got), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench whatif")
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--at", default="0.3,0.5,0.7", help="shares of the day's events folded before asking")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pools", action="store_true", help="also time each hotline's pool (see the docstring)")
    args = ap.parse_args(argv)
    from bench.bench_replay import ensure_day
    from dashboard.ahead import whatif

    try:
        from dashboard.ahead import hall_whatif
    except ImportError:  # a tree from before the hall what-if (to time the queue's against it)
        hall_whatif = None
    from stream.contracts.floor_config import load_config
    from stream.fold.floor import Floor
    from stream.planning import staffing
    from stream.runtime.advisor import Advisor
    from stream.sources.jsonl import read_jsonl

    cfg = load_config()
    events = [e for e in read_jsonl(ensure_day(args.calls, args.seed)) if hasattr(e, "site")]
    floor, adv = Floor(cfg), Advisor(cfg)
    pcfg = _pooled(cfg) if args.pools else None
    padv = Advisor(pcfg) if pcfg is not None else None
    rows, done = [], 0
    for share in sorted(float(x) for x in args.at.split(",") if x):
        upto = int(len(events) * share)
        floor.apply_many(events[done:upto])
        done = upto
        for site in sorted(floor.sites):
            snap = floor.snapshot(site)
            rec = {"site": site, "clock": snap["clock"], "queues": adv.site_advice(floor, site, snap, waiting=True)}
            if snap.get("kind") == "hall":
                if hall_whatif is None:
                    continue
                med, worst, a = _time(lambda: hall_whatif(snap, rec, cfg, site, 2), args.repeat)
                rows.append({"at": share, "site": site, "queue": "*", "waiting": a["state"]["waiting"], "on_duty": a["state"]["open"],
                             "median_s": round(med, 3), "worst_s": round(worst, 3), "erlang_s": None})
                continue
            q = max(snap["queues"], key=lambda q: (snap["queues"][q]["agents"]["logged_in"], q))
            qd = snap["queues"][q]
            med, worst, a = _time(lambda: whatif(snap, rec, cfg, site, q, 3), args.repeat)
            on = qd["agents"]["ready"] + qd["agents"]["busy"] + qd["agents"]["wrap_up"]
            m15 = qd["sliding"]["15m"]
            aht = m15["aht_s"] or 180.0
            e_med, _, _ = _time(lambda: staffing.solve(calls=max(m15["offered"], 1), interval_min=15, aht_s=aht,
                                                       target_s=qd["sl_t_s"], agents=max(on + 3, 1)), args.repeat)
            rows.append({"at": share, "site": site, "queue": q, "waiting": a["state"]["waiting"], "on_duty": on,
                         "median_s": round(med, 3), "worst_s": round(worst, 3), "erlang_s": round(e_med, 6)})
            for name in (pcfg.site(site).pools if pcfg is not None else {}):
                from dashboard.ahead import pool_whatif

                prec = {"site": site, "clock": snap["clock"], "queues": padv.site_advice(floor, site, snap, waiting=True)}
                med, worst, a = _time(lambda: pool_whatif(snap, prec, pcfg, site, name, 3), args.repeat)
                rows.append({"at": share, "site": site, "queue": f"pool:{name}", "waiting": a["state"]["waiting"],
                             "on_duty": a["state"]["ready"] + a["state"]["busy"], "median_s": round(med, 3),
                             "worst_s": round(worst, 3), "erlang_s": None})
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"what-if answers, busy day of {args.calls:,} calls (seed {args.seed}); goal: under 1 s")
    print(f"  {'at':>4} {'site':<14} {'queue':<16} {'waiting':>7} {'on duty':>7} {'median s':>9} {'worst s':>8} {'Erlang s':>9}")
    for r in rows:
        e = f"{r['erlang_s']:.6f}" if r["erlang_s"] is not None else "—"
        print(f"  {r['at']:>4} {r['site']:<14} {r['queue']:<16} {r['waiting']:>7} {r['on_duty']:>7} {r['median_s']:>9.3f} {r['worst_s']:>8.3f} {e:>9}")
    worst = max(r["worst_s"] for r in rows)
    print(f"  worst answer {worst:.3f} s: {'under' if worst < 1 else 'OVER'} the 1 s goal")
    return 0


def _pooled(cfg):
    """``cfg`` with each hotline's largest group of queues sharing T and the short-abandon limit as one pool."""
    import copy
    from collections import defaultdict

    out = copy.deepcopy(cfg)
    for site, sc in out.sites.items():
        if sc.kind == "hall":
            continue
        groups = defaultdict(list)
        for q in sc.queues:
            rq = cfg.queue(site, q)
            groups[(rq.sl_t_s, rq.short_abandon_s)].append(q)
        best = max(groups.values(), key=len, default=[])
        if len(best) > 1:
            sc.pools = {"pooled": best}
    return out
