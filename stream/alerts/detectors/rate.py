"""RateSpike: a proportion ``k / n`` (e.g. abandons / offered) rising above its baseline.

The baseline rate is the ratio of two slow river ``EWMean``s (of ``k`` and of
``n``), so busy buckets weigh more than quiet ones. Each bucket adds the
binomial log-likelihood ratio of "the rate is ``ratio`` times the baseline"
against "it is the baseline" to a one-sided CUSUM (capped), squashed to
[0, 1) as ``1 − exp(−S)``. A bucket with no contacts adds nothing. Buckets
that look like a spike are learnt as if at the spike-free rate bound
(``p1``), so a long spike does not become the new normal at once.

**Time of day** (``tz`` given, the engine's way): abandons follow the day
(the rush hours lose more callers than the evening), and against one
baseline every rush would look like a spike. So each ``slot_s`` slot of the
local day keeps its own rate too (EWs of ``k`` and ``n``, weight
``season_alpha`` a visit, plain means while young); once seen
``min_visits`` times it is the baseline, the global rate before. Inputs then
carry ``t`` (epoch seconds of the bucket's start).

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

A rush hour that always loses more callers is not a spike once the slots know it:

>>> def day(det, days):
...     hot = 0
...     for i in range(96 * days):
...         t = 1_700_006_400 + 900 * i              # 15-minute buckets from midnight UTC
...         p = 0.15 if (i % 96) // 4 in (9, 10) else 0.04
...         k = sum(rng.random() < p for _ in range(40))
...         hot += det.explain_learn_one({"t": t, "k": k, "n": 40})["score"] > 0.875 and i >= 96 * 3
...     return hot
>>> day(RateSpike(warmup=96), 10) > 5, day(RateSpike(warmup=96, tz="UTC"), 10)
(True, 0)

The explanation names the slot whose usual rate the bucket is held against
(here the engine's settings: hourly slots, the over-dispersion learnt over
about 20 buckets, the sum forgetting a fifth a bucket):

>>> det = RateSpike(warmup=96, tz="UTC", ratio=1.0, floor=0.2, dispersion=True, disp_alpha=0.05, memory=0.8, slot_s=3600, cap=14.0)
>>> _ = day(det, 8)
>>> e = det.explain_one({"t": 1_700_006_400 + 8 * 86_400 + 9 * 3600, "k": 20, "n": 40})
>>> e["slot"], round(e["expected"], 2), e["score"] > 0.875      # half the callers lost at 09:00, usually about 15 %
('09:00', 0.17, True)
"""

from __future__ import annotations

import math
from typing import Optional

from river.base import AnomalyDetector

