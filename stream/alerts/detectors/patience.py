"""PatienceDrop: callers hanging up faster than usual for the wait they had (abandons the waits do not explain).

Patience is exponential (Brown et al. 2005, on the Anonymous Bank log this
project replays; ``stream.planning.calls.patience``): while a caller waits,
they hang up at a constant hazard ``h``, so a bucket's abandons are Poisson
with mean ``h × E``, the **exposure** ``E`` being the seconds waited by every
contact of the bucket, answered or abandoned. Long waits raise ``E``, and the
abandons they bring are *expected*: a crisis where nobody answers is the
service-level and abandon-rate rules' business, not an anomaly. What only
this detector tells a duty manager is that callers give up *sooner than
usual for the wait they had* — a telephony fault dropping calls, a broken
IVR or hold message.

Each bucket (``k`` abandons, ``e`` seconds of exposure) adds the Poisson
log-likelihood ratio of "the hazard is ``ratio`` times the usual, plus
``floor`` abandons per offered contact (``n``)" against "the usual" to a
one-sided CUSUM that forgets ``1 − memory`` a bucket (capped), scored
``squash(S)`` (0.875 at 7 nats). No over-dispersion divisor: the abandon
rate's over-dispersion is mostly the waits changing, which the exposure
carries (docs/alerts.md). The usual hazard is per ``slot_s`` slot of the local day
(``tz``; the sum of abandons over the sum of exposure, both EW, weight
``season_alpha`` a visit, plain means while young), once a slot has been
seen ``min_visits`` times; the global one (slow EWs) before. A bucket that
looks like a spike is learnt as at most the alternative's abandons, so a
long spike does not become the usual at once.

>>> import random
>>> rng = random.Random(4)
>>> def bucket(h, wait_mean, calls=40):
...     '''One bucket: every call waits its exponential patience or its answer, whichever is first.'''
...     k, e = 0, 0.0
...     for _ in range(calls):
...         patience, answer = rng.expovariate(h), rng.expovariate(1 / wait_mean)
...         k += patience < answer
...         e += min(patience, answer)
...     return {"k": k, "e": e, "n": calls}
>>> det = PatienceDrop(warmup=50)
>>> calm = []
>>> for _ in range(300):
...     x = bucket(1 / 300, 30)
...     calm.append(det.explain_learn_one(x)["score"])
>>> max(calm) < 0.875
True

Waits ten times as long lose many more callers, all of them explained:

>>> crisis = [det.explain_learn_one(bucket(1 / 300, 300))["score"] for _ in range(4)]
>>> max(crisis) < 0.875
True

Callers hanging up six times as fast at the usual waits is an anomaly, and
the explanation says it as a duty manager reads it (mean patience, exposure
over abandons, against the usual):

>>> for _ in range(10):
...     _ = det.explain_learn_one(bucket(1 / 300, 30))
>>> fault = [det.explain_learn_one(bucket(1 / 50, 30)) for _ in range(2)]
>>> fault[-1]["score"] > 0.875
True
>>> 20 < fault[-1]["observed"] < 120, 200 < fault[-1]["expected"] < 420
(True, True)
"""

from __future__ import annotations

import math
from typing import Optional

from river.base import AnomalyDetector

from stream.alerts.detectors._calendar import day_slot, slot_label
from stream.alerts.detectors._ew import ew, learn, learn_ratio_slot, squash, value
from stream.alerts.detectors._onset import onset_ms, step as run_step

__all__ = ["PatienceDrop"]

# The lowest usual hazard (per second of waiting), and the least exposure a bucket is weighed
# with (seconds): abandons with no wait at all would otherwise be infinitely unlikely.
_MIN_HAZARD = 1e-5
_MIN_EXPOSURE = 1.0


