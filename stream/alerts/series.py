"""Score a plain ``timestamp,value`` series (``floorwatch detect``, the NAB bench).

:class:`~stream.alerts.detectors.ensemble.EnsembleLikelihood` with its
defaults, one configuration for every series, its probationary period NAB's
(15 % of the series, at most 750 points: what NAB gives every detector).
For comparison, ``detector="likelihood"`` runs the previous one
(:class:`~stream.alerts.detectors.likelihood.SeasonalLikelihood`) and
``**CUSUM_PARAMS`` the one before
(:class:`~stream.alerts.detectors.seasonal.SeasonalCusum`, ``value`` kind,
calibrated). Each row is scored before it is learnt, as it would be live.

>>> import math, random
>>> rng = random.Random(5)
>>> ts = [1_400_000_000 + 300 * i for i in range(2000)]
>>> ys = [10 + 3 * math.sin(2 * math.pi * t / 86_400) + rng.gauss(0, 1) for t in ts]
>>> ys[1500] += 12                              # one spike
>>> scores = score_series(ts, ys)
>>> scores[1500] == max(scores[300:])           # after NAB's probation (300 points), the spike is the top score
True
>>> all(0.0 <= x <= 1.0 for x in scores)
True
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from stream.alerts.detectors.ensemble import EnsembleLikelihood
from stream.alerts.detectors.likelihood import SeasonalLikelihood
from stream.alerts.detectors.seasonal import SeasonalCusum

__all__ = ["score_series", "read_series_csv", "write_scores_csv", "CUSUM_PARAMS", "probation_for"]

# The previous detector's settings for generic series, chosen on principles: a day of 5-minute points
# before the first score (NAB's probation is 15 % of a file, at most 750
# points); the textbook CUSUM reference (detect a 1-scale shift); a memory of
# about five points (machine series have autocorrelated residuals that a plain
# CUSUM would add up into alarms); one point counts at most 8 scales; and the
# sum scored against the series' own history (``calibrate``), so one threshold
# means the same on a square wave and on a noisy sensor.
CUSUM_PARAMS = {"kind": "value", "tz": "UTC", "warmup": 288, "shift": 1.0, "zmax": 8.0, "memory": 0.8, "calibrate": True}


def probation_for(n: int) -> int:
    """NAB's probationary period of an ``n``-point series: 15 %, at most 750 points."""
    return int(min(math.floor(0.15 * n), 750))


def score_series(timestamps: Sequence[float], values: Sequence[float], detector: str = "ensemble", **params) -> list[float]:
    """Anomaly scores in [0, 1], one per point (epoch seconds, values).

    ``detector``: ``"ensemble"`` (:class:`EnsembleLikelihood`, its
    ``probation`` NAB's unless given), ``"likelihood"``
    (:class:`SeasonalLikelihood`); with ``kind=...`` (e.g.
    ``**CUSUM_PARAMS``), :class:`SeasonalCusum`. ``params`` go to the
    detector.
    """
    if "kind" in params:
        det = SeasonalCusum(**params)
    elif detector == "likelihood":
        det = SeasonalLikelihood(**params)
    elif detector == "ensemble":
        det = EnsembleLikelihood(**{"probation": probation_for(len(values)), **params})
    else:
        raise ValueError(f"unknown detector {detector!r} (ensemble, likelihood)")
    out = []
    for t, y in zip(timestamps, values):
        x = {"t": float(t), "y": float(y)}
        out.append(det.score_one(x))
        det.learn_one(x)
    return out


def _parse_ts(text: str) -> float:
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise ValueError(f"bad timestamp {text!r}")


def read_series_csv(path: str | Path) -> tuple[list[str], list[float], list[float]]:
    """(raw timestamps, epoch seconds, values) of a ``timestamp,value`` CSV (NAB's layout)."""
    raw, ts, vs = [], [], []
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        header = next(r, None)
        if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
            raise ValueError(f"{path}: expected a header 'timestamp,value'")
        for n, row in enumerate(r, start=2):
            if not row:
                continue
            try:
                t, v = _parse_ts(row[0]), float(row[1])
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}:{n}: {exc}") from None
            raw.append(row[0])
            ts.append(t)
            vs.append(v)
    return raw, ts, vs


def write_scores_csv(path: str | Path, raw_ts: Iterable[str], values: Iterable[float], scores: Iterable[float]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "value", "anomaly_score"])
        for t, v, s in zip(raw_ts, values, scores):
            w.writerow([t, repr(v) if v != int(v) else f"{v:g}", f"{s:.6f}"])
