"""Score a plain ``timestamp,value`` series (``floorwatch detect``, the NAB bench).

:class:`~stream.alerts.detectors.likelihood.SeasonalLikelihood` with its
defaults, one configuration for every series; ``score_series(ts, ys,
**CUSUM_PARAMS)`` runs the previous detector
(:class:`~stream.alerts.detectors.seasonal.SeasonalCusum`, ``value`` kind,
calibrated) for comparison. Each row is scored before it is learnt, as it
would be live.

>>> import math, random
>>> rng = random.Random(5)
>>> ts = [1_400_000_000 + 300 * i for i in range(2000)]
>>> ys = [10 + 3 * math.sin(2 * math.pi * t / 86_400) + rng.gauss(0, 1) for t in ts]
>>> ys[1500] += 12                              # one spike
>>> scores = score_series(ts, ys)
>>> scores[1500] > max(scores[:1500])           # the spike outscores everything before it
True
>>> all(0.0 <= x <= 1.0 for x in scores)
True
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from stream.alerts.detectors.likelihood import SeasonalLikelihood
from stream.alerts.detectors.seasonal import SeasonalCusum

__all__ = ["score_series", "read_series_csv", "write_scores_csv", "CUSUM_PARAMS"]

# The previous detector's settings for generic series, chosen on principles: a day of 5-minute points
# before the first score (NAB's probation is 15 % of a file, at most 750
# points); the textbook CUSUM reference (detect a 1-scale shift); a memory of
# about five points (machine series have autocorrelated residuals that a plain
# CUSUM would add up into alarms); one point counts at most 8 scales; and the
# sum scored against the series' own history (``calibrate``), so one threshold
# means the same on a square wave and on a noisy sensor.
CUSUM_PARAMS = {"kind": "value", "tz": "UTC", "warmup": 288, "shift": 1.0, "zmax": 8.0, "memory": 0.8, "calibrate": True}


def score_series(timestamps: Sequence[float], values: Sequence[float], **params) -> list[float]:
    """Anomaly scores in [0, 1], one per point (epoch seconds, values).

    With no ``params``, :class:`SeasonalLikelihood` with its defaults; with
    ``kind=...`` (e.g. ``**CUSUM_PARAMS``), :class:`SeasonalCusum` with them.
    """
    det = SeasonalCusum(**params) if "kind" in params else SeasonalLikelihood(**params)
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