from stream.alerts.detectors._calendar import day_slot, slot_label
from stream.alerts.detectors._ew import ew, learn, learn_ratio_slot, squash, value
from stream.alerts.detectors._onset import onset_ms, step as run_step

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
    tz, slot_s, season_alpha, min_visits
        The time-of-day baseline (None: none): the zone, the slot width, a
        visit's weight in its slot's rate, and the visits before a slot's rate is used.
    """

    def __init__(self, alpha: float = 0.02, ratio: float = 2.0, floor: float = 0.02, cap: float = 8.0, warmup: int = 96, memory: float = 0.95,
                 tz: Optional[str] = None, slot_s: int = 1800, season_alpha: float = 0.1, min_visits: int = 3,
                 dispersion: bool = False, disp_alpha: float = 0.01) -> None:
        self.alpha = alpha
        self.dispersion = dispersion
        self.disp_alpha = disp_alpha
        self.disp = None  # EW of (k − n·p0)² / (n·p0·(1 − p0)), residuals clipped at 3
        self.ratio = ratio
        self.floor = floor
        self.cap = cap
        self.warmup = warmup
        self.memory = memory
        self.tz = tz
        self.slot_s = slot_s
        self.season_alpha = season_alpha
        self.min_visits = min_visits
        self.slots: dict[str, list] = {}  # slot of the day -> [mean k, mean n, visits]
        self.n = 0
        self.ek = None
        self.en = None
        self.s = 0.0
        self.run: Optional[list] = None  # the sum's run, [since, low] (_onset)

    def _slot(self, x: dict) -> Optional[str]:
        return None if self.tz is None or x.get("t") is None else str(day_slot(float(x["t"]), self.tz, self.slot_s))

    def baseline(self, slot: Optional[str] = None) -> float | None:
        """The slot's rate once it has ``min_visits``, else the global one (None before any contact)."""
        got = self.slots.get(slot) if slot is not None else None
        if got is not None and got[2] >= self.min_visits and got[1] > 0:
            return min(max(got[0] / got[1], self.floor / 4), 0.9)
        if self.en is None or value(self.en) <= 0:
            return None
        return min(max(value(self.ek) / value(self.en), self.floor / 4), 0.9)

    def _p1(self, p0: float) -> float:
        return min(p0 * self.ratio + self.floor, 0.95)

    def _llr(self, k: float, n: float, p0: float) -> float:
        p1 = self._p1(p0)
        return (k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))) / self._phi()

    def _phi(self) -> float:
        """Over-dispersion: how much more abandons vary than coin flips would (≥ 1; 1 when not learnt)."""
        return max(1.0, value(self.disp)) if self.dispersion and self.disp is not None and self.n >= self.warmup else 1.0

    def explain_one(self, x: dict) -> dict:
        k, n = float(x["k"]), float(x["n"])
        slot = self._slot(x)
        p0 = self.baseline(slot)
        obs = k / n if n > 0 else None
        if p0 is None or n <= 0:
            return {"observed": obs, "expected": p0, "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
        return self._explain(k, n, p0, self._sum(k, n, p0), slot, x.get("t"))

    def _sum(self, k: float, n: float, p0: float) -> float:
        """The sum after a bucket of ``k`` in ``n`` against the baseline ``p0`` (capped)."""
        return min(self.cap, max(0.0, self.memory * self.s + self._llr(k, n, p0)))

    def _explain(self, k: float, n: float, p0: float, s: float, slot: Optional[str] = None, t: Optional[float] = None) -> dict:
        z = (k - n * p0) / math.sqrt(n * p0 * (1 - p0))
        got = self.slots.get(slot) if slot is not None else None
        usual = slot_label(int(slot), self.slot_s) if got is not None and got[2] >= self.min_visits and got[1] > 0 else None
        warm = self.n >= self.warmup
        since = onset_ms(self.run, self.s, s, float(t)) if warm and t is not None else None
        return {"observed": k / n, "expected": p0, "z": z, "score": squash(s) if warm else 0.0, "slot": usual, "onset_ms": since}

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``: the same, with the baseline and the sum
        (which learning needs too, from the same state) worked out once."""
        k, n = float(x["k"]), float(x["n"])
        slot = self._slot(x)
        p0 = self.baseline(slot)
        if p0 is None or n <= 0:
            e = {"observed": k / n if n > 0 else None, "expected": p0, "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
            self.learn_one(x)
            return e
        s = self._sum(k, n, p0)
        e = self._explain(k, n, p0, s, slot, x.get("t"))
        self._learn(k, n, p0, s, slot, x.get("t"))
        return e

    def score_one(self, x: dict) -> float:
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        k, n = float(x["k"]), float(x["n"])
        if n <= 0:
            return
        slot = self._slot(x)
        p0 = self.baseline(slot)
        if p0 is None:
            self.ek, self.en = ew(self.alpha, k), ew(self.alpha, n)
            self.n = 1
            if slot is not None:
                self.slots[slot] = [k, n, 1]
            return
        self._learn(k, n, p0, self._sum(k, n, p0) if self.n >= self.warmup else self.s, slot, x.get("t"))

    def _learn(self, k: float, n: float, p0: float, s: float, slot: Optional[str] = None, t: Optional[float] = None) -> None:
        """Learn a bucket of ``k`` in ``n`` (n > 0, starting at ``t``), given the baseline ``p0`` and ``_sum`` before anything is learnt."""
        if self.n >= self.warmup:
            if t is not None:
                self.run = run_step(self.run, self.s, s, float(t))
            self.s = s
        kk = min(k, n * self._p1(p0))
        if self.dispersion:
            v = n * p0 * (1 - p0)
            r = max(-3.0, min(3.0, (k - n * p0) / math.sqrt(v)))
            if self.disp is None:
                self.disp = ew(self.disp_alpha, r * r)
            else:
                learn(self.disp, r * r, self.n)
        pg = self.baseline()  # the global rate learns what is a spike by its own measure
        learn(self.ek, min(k, n * self._p1(pg)) if pg is not None else kk, self.n)
        learn(self.en, n, self.n)
        if slot is not None:
            learn_ratio_slot(self.slots, slot, kk, n, self.season_alpha)
        self.n += 1

    def to_dict(self) -> dict:
        return {
            "params": {k: getattr(self, k) for k in ("alpha", "ratio", "floor", "cap", "warmup", "memory", "tz", "slot_s", "season_alpha", "min_visits", "dispersion", "disp_alpha")},
            "n": self.n, "ek": value(self.ek), "en": value(self.en), "s": self.s, "run": self.run, "disp": value(self.disp),
            "slots": {k: list(v) for k, v in self.slots.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "RateSpike":
        det = cls(**d["params"])
        det.n = d["n"]
        det.ek = None if d["ek"] is None else ew(det.alpha, d["ek"])
        det.en = None if d["en"] is None else ew(det.alpha, d["en"])
        det.s = d["s"]
        det.run = d.get("run")  # absent from older checkpoints
        det.slots = {k: list(v) for k, v in d.get("slots", {}).items()}
        det.disp = None if d.get("disp") is None else ew(det.disp_alpha, d["disp"])
        return det
