"""The NAB score (Lavin & Ahmad 2015, NAB v1.1), any of its three profiles, written from its definition.

Per file, each row gets a *sweep score* ("what a detection here would be worth"):

* inside an anomaly window ``[start, end]`` (rows ``left..right``, width
  ``w = right − left + 1``): the scaled sigmoid of its relative position
  ``p = −(right − i + 1) / w`` (−1 at the window's first row, near 0 at its
  last): ``σ(p) = 2 / (1 + e^{5p}) − 1``, divided by σ(−1) so the first row is
  worth exactly A_TP = 1;
* outside: a false positive, ``A_FP · σ(q)`` with A_FP = 0.11 and ``q`` the
  distance past the previous window's right edge over ``w − 1`` (``q = 3``, so
  σ = −1, before the first window; σ(q) = −1 for q ≥ 3).

Rows in the *probationary* period, the first ``min(⌊0.15·n⌋, 0.15·5000)``
rows, are not scored. A detector flags the rows whose anomaly score is
``≥ threshold``. A window's worth is the best (earliest) flagged row's sweep
score, or ``−A_FN = −1`` if none is flagged; only the first detection in a
window counts; every flagged row outside windows adds its (negative) sweep
score. The threshold is chosen as NAB does: the one that maximises the total
over the whole corpus (swept over every distinct score). The normalised score
is ``100 · (raw − null) / (perfect − null)`` with ``perfect = A_TP · windows``
and ``null`` the best raw score of the null detector (a constant score), so
the null detector scores 0 and a perfect one 100.

>>> ts = list(range(100))
>>> pts = sweep_points(ts, [0.0] * 100, [(50, 59)], "f", probation_pct=0.0)
>>> best_threshold(pts)[1], n_windows(pts)
(-1.0, 1)
>>> perfect = [1.0 if t == 50 else 0.0 for t in ts]
>>> round(best_threshold(sweep_points(ts, perfect, [(50, 59)], "f", probation_pct=0.0))[1], 6)
1.0
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence

__all__ = ["STANDARD", "REWARD_LOW_FP", "REWARD_LOW_FN", "PROFILES", "Point", "scaled_sigmoid", "sweep_points", "score_at", "best_threshold", "n_windows", "normalized", "probation_length"]

# NAB's three profiles (its config/profiles.json): A_TP, A_FP, A_FN.
STANDARD = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 1.0}
REWARD_LOW_FP = {"tpWeight": 1.0, "fpWeight": 0.22, "fnWeight": 1.0}
REWARD_LOW_FN = {"tpWeight": 1.0, "fpWeight": 0.11, "fnWeight": 2.0}
PROFILES = {"standard": STANDARD, "reward_low_FP_rate": REWARD_LOW_FP, "reward_low_FN_rate": REWARD_LOW_FN}


class Point(NamedTuple):
    score: float  # the detector's anomaly score
    sweep: float  # what a detection here is worth
    window: Optional[str]  # window id, None outside windows, "probationary" in probation


def scaled_sigmoid(pos: float) -> float:
    """NAB's reward curve: 2·sigmoid(−5·pos) − 1, and −1 from 3 widths past a window."""
    if pos >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * pos)) - 1.0


def probation_length(n: int, pct: float = 0.15) -> float:
    return min(math.floor(pct * n), pct * 5000)


def sweep_points(
    timestamps: Sequence,
    scores: Sequence[float],
    windows: Sequence[tuple],
    name: str,
    *,
    probation_pct: float = 0.15,
    profile: dict = STANDARD,
) -> list[Point]:
    """Every row of one file with its sweep score and window (windows given by their edge timestamps)."""
    index = {t: i for i, t in enumerate(timestamps)}
    spans = []
    for a, b in windows:
        if a not in index or b not in index:
            raise ValueError(f"{name}: window edge {a if a not in index else b!r} is not a row's timestamp")
        spans.append((index[a], index[b]))
    spans.sort()
    max_tp = scaled_sigmoid(-1.0)
    prob = probation_length(len(timestamps), probation_pct)
    out = []
    k = 0  # next window
    cur = None  # (left, right) of the window we are in
    prev = None  # (left, right) of the last window left
    for i, s in enumerate(scores):
        if cur is None and k < len(spans) and i == spans[k][0]:
            cur = spans[k]
            k += 1
        if cur is not None:
            left, right = cur
            width = right - left + 1
            sweep = scaled_sigmoid(-(right - i + 1) / width) * profile["tpWeight"] / max_tp
            win = f"{name}|{left}"
        else:
            if prev is None:
                pos = 3.0
            else:
                pw = prev[1] - prev[0] + 1
                pos = abs(prev[1] - i) / float(pw - 1) if pw > 1 else 3.0
            sweep = scaled_sigmoid(pos) * profile["fpWeight"]
            win = None
        out.append(Point(float(s), sweep, win if i >= prob else "probationary"))
        if cur is not None and i == cur[1]:
            prev, cur = cur, None
    return out


def n_windows(points: Sequence[Point]) -> int:
    return len({p.window for p in points if p.window not in (None, "probationary")})


def score_at(points: Sequence[Point], threshold: float, profile: dict = STANDARD) -> float:
    """The raw score when rows with anomaly score ≥ ``threshold`` are detections."""
    best: dict[str, float] = {p.window: -profile["fnWeight"] for p in points if p.window not in (None, "probationary")}
    fp = 0.0
    for p in points:
        if p.window == "probationary" or p.score < threshold:
            continue
        if p.window is None:
            fp += p.sweep
        elif p.sweep > best[p.window]:
            best[p.window] = p.sweep
    return fp + sum(best.values())


def best_threshold(points: Sequence[Point], profile: dict = STANDARD) -> tuple[float, float]:
    """(threshold, raw score) maximising the raw score over ``points`` (one file or a whole corpus).

    Sweeps the thresholds from high to low as NAB does, starting above every
    score (no detections at all).
    """
    live = sorted((p for p in points if p.window != "probationary"), key=lambda p: -p.score)
    best: dict[str, float] = {p.window: -profile["fnWeight"] for p in live if p.window is not None}
    total_win = sum(best.values())
    fp = 0.0
    top = (1.1, fp + total_win)
    i = 0
    while i < len(live):
        t = live[i].score
        while i < len(live) and live[i].score == t:
            p = live[i]
            if p.window is None:
                fp += p.sweep
            elif p.sweep > best[p.window]:
                total_win += p.sweep - best[p.window]
                best[p.window] = p.sweep
            i += 1
        if fp + total_win > top[1]:
            top = (t, fp + total_win)
    return top


def normalized(raw: float, null_raw: float, windows: int, profile: dict = STANDARD) -> float:
    perfect = windows * profile["tpWeight"]
    return 100.0 * (raw - null_raw) / (perfect - null_raw)