class PatienceDrop(AnomalyDetector):
    """Poisson CUSUM of abandons against the usual hazard × the exposure; see the module docstring.
    The defaults are the engine's (``engine.new_detector``), measured in ``bench surge``.

    Inputs: ``k`` abandons (short ones too: a fault dropping calls at once
    shows as short abandons), ``e`` exposure in seconds, ``n`` contacts (for ``floor``),
    ``t`` the bucket's start (epoch seconds; for the time of day and the onset).

    Parameters
    ----------
    ratio, floor
        The change to detect: abandons ``ratio`` × the usual hazard × the
        exposure, plus ``floor`` × ``n`` (so a near-zero usual still needs a real rise).
    alpha
        Weight of a new bucket in the global hazard.
    cap, warmup, memory
        The sum's cap, the buckets learnt before any score, the part of the
        sum kept from one bucket to the next.
    tz, slot_s, season_alpha, min_visits
        The time-of-day usual (None: none): zone, slot width, a visit's weight, visits before it is used.
    """

    # What a saved state says it is (``to_dict``): a checkpoint of the abandon-rate model that
    # ``abandon_spike`` was before is told apart and not read as this one.
    MODEL = "patience"

    def __init__(self, ratio: float = 1.0, floor: float = 0.2, alpha: float = 0.02, cap: float = 14.0, warmup: int = 96,
                 memory: float = 0.8, tz: Optional[str] = None, slot_s: int = 3600, season_alpha: float = 0.1,
                 min_visits: int = 3) -> None:
        self.ratio = ratio
        self.floor = floor
        self.alpha = alpha
        self.cap = cap
        self.warmup = warmup
        self.memory = memory
        self.tz = tz
        self.slot_s = slot_s
        self.season_alpha = season_alpha
        self.min_visits = min_visits
        self.slots: dict[str, list] = {}  # slot of the day -> [mean abandons, mean exposure s, visits]
        self.ek = None  # global EW of abandons
        self.ee = None  # global EW of exposure
        self.n = 0
        self.s = 0.0
        self.run: Optional[list] = None  # the sum's run, [since, low] (_onset)

    # -- the usual ----------------------------------------------------------------

    def _slot(self, x: dict) -> Optional[str]:
        return None if self.tz is None or x.get("t") is None else str(day_slot(float(x["t"]), self.tz, self.slot_s))

    def _slot_known(self, slot: Optional[str]) -> Optional[list]:
        got = self.slots.get(slot) if slot is not None else None
        return got if got is not None and got[2] >= self.min_visits and got[1] > 0 else None

    def hazard(self, slot: Optional[str] = None) -> Optional[float]:
        """The usual hazard (abandons per second waited) of ``slot`` once known, else the global one (None
        before any exposure). A slot's is at least a quarter of the global: a slot whose few visits lost
        nobody does not make one abandon there a page."""
        if self.ee is None or value(self.ee) <= 0:
            return None
        hg = max(value(self.ek) / value(self.ee), _MIN_HAZARD)
        got = self._slot_known(slot)
        return hg if got is None else max(got[0] / got[1], hg / 4)

    def _mu1(self, mu0: float, n: float) -> float:
        return self.ratio * mu0 + self.floor * n

    def _sum(self, k: float, mu0: float, n: float) -> float:
        mu1 = self._mu1(mu0, n)
        llr = k * math.log(mu1 / mu0) - (mu1 - mu0)
        return min(self.cap, max(0.0, self.memory * self.s + llr))

    # -- river's interface ------------------------------------------------------

    @staticmethod
    def _read(x: dict) -> tuple[float, float, float]:
        return float(x["k"]), float(x["e"]), float(x.get("n", 0.0))

    def _explain(self, x: dict, slot: Optional[str], h0: Optional[float]) -> tuple[dict, Optional[float]]:
        k, e, n = self._read(x)
        observed = e / k if k > 0 else None  # mean patience now: seconds waited per abandon
        if h0 is None:
            return {"observed": observed, "expected": None, "score": 0.0, "slot": None,
                    "abandoned": k, "expected_abandons": None, "onset_ms": None}, None
        mu0 = h0 * max(e, _MIN_EXPOSURE)
        s = self._sum(k, mu0, n)
        score = squash(s) if self.n >= self.warmup else 0.0
        onset = onset_ms(self.run, self.s, s, float(x["t"])) if x.get("t") is not None and self.n >= self.warmup else None
        usual = slot_label(int(slot), self.slot_s) if slot is not None and self._slot_known(slot) is not None else None
        return {"observed": observed, "expected": 1.0 / h0, "score": score, "slot": usual,
                "abandoned": k, "expected_abandons": mu0, "onset_ms": onset}, s

    def explain_one(self, x: dict) -> dict:
        """The bucket's figures: ``observed`` mean patience (exposure ÷ abandons, s; None without
        abandons), ``expected`` the usual (1 ÷ the usual hazard, s), ``score``, the ``slot`` whose usual
        it is, ``abandoned`` and ``expected_abandons`` (hazard × exposure), and ``onset_ms`` (the
        CUSUM's change point, ``_onset``; None while there is no run)."""
        slot = self._slot(x)
        return self._explain(x, slot, self.hazard(slot))[0]

    def score_one(self, x: dict) -> float:
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        self.explain_learn_one(x)

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``, from the same state, worked out once."""
        slot = self._slot(x)
        h0 = self.hazard(slot)
        out, s = self._explain(x, slot, h0)
        k, e, n = self._read(x)
        if self.n >= self.warmup and s is not None:
            if x.get("t") is not None:
                self.run = run_step(self.run, self.s, s, float(x["t"]))
            self.s = s
        ee = max(e, _MIN_EXPOSURE)
        kk = k if h0 is None else min(k, self._mu1(h0 * ee, n))
        hg = self.hazard()
        kg = k if hg is None else min(k, self._mu1(hg * ee, n))  # the global usual learns what is a spike by its own measure
        if self.ek is None:
            self.ek, self.ee = ew(self.alpha, kg), ew(self.alpha, e)
        else:
            learn(self.ek, kg, self.n)
            learn(self.ee, e, self.n)
        if slot is not None:
            learn_ratio_slot(self.slots, slot, kk, e, self.season_alpha)
        self.n += 1
        return out

    # -- state ------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "model": self.MODEL,
            "params": {k: getattr(self, k) for k in ("ratio", "floor", "alpha", "cap", "warmup", "memory", "tz", "slot_s",
                                                     "season_alpha", "min_visits")},
            "n": self.n, "ek": value(self.ek), "ee": value(self.ee), "s": self.s, "run": self.run,
            "slots": {k: list(v) for k, v in self.slots.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "PatienceDrop":
        det = cls(**d["params"])
        det.n, det.s, det.run = d["n"], d["s"], d.get("run")
        det.ek = None if d["ek"] is None else ew(det.alpha, d["ek"])
        det.ee = None if d["ee"] is None else ew(det.alpha, d["ee"])
        det.slots = {k: list(v) for k, v in d["slots"].items()}
        return det
