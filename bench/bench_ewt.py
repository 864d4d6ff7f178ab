"""Predicted wait: ours (EWT) beside the QL and LES predictors, same contacts, same run.

    python -m bench ewt [--calls 20000] [--seeds 1,2,3] [--json]

For each offered contact the three predictors are given the same view of the
floor just before it arrives (``stream.predict.replay``); each is scored
against the actual wait of the contacts then answered: RMSE and MAE (s), per
data set and by the hour of day (the site's local hour of the arrival), and
the share of answered waits inside EWT's 10-90 % band. Data sets: the February
Anonymous Bank log (``../shared``; skipped, saying so, where absent) and
busy-day simulations (``simulators/busy_day.py``, ``--calls`` calls each, one
per seed). The goal (issue 16): EWT's RMSE 10 % under the better of QL and LES.

EWT's blend weights were fitted on a training split this bench does not score
(``TRAIN_NOTE``): February's arrivals before ``FEBRUARY_HELD_OUT`` and busy-day
seeds 11-13. February is scored from that moment on (its first two weeks are
printed apart, as training, not as the result); the default seeds 1-3 are
held out.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Optional

FEBRUARY = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "anonbank" / "february.txt"
NAMES = ("EWT", "QL", "LES")
# 1999-02-15 00:00 UTC: February's arrivals before it trained EWT's weights; those from it on are scored.
FEBRUARY_HELD_OUT = 919_036_800_000
TRAIN_SEEDS = (11, 12, 13)
TRAIN_NOTE = "EWT's weights were fitted on February 1-14 and busy-day seeds 11-13"


def _wait(p) -> float:
    return p if isinstance(p, float) else p.wait_s


def score(records: list[dict], floor) -> dict:
    """RMSE, MAE and count per predictor over the answered contacts, in total and by local hour."""
    sums: dict = defaultdict(lambda: [0, 0.0, 0.0])  # (hour or "all", name) -> [n, se, ae]
    inside = n_all = 0
    for r in records:
        if r["outcome"] != "answered":
            continue
        start, _ = floor.site(r["site"]).cal.day_bounds(r["at"])
        hour = (r["at"] - start) // 3_600_000  # hours since local midnight
        act = r["actual_wait_s"]
        kind = floor.site(r["site"]).cfg.kind
        for name in NAMES:
            e = _wait(r["predicted"][name]) - act
            for key in (("all", name), (hour, name), (kind, name)):
                s = sums[key]
                s[0] += 1
                s[1] += e * e
                s[2] += abs(e)
        p = r["predicted"]["EWT"]
        n_all += 1
        inside += p.low_s - 0.5 <= act <= p.high_s + 0.5
    out: dict = {"answered": n_all, "band_coverage_pct": round(100.0 * inside / n_all, 1) if n_all else None, "by_hour": {},
                 "by_kind": {}}
    for (hour, name), (n, se, ae) in sorted(sums.items(), key=lambda kv: (str(kv[0][0]).zfill(8), kv[0][1])):
        row = {"n": n, "rmse_s": round(math.sqrt(se / n), 2), "mae_s": round(ae / n, 2)}
        if hour == "all":
            out[name] = row
        elif isinstance(hour, str):
            out["by_kind"].setdefault(hour, {})[name] = row
        else:
            out["by_hour"].setdefault(f"{hour:02d}", {})[name] = row
    best = min(out["QL"]["rmse_s"], out["LES"]["rmse_s"]) if n_all else None
    out["ewt_vs_best_baseline_pct"] = round(100.0 * (out["EWT"]["rmse_s"] / best - 1.0), 1) if best else None
    return out


def _run(events, floor, keep: Optional[list] = None) -> tuple[dict, float]:
    from stream.predict.ewt import EWT
    from stream.predict.les import LES
    from stream.predict.ql import QL
    from stream.predict.replay import predict_replay

    t0 = time.perf_counter()
    records = predict_replay(events, floor, [EWT(), QL(), LES()])
    if keep is not None:
        keep.extend(records)
    return records, time.perf_counter() - t0


def _print(name: str, res: dict, secs: float) -> None:
    print(f"\n{name}: {res['answered']:,} answered contacts scored ({secs:.1f} s); EWT band 10-90 % holds "
          f"{res['band_coverage_pct']} % of them")
    print(f"  {'hour':>4}  " + "  ".join(f"{n + ' RMSE':>10} {n + ' MAE':>9}" for n in NAMES))
    for hour, row in res["by_hour"].items():
        print(f"  {hour:>4}  " + "  ".join(f"{row[n]['rmse_s']:>10.1f} {row[n]['mae_s']:>9.1f}" if n in row else " " * 20 for n in NAMES))
    for kind, row in res["by_kind"].items():
        print(f"  {kind:>7}" + "  ".join(f"{row[n]['rmse_s']:>10.1f} {row[n]['mae_s']:>9.1f}" for n in NAMES))
    print(f"  {'all':>4}  " + "  ".join(f"{res[n]['rmse_s']:>10.1f} {res[n]['mae_s']:>9.1f}" for n in NAMES))
    print(f"  EWT's RMSE vs the better of QL and LES: {res['ewt_vs_best_baseline_pct']:+.1f} % (goal: -10 %)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench ewt")
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = ap.parse_args(argv)
    from simulators import busy_day
    from stream.sources.formats import read_events
    from stream.contracts.floor_config import load_config
    from stream.fold.floor import Floor

    results: dict = {}
    cfg = load_config()
    if FEBRUARY.is_file():
        floor = Floor(load_config())
        records, secs = _run(read_events(FEBRUARY, "anonbank", floor), floor)
        train = score([r for r in records if r["at"] < FEBRUARY_HELD_OUT], floor)
        res = score([r for r in records if r["at"] >= FEBRUARY_HELD_OUT], floor)
        results["anonbank-february-15-28"] = res
        results["anonbank-february-1-14-training"] = train
        if not args.json:
            _print("Anonymous Bank, February 1-14 (training: EWT's weights were fitted on it)", train, secs)
            _print("Anonymous Bank, February 15-28 (held out)", res, 0.0)
    else:
        print(f"bench ewt: {FEBRUARY} absent (a clone without ../shared): the February log is skipped", file=sys.stderr)
    pooled: list = []
    seeds = [int(s) for s in args.seeds.split(",") if s]
    for seed in seeds:
        floor = Floor(cfg)
        records, secs = _run(busy_day.generate(cfg, seed=seed, calls=args.calls), floor, pooled)
        res = score(records, floor)
        results[f"busy-day-{args.calls}-seed{seed}"] = res
        if not args.json:
            held = "training" if seed in TRAIN_SEEDS else "held out"
            _print(f"busy day, {args.calls:,} calls, seed {seed} ({held})", res, secs)
    if len(seeds) > 1:
        # The busy days' sites share names and calendars: one floor scores their hours.
        res = score(pooled, Floor(cfg))
        results[f"busy-days-{args.calls}-pooled"] = res
        if not args.json:
            _print(f"busy days, seeds {args.seeds} pooled", res, 0.0)
    if args.json:
        print(json.dumps(results))
    else:
        print(f"\n{TRAIN_NOTE}; the figures above marked held out are not.")
    return 0
