"""RateSpike: a proportion ``k / n`` (e.g. abandons / offered) rising above its baseline.

The baseline rate is the ratio of two slow river ``EWMean``s (of ``k`` and of
``n``), so busy buckets weigh more than quiet ones. Each bucket adds the
binomial log-likelihood ratio of "the rate is ``ratio`` times the baseline"
against "it is the baseline" to a one-sided CUSUM (capped), squashed to
[0, 1) as ``1 − exp(−S)``. A bucket with no contacts adds nothing. Buckets
that look like a spike are learnt as if at the spike-free rate bound
(``p1``), so a long spike does not become the new normal at once.

>>> import random
>>> rng = random.Random(3)
>>> det = RateSpike(warmup=30)
>>> calm = []
>>> for _ in range(200):
...     n = 40; k = sum(rng.random() < 0.06 for _ in range(n))
...     calm.append(det.score_one({"k": k, "n": n})); det.learn_one({"k": k, "n": n})
>>> max(calm) < 0.875
True
>>> spike = []
>>> for _ in range(3):                        # abandons jump to 20 %
...     n = 40; k = sum(rng.random() < 0.20 for _ in range(n))
...     spike.append(det.score_one({"k": k, "n": n})); det.learn_one({"k": k, "n": n})
>>> max(spike) > 0.875
True
"""

from __future__ import annotations

import math

from river.base import AnomalyDetector

from stream.alerts.detectors._ew import ew, learn, squash, value

__all__ = ["RateSpike"]


class RateSpike(AnomalyDetector):
    """Binomial CUSUM against a learnt baseline rate; see the module docstring.

    Parameters
    ----------
    alpha
        Weight of a new bucket in the baseline.
    ratio
        The spike to detect: the rate times ``ratio`` (plus ``floor`` so a
        near-zero baseline still needs a real rise).
    floor
        Absolute rise added to the alternative rate, and lower bound of the baseline.
    cap, warmup, memory
        As in :class:`~stream.alerts.detectors.seasonal.SeasonalCusum` (the
        sum forgets a little each bucket, so quiet hours bring it down).
    """

    def __init__(self, alpha: float = 0.02, ratio: float = 2.0, floor: float = 0.02, cap: float = 8.0, warmup: int = 96, memory: float = 0.95) -> None:
        self.alpha = alpha
        self.ratio = ratio
        self.floor = floor
        self.cap = cap
        self.warmup = warmup
        self.memory = memory
        self.n = 0
        self.ek = None
        self.en = None
        self.s = 0.0

    def baseline(self) -> float | None:
        if self.en is None or value(self.en) <= 0:
            return None
        return min(max(value(self.ek) / value(self.en), self.floor / 4), 0.9)

    def _p1(self, p0: float) -> float:
        return min(p0 * self.ratio + self.floor, 0.95)

    def _llr(self, k: float, n: float, p0: float) -> float:
        p1 = self._p1(p0)
        return k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))

    def explain_one(self, x: dict) -> dict:
        k, n = float(x["k"]), float(x["n"])
        p0 = self.baseline()
        obs = k / n if n > 0 else None
        if p0 is None or n <= 0:
            return {"observed": obs, "expected": p0, "z": 0.0, "score": 0.0}
        return self._explain(k, n, p0, self._sum(k, n, p0))

    def _sum(self, k: float, n: float, p0: float) -> float:
        """The sum after a bucket of ``k`` in ``n`` against the baseline ``p0`` (capped)."""
        return min(self.cap, max(0.0, self.memory * self.s + self._llr(k, n, p0)))

    def _explain(self, k: float, n: float, p0: float, s: float) -> dict:
        z = (k - n * p0) / math.sqrt(n * p0 * (1 - p0))
        return {"observed": k / n, "expected": p0, "z": z, "score": squash(s) if self.n >= self.warmup else 0.0}

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``: the same, with the baseline and the sum
        (which learning needs too, from the same state) worked out once."""
        k, n = float(x["k"]), float(x["n"])
        p0 = self.baseline()
        if p0 is None or n <= 0:
            e = {"observed": k / n if n > 0 else None, "expected": p0, "z": 0.0, "score": 0.0}
            self.learn_one(x)
            return e
        s = self._sum(k, n, p0)
        e = self._explain(k, n, p0, s)
        self._learn(k, n, p0, s)
        return e

    def score_one(self, x: dict) -> float:
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        k, n = float(x["k"]), float(x["n"])
        if n <= 0:
            return
        p0 = self.baseline()
        if p0 is None:
            self.ek, self.en = ew(self.alpha, k), ew(self.alpha, n)
            self.n = 1
            return
        self._learn(k, n, p0, self._sum(k, n, p0) if self.n >= self.warmup else self.s)

    def _learn(self, k: float, n: float, p0: float, s: float) -> None:
        """Learn a bucket of ``k`` in ``n`` (n > 0), given the baseline ``p0`` and ``_sum`` before anything is learnt."""
        if self.n >= self.warmup:
            self.s = s
        learn(self.ek, min(k, n * self._p1(p0)), self.n)
        learn(self.en, n, self.n)
        self.n += 1

    def to_dict(self) -> dict:
        return {
            "params": {k: getattr(self, k) for k in ("alpha", "ratio", "floor", "cap", "warmup", "memory")},
            "n": self.n, "ek": value(self.ek), "en": value(self.en), "s": self.s,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "RateSpike":
        det = cls(**d["params"])
        det.n = d["n"]
        det.ek = None if d["ek"] is None else ew(det.alpha, d["ek"])
        det.en = None if d["en"] is None else ew(det.alpha, d["en"])
        det.s = d["s"]
        return det
