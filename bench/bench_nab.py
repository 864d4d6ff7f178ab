"""NAB, all three profiles: our detectors beside the published HTM and ARTime outputs, same files, same scorer.

    python -m bench nab [--data ../shared/data/nab] [--json]

Every file of the corpus under ``data/`` is scored row by row (score, then
learn) by each of our detectors; the published detectors' scores are read
from ``results/<detector>/`` (their own runs, on the same files). For each
profile (standard, reward-low-FP, reward-low-FN) :mod:`bench.nab_score`
sweeps one threshold per detector over the whole corpus (as NAB's optimiser
does) and normalises with the null detector (a constant score) at 0 and a
perfect one at 100.

* ``floorwatch`` — :func:`stream.alerts.series.score_series`, the code
  ``floorwatch detect`` runs (``EnsembleLikelihood``, given NAB's
  probationary period as NAB gives it to every detector).
* ``likelihood`` — the previous one (``SeasonalLikelihood``), for the before/after.
* ``cusum`` — the one before (``SeasonalCusum``, ``value`` kind,
  calibrated), for the before/after.
* ``river-hst`` — ``MinMaxScaler | HalfSpaceTrees(seed=42)`` (river's own
  example pipeline for HST), defaults otherwise.
* ``numenta`` (HTM), ``ARTime`` — the published outputs, where present.
* ``random`` — NAB's random detector (``random.uniform(0, 1)`` a row, the
  generator seeded with 42 for each file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import csv
import random

from bench.nab_score import PROFILES, best_threshold, n_windows, normalized, score_at, sweep_points
from stream.alerts.series import CUSUM_PARAMS, read_series_csv, score_series

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


def random_scores(values: list[float]) -> list[float]:
    rng = random.Random(42)
    return [rng.uniform(0, 1) for _ in values]


DETECTORS = {
    "floorwatch": lambda ts, vs: score_series(ts, vs),
    "likelihood": lambda ts, vs: score_series(ts, vs, "likelihood"),
    "cusum": lambda ts, vs: score_series(ts, vs, **CUSUM_PARAMS),
    "river-hst": lambda ts, vs: hst_scores(vs),
    "random": lambda ts, vs: random_scores(vs),
    "null": lambda ts, vs: [0.5] * len(vs),
}

PUBLISHED = ("numenta", "ARTime")


def published_scores(base: Path, detector: str, rel: str, timestamps: list[float]) -> Optional[list[float]]:
    """A published detector's scores for ``rel`` (None if its file is absent); rows must match the data's."""
    cat, name = rel.split("/", 1)
    path = base / "results" / detector / cat / f"{detector}_{name}"
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if [_epoch(r["timestamp"]) for r in rows] != list(timestamps):
        raise ValueError(f"{path}: its timestamps differ from the data file's")
    return [float(r["anomaly_score"]) for r in rows]


def run(base: Path, only: Optional[tuple[str, ...]] = None) -> dict:
    """Every detector's scores (``only``: just these of ours, plus the null detector the scores are normalised with)."""
    corpus = load_corpus(base)
    result: dict = {"files": len(corpus), "profiles": list(PROFILES), "detectors": {}}
    scores: dict[str, dict[str, list[float]]] = {}
    for name, fn in DETECTORS.items():
        if only is not None and name not in only and name != "null":
            continue
        t0 = time.perf_counter()
        scores[name] = {rel: fn(ts, vs) for rel, ts, vs, _ in corpus}
        result["detectors"][name] = {"seconds": round(time.perf_counter() - t0, 1)}
    for name in PUBLISHED:
        got = {rel: published_scores(base, name, rel, ts) for rel, ts, _, _ in corpus}
        if all(v is not None for v in got.values()):
            scores[name] = got
            result["detectors"][name] = {"seconds": None, "published": True}
    for prof_name, prof in PROFILES.items():
        null_pts = [p for rel, ts, _, wins in corpus for p in sweep_points(ts, scores["null"][rel], wins, rel, profile=prof)]
        null_raw = best_threshold(null_pts, prof)[1]
        windows = n_windows(null_pts)
        result["windows"] = windows
        for name in scores:
            per = {rel: sweep_points(ts, scores[name][rel], wins, rel, profile=prof) for rel, ts, _, wins in corpus}
            thr, raw = best_threshold([p for pts in per.values() for p in pts], prof)
            r = result["detectors"][name].setdefault("profiles", {})
            r[prof_name] = {"threshold": thr, "raw": round(raw, 4), "score": round(normalized(raw, null_raw, windows, prof), 2)}
            if prof_name == "standard":
                result["detectors"][name]["per_file"] = {rel: round(score_at(p, thr, prof), 3) for rel, p in per.items()}
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
    dets = res["detectors"]
    print(f"NAB, {res['files']} files, {res['windows']} windows; normalised score (null 0, perfect 100) at each detector's best corpus threshold")
    print(f"{'detector':<12}" + "".join(f" {p:>20}" for p in res["profiles"]) + f" {'time s':>7}")
    for name, r in dets.items():
        cells = "".join(f" {r['profiles'][p]['score']:>8.2f} @ {min(r['profiles'][p]['threshold'], 9.99999):<9.5f}" for p in res["profiles"])
        secs = "published" if r.get("published") else f"{r['seconds']:.1f}"
        print(f"{name:<12}{cells} {secs:>7}")
    shown = [n for n in ("floorwatch", "likelihood", "numenta", "ARTime") if n in dets]
    print(f"\n{'file (standard raw score at the corpus threshold)':<58}" + "".join(f" {n:>10}" for n in shown))
    for f in dets["floorwatch"]["per_file"]:
        print(f"{f:<58}" + "".join(f" {dets[n]['per_file'][f]:>10.3f}" for n in shown))
    return 0
