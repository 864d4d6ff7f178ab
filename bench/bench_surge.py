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
import math
import statistics
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

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
# Surges start after a week: the detectors have seen every day of the week once.
WARMUP_BUCKETS = 7 * 288


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


def inject(counts: np.ndarray, rng: np.random.Generator, k: int, start: int, lift: float = 1.0) -> tuple[np.ndarray, list[int]]:
    """``counts`` with ``k`` surges of 30 minutes, a day or more apart, at open hours; their first buckets.

    A surge copies the real calls of its window: each call ``⌊lift⌋`` times,
    and once more with probability ``lift − ⌊lift⌋`` (+100 %: every call
    twice; +200 %: three times).
    """
    out = counts.copy()
    open_buckets = [i for i in range(start, len(counts) - SURGE_BUCKETS - GRACE_BUCKETS) if counts[i] > 0]
    starts: list[int] = []
    for _ in range(2000):
        if len(starts) == k or not open_buckets:
            break
        b = int(open_buckets[rng.integers(len(open_buckets))])
        if all(abs(b - s) >= 288 for s in starts):
            starts.append(b)
    whole, frac = int(lift), lift - int(lift)
    for b in starts:
        seg = out[b : b + SURGE_BUCKETS]
        extra = seg * whole + (rng.binomial(seg, frac) if frac > 0 else 0)
        out[b : b + SURGE_BUCKETS] = seg + extra
    return out, sorted(starts)


def day_type(t_ms: int, tz: str) -> int:
    """The bank's three kinds of day (Brown et al. 2005): Sunday–Thursday, Friday (short), Saturday (evening only)."""
    wd = datetime.fromtimestamp(t_ms / 1000, ZoneInfo(tz)).weekday()  # Monday 0 … Sunday 6
    return {4: 1, 5: 2}.get(wd, 0)


