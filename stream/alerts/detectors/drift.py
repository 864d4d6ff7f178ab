"""DriftCusum: a per-bucket mean (e.g. handle time) drifting from its slow baseline.

Each observation is the mean ``y`` of ``n`` items (the handle times that ended
in a 5-minute bucket). The baseline is a slow river ``EWMean`` of the bucket
means; the per-item spread σ is learnt from the residuals (``(y − base)² · n``
is an estimate of σ²), so a bucket of 2 calls moves the score far less than a
bucket of 40. A two-sided CUSUM of the standardised residual
``z = (y − base) / (σ / √n)`` with reference ``shift / 2`` accumulates a
persistent drift long before the slow baseline absorbs it; the sum (capped) is
squashed to [0, 1) as ``1 − exp(−S)``. Residuals are clipped at ``clip``
before they are learnt, so an outlier bucket does not move the baseline.

>>> import random
>>> rng = random.Random(7)
>>> det = DriftCusum(warmup=50)
>>> calm = []
>>> for _ in range(300):
...     x = {"y": sum(rng.lognormvariate(5.1, 0.5) for _ in range(20)) / 20, "n": 20}
...     calm.append(det.score_one(x))
...     det.learn_one(x)
>>> max(calm) < 0.875
True
>>> drift = []
>>> for _ in range(12):                       # handle times up by a third
...     x = {"y": 1.33 * sum(rng.lognormvariate(5.1, 0.5) for _ in range(20)) / 20, "n": 20}
...     drift.append(det.score_one(x))
...     det.learn_one(x)
>>> max(drift) > 0.875
True
"""

from __future__ import annotations

import math

from river.base import AnomalyDetector

from stream.alerts.detectors._ew import ew, learn, squash, value

__all__ = ["DriftCusum"]


class DriftCusum(AnomalyDetector):
    """Baseline + per-item scale + two-sided CUSUM; see the module docstring.

    Parameters
    ----------
    alpha
        Weight of a new bucket in the baseline (0.01: about 100 buckets, 8 h of 5-min buckets).
    scale_alpha
        Weight of a new bucket in the per-item variance.
    shift
        The drift to detect, in bucket standard deviations.
    clip, cap, warmup
        As in :class:`~stream.alerts.detectors.seasonal.SeasonalCusum`.
    zmax
        A bucket adds at most the evidence of a ``zmax`` residual (long tails).
    """

    def __init__(self, alpha: float = 0.01, scale_alpha: float = 0.02, shift: float = 1.0, clip: float = 3.0, cap: float = 8.0, warmup: int = 288, zmax: float = 4.0) -> None:
        self.alpha = alpha
        self.scale_alpha = scale_alpha
        self.shift = shift
        self.clip = clip
        self.cap = cap
        self.warmup = warmup
        self.zmax = zmax
        self.n = 0
        self.base = None
        self.var = None  # per-item variance
        self.s_up = 0.0
        self.s_down = 0.0

    def _z(self, y: float, n: float) -> tuple[float, float]:
        b = value(self.base)
        sigma = math.sqrt(max(value(self.var) or 0.0, (0.01 * abs(b)) ** 2, 1e-12))
        return (y - b) / (sigma / math.sqrt(n)), sigma

    def _sums(self, z: float) -> tuple[float, float]:
        # Handle times are long-tailed: one 40-minute call in a quiet bucket
        # must not count as twenty ordinary buckets of evidence.
        z = max(-self.zmax, min(self.zmax, z))
        k = self.shift / 2
        up = min(self.cap, max(0.0, self.s_up + self.shift * (z - k)))
        down = min(self.cap, max(0.0, self.s_down + self.shift * (-z - k)))
        return up, down

    def explain_one(self, x: dict) -> dict:
        y, n = float(x["y"]), float(x.get("n", 1))
        if self.base is None or n <= 0:
            return {"observed": y, "expected": value(self.base), "z": 0.0, "score": 0.0}
        z, _ = self._z(y, n)
        return self._explain(y, z, self._sums(z))

    def _explain(self, y: float, z: float, sums: tuple[float, float]) -> dict:
        score = squash(max(sums)) if self.n >= self.warmup else 0.0
        return {"observed": y, "expected": value(self.base), "z": z, "score": score}

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``: the same, with the residual and the sums
        (which learning needs too, from the same state) worked out once."""
        y, n = float(x["y"]), float(x.get("n", 1))
        if self.base is None or n <= 0:
            e = {"observed": y, "expected": value(self.base), "z": 0.0, "score": 0.0}
            self.learn_one(x)
            return e
        z, sigma = self._z(y, n)
        sums = self._sums(z)
        e = self._explain(y, z, sums)
        self._learn(y, n, z, sigma, sums)
        return e

    def score_one(self, x: dict) -> float:
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        y, n = float(x["y"]), float(x.get("n", 1))
        if n <= 0:
            return
        if self.base is None:
            self.base = ew(self.alpha, y)
            self.n = 1
            return
        z, sigma = self._z(y, n)
        self._learn(y, n, z, sigma, self._sums(z) if self.n >= self.warmup else (0.0, 0.0))

    def _learn(self, y: float, n: float, z: float, sigma: float, sums: tuple[float, float]) -> None:
        """Learn the bucket ``y`` of ``n`` items, given ``_z`` and ``_sums`` of it before anything is learnt."""
        if self.n >= self.warmup:
            self.s_up, self.s_down = sums
        b = value(self.base)
        zc = max(-self.clip, min(self.clip, z))
        r = zc * sigma / math.sqrt(n)
        learn(self.base, b + r, self.n)
        # During warm-up the raw residual teaches the variance (a clipped one
        # would keep a too-small first guess small for ever); then the clipped.
        obs = (y - b) ** 2 * n if self.n < self.warmup else r * r * n
        if self.var is None:
            self.var = ew(self.scale_alpha, obs)
        else:
            learn(self.var, obs, self.n - 1)
        self.n += 1

    def to_dict(self) -> dict:
        return {
            "params": {k: getattr(self, k) for k in ("alpha", "scale_alpha", "shift", "clip", "cap", "warmup", "zmax")},
            "n": self.n, "base": value(self.base), "var": value(self.var), "s_up": self.s_up, "s_down": self.s_down,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "DriftCusum":
        det = cls(**d["params"])
        det.n = d["n"]
        det.base = None if d["base"] is None else ew(det.alpha, d["base"])
        det.var = None if d["var"] is None else ew(det.scale_alpha, d["var"])
        det.s_up, det.s_down = d["s_up"], d["s_down"]
        return det
