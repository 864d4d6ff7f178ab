"""NAB (standard profile): our seasonal detector beside river's HalfSpaceTrees, same run, same scorer.

    python -m bench nab [--data ../shared/data/nab] [--json]

Every file of the corpus under ``data/`` is scored row by row (score, then
learn) by each detector; :mod:`bench.nab_score` sweeps one threshold per
detector over the whole corpus (as NAB's optimiser does) and normalises with
the null detector (a constant score) at 0 and a perfect one at 100.

* ``floorwatch`` — :func:`stream.alerts.series.score_series`, the code
  ``floorwatch detect`` runs (SeasonalCusum, ``value`` kind).
* ``river-hst`` — ``MinMaxScaler | HalfSpaceTrees(seed=42)`` (river's own
  example pipeline for HST), defaults otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.nab_score import best_threshold, n_windows, normalized, score_at, sweep_points
from stream.alerts.series import read_series_csv, score_series

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "nab"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc).timestamp()


def load_corpus(base: Path) -> list[tuple[str, list[float], list[float], list[tuple[float, float]]]]:
    labels = json.loads((base / "labels" / "combined_windows.json").read_text())
    out = []
    for rel in sorted(labels):
        _, ts, vs = read_series_csv(base / "data" / rel)
        wins = [(_epoch(a), _epoch(b)) for a, b in labels[rel]]
        out.append((rel, ts, vs, wins))
    return out


def hst_scores(values: list[float]) -> list[float]:
    from river import anomaly, preprocessing

    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42)
    out = []
    for v in values:
        x = {"value": v}
        out.append(model.score_one(x))
        model.learn_one(x)
    return out


DETECTORS = {
    "floorwatch": lambda ts, vs: score_series(ts, vs),
    "river-hst": lambda ts, vs: hst_scores(vs),
    "null": lambda ts, vs: [0.5] * len(vs),
}


def run(base: Path) -> dict:
    corpus = load_corpus(base)
    result: dict = {"files": len(corpus), "detectors": {}}
    points: dict[str, list] = {}
    per_file: dict[str, dict] = {}
    for name, fn in DETECTORS.items():
        t0 = time.perf_counter()
        allp = []
        per_file[name] = {}
        for rel, ts, vs, wins in corpus:
            pts = sweep_points(ts, fn(ts, vs), wins, rel)
            per_file[name][rel] = pts
            allp.extend(pts)
        points[name] = allp
        result["detectors"][name] = {"seconds": round(time.perf_counter() - t0, 1)}
    windows = n_windows(points["null"])
    null_raw = best_threshold(points["null"])[1]
    for name in DETECTORS:
        thr, raw = best_threshold(points[name])
        r = result["detectors"][name]
        r.update(threshold=thr, raw=round(raw, 4), score=round(normalized(raw, null_raw, windows), 2))
        r["per_file"] = {rel: round(score_at(p, thr), 3) for rel, p in per_file[name].items()}
    result["windows"] = windows
    result["null_raw"] = null_raw
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench nab")
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data / "labels" / "combined_windows.json").is_file():
        print(f"bench nab: skipped: no NAB corpus at {args.data} (expects data/ and labels/combined_windows.json)", file=sys.stderr)
        return 0
    res = run(args.data)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"NAB standard profile, {res['files']} files, {res['windows']} windows (null raw {res['null_raw']:.2f})")
    print(f"{'detector':<12} {'score':>7} {'threshold':>10} {'raw':>9} {'time s':>7}")
    for name, r in res["detectors"].items():
        print(f"{name:<12} {r['score']:>7.2f} {r['threshold']:>10.5f} {r['raw']:>9.3f} {r['seconds']:>7.1f}")
    files = list(res["detectors"]["floorwatch"]["per_file"])
    print(f"\n{'file (raw score at the corpus threshold)':<58} {'floorwatch':>10} {'river-hst':>10}")
    for f in files:
        print(f"{f:<58} {res['detectors']['floorwatch']['per_file'][f]:>10.3f} {res['detectors']['river-hst']['per_file'][f]:>10.3f}")
    return 0
