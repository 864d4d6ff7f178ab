"""Arrival surges injected into the real February arrivals: detection rate, delay, false alarms.

    python -m bench surge [--file ../shared/anonbank/february.txt] [--seeds 10] [--surges 8] [--json]

The Anonymous Bank log's offered calls are counted per queue and 5-minute
bucket (what the engine reads from the snapshot's sliding 5 minutes at each
5-minute boundary) and fed, bucket by bucket, to the live detector
(``SeasonalCusum(kind="count")`` with the engine's settings and the alert
levels of config/alerts.yaml: raise at the configured score, clear at the
clear level). Queues with fewer than ``--min-calls`` calls in the month are
left out (a surge there is a handful of calls).

For each seed, ``--surges`` surges are injected per queue, each at a random
5-minute boundary after the warm-up, during open hours (a bucket with
calls), at least a day apart: for 30 minutes every call is duplicated with
probability 0.5 (+50 % arrivals). A surge is *detected* if an alert is raised
from its start to 15 minutes after its end; the *delay* is from the surge's
start to the end of the bucket that raised it. *False alarms* are the alerts
raised on the same month with nothing injected, per week after warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from stream.alerts.config import load_alerts
from stream.alerts.detectors import SeasonalCusum
from stream.alerts.hysteresis import step

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "anonbank" / "february.txt"
BUCKET = 300_000
SURGE_BUCKETS = 6
GRACE_BUCKETS = 3
WEEK = 7 * 86_400_000


def bucket_counts(path: Path, min_calls: int) -> tuple[int, dict[str, np.ndarray], str]:
    """(first bucket start ms, queue -> calls offered per 5-min bucket, timezone)."""
    from stream.sources import anonbank

    log = anonbank.read_anonbank(path)
    offers = [(e.ts, e.queue) for e in log.events if e.kind == "call_offered"]
    t0 = min(t for t, _ in offers) // 86_400_000 * 86_400_000
    n = (max(t for t, _ in offers) - t0) // BUCKET + 1
    out: dict[str, np.ndarray] = {}
    for t, q in offers:
        out.setdefault(q, np.zeros(n, dtype=np.int64))[(t - t0) // BUCKET] += 1
    return t0, {q: c for q, c in sorted(out.items()) if c.sum() >= min_calls}, anonbank.site_config().timezone


def run_detector(t0: int, counts: np.ndarray, tz: str, warmup: int, raise_at: float, clear_at: float) -> list[int]:
    """Buckets (indices) at which an alert is raised."""
    det = SeasonalCusum(kind="count", tz=tz, warmup=warmup)
    st = None
    raised = []
    for i, y in enumerate(counts):
        x = {"t": (t0 + i * BUCKET) / 1000.0, "y": int(y)}
        score = det.score_one(x)
        det.learn_one(x)
        st, ev = step(st, score, raise_at=raise_at, clear_at=clear_at, for_s=0, repeat_s=0, lower_is_worse=False, now=i)
        if ev == "raised":
            raised.append(i)
    return raised


def inject(counts: np.ndarray, rng: np.random.Generator, k: int, start: int, lift: float = 0.5) -> tuple[np.ndarray, list[int]]:
    """``counts`` with ``k`` +50 % surges of 30 minutes, a day or more apart; their first buckets."""
    out = counts.copy()
    open_buckets = [i for i in range(start, len(counts) - SURGE_BUCKETS - GRACE_BUCKETS) if counts[i] > 0]
    starts: list[int] = []
    for _ in range(2000):
        if len(starts) == k or not open_buckets:
            break
        b = int(open_buckets[rng.integers(len(open_buckets))])
        if all(abs(b - s) >= 288 for s in starts):
            starts.append(b)
    for b in starts:
        seg = out[b : b + SURGE_BUCKETS]
        extra = rng.binomial(seg, lift) if lift <= 1 else rng.poisson(seg * lift)
        out[b : b + SURGE_BUCKETS] = seg + extra
    return out, sorted(starts)


def run(path: Path, seeds: int, surges: int, min_calls: int, raise_at: float | None = None, clear_at: float | None = None, lift: float = 0.5) -> dict:
    cfg = load_alerts()
    dc = cfg.detector("anonbank", None, "arrival_surge")
    if raise_at is not None or clear_at is not None:
        # What-if levels (the sweep in docs/alerts.md); the config's otherwise.
        dc = type(dc)(**{**{f: getattr(dc, f) for f in dc.__struct_fields__},
                         "raise_": raise_at if raise_at is not None else dc.raise_,
                         "clear": clear_at if clear_at is not None else dc.clear})
    t0, per_queue, tz = bucket_counts(path, min_calls)
    res: dict = {"lift": lift, "raise": dc.raise_, "clear": dc.clear, "warmup_buckets": dc.warmup_buckets, "queues": {}}
    all_delays: list[float] = []
    hits = total = 0
    fa_total = 0
    weeks_total = 0.0
    for q, counts in per_queue.items():
        clean = run_detector(t0, counts, tz, dc.warmup_buckets, dc.raise_, dc.clear)
        weeks = (len(counts) - dc.warmup_buckets) * BUCKET / WEEK
        q_hits = q_total = 0
        delays: list[float] = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            surged, starts = inject(counts, rng, surges, dc.warmup_buckets, lift)
            raised = run_detector(t0, surged, tz, dc.warmup_buckets, dc.raise_, dc.clear)
            for b in starts:
                q_total += 1
                hit = [r for r in raised if b <= r < b + SURGE_BUCKETS + GRACE_BUCKETS]
                if hit:
                    q_hits += 1
                    delays.append((hit[0] - b + 1) * 5.0)
        res["queues"][q] = {
            "calls": int(counts.sum()),
            "mean_per_bucket_open": round(float(counts[counts > 0].mean()), 2),
            "detected": q_hits,
            "surges": q_total,
            "detection_rate": round(q_hits / q_total, 3) if q_total else None,
            "median_delay_min": statistics.median(delays) if delays else None,
            "false_alarms": len(clean),
            "false_alarms_per_week": round(len(clean) / weeks, 2),
        }
        hits += q_hits
        total += q_total
        all_delays += delays
        fa_total += len(clean)
        weeks_total += weeks
    res["overall"] = {
        "detection_rate": round(hits / total, 3) if total else None,
        "median_delay_min": statistics.median(all_delays) if all_delays else None,
        "false_alarms_per_week_per_queue": round(fa_total / weeks_total, 2) if weeks_total else None,
        "surges": total,
    }
    return res


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench surge")
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--surges", type=int, default=8)
    ap.add_argument("--min-calls", type=int, default=2000)
    ap.add_argument("--raise", dest="raise_at", type=float, help="what-if alert level (default: config/alerts.yaml)")
    ap.add_argument("--clear", dest="clear_at", type=float)
    ap.add_argument("--lift", type=float, default=0.5, help="extra arrivals during a surge (0.5 = +50 %%)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        print(f"bench surge: skipped: no Anonymous Bank log at {args.file}", file=sys.stderr)
        return 0
    res = run(args.file, args.seeds, args.surges, args.min_calls, args.raise_at, args.clear_at, args.lift)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"+{args.lift:.0%} for 30 min, {args.seeds} seeds x {args.surges} surges per queue; alert at score >= {res['raise']}, clear <= {res['clear']}")
    print(f"{'queue':<10} {'calls':>6} {'per 5 min':>9} {'detected':>9} {'rate':>6} {'median delay':>13} {'false/week':>10}")
    for q, r in res["queues"].items():
        d = "-" if r["median_delay_min"] is None else f"{r['median_delay_min']:.0f} min"
        print(f"{q:<10} {r['calls']:>6} {r['mean_per_bucket_open']:>9} {r['detected']:>4}/{r['surges']:<4} {r['detection_rate']:>6} {d:>13} {r['false_alarms_per_week']:>10}")
    o = res["overall"]
    print(f"overall: detection rate {o['detection_rate']}, median delay {o['median_delay_min']} min, false alarms {o['false_alarms_per_week_per_queue']} per week per queue")
    return 0