def oracle_means(t0: int, counts: np.ndarray, tz: str) -> np.ndarray:
    """The oracle's expectation per bucket: the month's mean calls per 5 minutes of its (day type, 30-min slot)."""
    zone = ZoneInfo(tz)
    keys = []
    for i in range(len(counts)):
        d = datetime.fromtimestamp((t0 + i * BUCKET) / 1000, zone)
        keys.append((day_type(t0 + i * BUCKET, tz), (d.hour * 60 + d.minute) // 30))
    sums: dict = {}
    for k, y in zip(keys, counts):
        a = sums.setdefault(k, [0, 0])
        a[0] += int(y)
        a[1] += 1
    return np.array([sums[k][0] / sums[k][1] for k in keys])


def cusum_alarms(incs, h: float, start: int) -> list[int]:
    """``S ← max(0, S + inc)``, an alarm at ``S ≥ h`` (from ``start`` on), restarted at 0 after it as a textbook CUSUM is."""
    s, out = 0.0, []
    for i, inc in enumerate(incs):
        s = max(0.0, s + float(inc))
        if s >= h:
            if i >= start:
                out.append(i)
            s = 0.0
    return out


def oracle_alarms(mu: np.ndarray, counts: np.ndarray, shift: float, h: float, start: int) -> list[int]:
    """Buckets where the oracle raises: a Poisson CUSUM of "arrivals are (1 + shift)× the expectation" vs
    "as expected", ``S ← max(0, S + y·ln(1 + shift) − shift·μ)``, alarm at ``S ≥ h``."""
    return cusum_alarms(counts * math.log1p(shift) - shift * mu, h, start)


def episodes(alarms: list[int], gap: int = SURGE_BUCKETS) -> int:
    """Alarm episodes: an alarm within 30 minutes (``gap`` buckets) of the previous one continues its episode
    (a restarted CUSUM alarms again and again through one long event; an alert is raised once and held)."""
    n, last = 0, None
    for i in alarms:
        if last is None or i - last > gap:
            n += 1
        last = i
    return n


def lowest_threshold(incs, start: int, max_episodes: int, gap: int = SURGE_BUCKETS) -> float:
    """The lowest CUSUM threshold (step 0.25) that raises at most ``max_episodes`` on ``incs`` (the untouched month)."""
    h = 0.25
    while episodes(cusum_alarms(incs, h, start), gap) > max_episodes:
        h += 0.25
    return h


def detected(raised: list[int], starts: list[int]) -> tuple[int, list[float]]:
    """(surges with an alarm from their start to 15 min after their end, delays in minutes)."""
    hits, delays = 0, []
    for b in starts:
        hit = [r for r in raised if b <= r < b + SURGE_BUCKETS + GRACE_BUCKETS]
        if hit:
            hits += 1
            delays.append((hit[0] - b + 1) * 5.0)
    return hits, delays


def run(path: Path, seeds: int, surges: int, min_calls: int, lifts: tuple[float, ...] = (1.0, 2.0),
        raise_at: Optional[float] = None, clear_at: Optional[float] = None, oracle_shift: float = 1.0) -> dict:
    cfg = load_alerts()
    dc = cfg.detector("anonbank", None, "arrival_surge")
    if raise_at is not None or clear_at is not None:
        # What-if levels (the sweep in docs/alerts.md); the config's otherwise.
        dc = type(dc)(**{**{f: getattr(dc, f) for f in dc.__struct_fields__},
                         "raise_": raise_at if raise_at is not None else dc.raise_,
                         "clear": clear_at if clear_at is not None else dc.clear})
    t0, per_queue, tz = bucket_counts(path, min_calls)
    start = WARMUP_BUCKETS
    res: dict = {"raise": dc.raise_, "clear": dc.clear, "warmup_buckets": dc.warmup_buckets, "surge_after_buckets": start,
                 "oracle_shift": oracle_shift, "queues": {}, "lifts": {}}
    weeks_total, fa_total = 0.0, 0
    for q, counts in per_queue.items():
        clean = run_detector(t0, counts, tz, dc.warmup_buckets, dc.raise_, dc.clear)
        fa = [r for r in clean if r >= start]
        weeks = (len(counts) - start) * BUCKET / WEEK
        res["queues"][q] = {"calls": int(counts.sum()), "mean_per_open_bucket": round(float(counts[counts > 0].mean()), 2),
                            "false_alarms": len(fa), "false_alarms_per_week": round(len(fa) / weeks, 2)}
        weeks_total += weeks
        fa_total += len(fa)
    res["false_alarms_per_week_per_queue"] = round(fa_total / weeks_total, 2) if weeks_total else None
    busiest = max(per_queue, key=lambda q: per_queue[q].sum())
    counts = per_queue[busiest]
    ours_fa = res["queues"][busiest]["false_alarms"]
    mu = oracle_means(t0, counts, tz)
    h = lowest_threshold(counts * math.log1p(oracle_shift) - oracle_shift * mu, start, ours_fa)
    oracle_fa = episodes(oracle_alarms(mu, counts, oracle_shift, h, start))
    weeks = (len(counts) - start) * BUCKET / WEEK
    res.update(busiest=busiest, oracle_threshold=h, oracle_false_alarms_per_week=round(oracle_fa / weeks, 2),
               ours_false_alarms_per_week=round(ours_fa / weeks, 2))
    for lift in lifts:
        tally = {"ours": [0, []], "oracle": [0, []]}
        total = 0
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            surged, starts = inject(counts, rng, surges, start, lift)
            total += len(starts)
            for name, raised in (("ours", run_detector(t0, surged, tz, dc.warmup_buckets, dc.raise_, dc.clear)),
                                 ("oracle", oracle_alarms(mu, surged, oracle_shift, h, start))):
                n, d = detected(raised, starts)
                tally[name][0] += n
                tally[name][1] += d
        res["lifts"][f"+{lift:.0%}"] = {"surges": total, **{
            name: {"detected": n, "detection_rate": round(n / total, 3) if total else None,
                   "median_delay_min": statistics.median(d) if d else None}
            for name, (n, d) in tally.items()}}
    return res


def _cell(x: dict, who: str, width: int = 5) -> str:
    """``'23/80  29%'``: detected of the injected, and the rate."""
    d = x[who]
    return f"{d['detected']:>4}/{x['surges']:<3} {d['detection_rate']:>{width}.0%}"


def _ratio(x: dict, oracle: str) -> str:
    """Ours ÷ the oracle's detections (``-`` when the oracle found none)."""
    k = x[oracle]["detected"]
    return "-" if not k else f"{x['ours']['detected'] / k:.2f}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench surge")
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--surges", type=int, default=8)
    ap.add_argument("--min-calls", type=int, default=2000)
    ap.add_argument("--raise", dest="raise_at", type=float, help="what-if alert level (default: config/alerts.yaml)")
    ap.add_argument("--clear", dest="clear_at", type=float)
    ap.add_argument("--lift", type=float, action="append", help="extra arrivals during a surge (1 = +100 %%); repeatable; default +100 %% and +200 %%")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        print(f"bench surge: skipped: no Anonymous Bank log at {args.file}", file=sys.stderr)
        return 0
    res = run(args.file, args.seeds, args.surges, args.min_calls, tuple(args.lift or (1.0, 2.0)), args.raise_at, args.clear_at)
    from bench import drift_spike

    calls = drift_spike.series(args.file)
    res["aht_drift"] = drift_spike.run_drift(calls, args.seeds, args.surges)
    # Abandon spikes: ours (PatienceDrop) and the RateSpike it replaced, each under both injections
    # (drift_spike.AbandonBuckets.inject: injected abandons under 5 s counted as issue 17 did, or as short).
    for inj in drift_spike.INJECTIONS:
        sfx = "" if inj == "issue" else "_short"
        res[f"abandon_spike{sfx}"] = drift_spike.run_spike(calls, args.seeds, args.surges, injection=inj)
        res[f"abandon_spike_rate{sfx}"] = drift_spike.run_spike(calls, args.seeds, args.surges, model="rate", injection=inj)
    # The previous detectors (one global baseline), for the before/after in the same run.
    res["aht_drift_global"] = drift_spike.run_drift(calls, args.seeds, args.surges, tod=False)
    res["abandon_spike_global"] = drift_spike.run_spike(calls, args.seeds, args.surges, tod=False, model="rate")
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"Untouched month, alert at score >= {res['raise']}, clear <= {res['clear']}; false alarms after the first week:")
    print(f"{'queue':<10} {'calls':>6} {'per 5 min':>9} {'false/week':>10}")
    for q, r in res["queues"].items():
        print(f"{q:<10} {r['calls']:>6} {r['mean_per_open_bucket']:>9} {r['false_alarms_per_week']:>10}")
    print(f"all queues: {res['false_alarms_per_week_per_queue']} false alarms per week per queue")
    print(f"\nSurges on {res['busiest']} (30 min, copies of its real calls, {args.seeds} seeds x {args.surges}); "
          f"oracle: Poisson CUSUM told the month's mean per (day type, 30-min slot), shift +{res['oracle_shift']:.0%}, "
          f"threshold {res['oracle_threshold']} for the same false alarms ({res['oracle_false_alarms_per_week']} vs ours {res['ours_false_alarms_per_week']} a week)")
    print(f"{'surge':<7} {'ours':>14} {'delay':>7} {'oracle':>14} {'delay':>7} {'ours/oracle':>11}")
    for lift, r in res["lifts"].items():
        o, k = r["ours"], r["oracle"]
        ratio = "-" if not k["detected"] else f"{o['detected'] / k['detected']:.2f}"
        fmt = lambda d: "-" if d is None else f"{d:.0f} min"
        print(f"{lift:<7} {o['detected']:>4}/{r['surges']:<3} {o['detection_rate']:>5.0%} {fmt(o['median_delay_min']):>7} "
              f"{k['detected']:>4}/{r['surges']:<3} {k['detection_rate']:>5.0%} {fmt(k['median_delay_min']):>7} {ratio:>11}")
    for name, what in (("aht_drift", "AHT drifts (handle time x 1+lift for 30 min)"), ("aht_drift_global", "AHT drifts, previous detector (one global baseline)")):
        r = res[name]
        print(f"\n{what} on {res['aht_drift']['queue']}: ours {r['false_alarms_per_week']} false alarms a week; oracle threshold "
              f"{r['oracle_threshold']} (in-sample) / {r['oracle_other_days_threshold']} (other days) for the same")
        print(f"{'change':<9} {'ours':>14} {'oracle':>14} {'ours/oracle':>11} {'other days':>14} {'ours/other':>10}")
        for lift, x in r["lifts"].items():
            print(" ".join([f"{lift:<9} {_cell(x, 'ours')}", *(f"{_cell(x, o)} {_ratio(x, o):>{w}}" for o, w in (("oracle", 11), ("oracle_other_days", 10)))]))
    print("\nAbandon spikes (each call not abandoned hangs up with probability +lift for 30 min, at its real wait) on "
          f"{res['aht_drift']['queue']}; oracles at each detector's false alarms: rate = Bernoulli told the month's abandon rate per slot, "
          "hazard = Poisson told its hazard per slot and given the seconds waited (in-sample / other days)")
    names = ("oracle", "oracle_other_days", "hazard_oracle", "hazard_oracle_other_days")
    print(f"{'detector':<26} {'injected':<8} {'false/wk':>8} {'spike':<8} {'ours':>10} " + " ".join(f"{h:>16}" for h in ("rate in-sample", "rate other days", "hazard in-sample", "hazard other days")))
    for name, label in (("abandon_spike", "PatienceDrop (now)"), ("abandon_spike_rate", "RateSpike (before)"), ("abandon_spike_short", "PatienceDrop (now)"),
                        ("abandon_spike_rate_short", "RateSpike (before)"), ("abandon_spike_global", "RateSpike, one baseline")):
        r = res[name]
        for lift, x in r["lifts"].items():
            print(f"{label:<26} {r['injection']:<8} {r['false_alarms_per_week']:>8} {lift:<8} {_cell(x, 'ours', 4):>10} "
                  + " ".join(f"{_cell(x, o, 4) + ' ' + _ratio(x, o):>16}" for o in names))
    return 0
