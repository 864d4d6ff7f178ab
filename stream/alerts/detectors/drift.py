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

**Time of day** (``tz`` given, the engine's way): handle times have a daily
shape (long calls at night, short at the morning rush), and a slow baseline
would call that shape a drift twice a day. So each ``slot_s`` slot of the
local day also keeps its own mean (EW, weight ``season_alpha`` a visit,
a plain mean while young, learnt from clipped residuals); once a slot has
been seen ``min_visits`` times (buckets with input) its mean is the
expectation, before that the global baseline is. Inputs then carry ``t``
(epoch seconds of the bucket's start); without ``t`` the global baseline is
used.

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

With a time of day, a daily shape is not a drift (without, it is one twice a day):

>>> def aht(t):
...     return 240.0 if (t // 3600) % 24 < 6 else 160.0   # long calls at night
>>> def alerting(det):
...     hot = 0
...     for i in range(288 * 5):
...         t = 1_700_000_000 + 300 * i
...         x = {"t": t, "y": aht(t) * sum(rng.lognormvariate(0, 0.3) for _ in range(20)) / 20 / 1.046, "n": 20}
...         hot += det.explain_learn_one(x)["score"] > 0.875 and i >= 288 * 2
...     return hot
>>> alerting(DriftCusum(warmup=288)) > 100, alerting(DriftCusum(warmup=288, tz="UTC")) < 10
(True, True)

**One side, and the level** (the engine's way: ``sides="up"``, ``gain``):
calls getting shorter is not what a floor is paged for, and a two-sided sum
pages for both; the score is ``squash(gain · S)``, so the alert level
(0.875: ``gain · S = 7``) sits at ``7 / gain`` nats of evidence — the level
``bench surge`` sets for at most one false alarm a week. The explanation
says which slot's usual the figure is held against:

>>> def run(det, factor):
...     for i in range(288 * 3):
...         t = 1_700_006_400 + 300 * i
...         f = factor if i >= 288 * 3 - 6 else 1.0      # the last 30 minutes
...         e = det.explain_learn_one({"t": t, "y": f * 180 * sum(rng.lognormvariate(0, 0.3) for _ in range(20)) / 20 / 1.046, "n": 20})
...     return e
>>> both, up = run(DriftCusum(warmup=288, tz="UTC", rel_shift=0.5), 0.4), run(DriftCusum(warmup=288, tz="UTC", rel_shift=0.5, sides="up"), 0.4)
>>> both["score"] > 0.875, up["score"]           # calls at 40 % of the usual: paged only two-sided
(True, 0.0)
>>> e = run(DriftCusum(warmup=288, tz="UTC", rel_shift=0.5, sides="up", slot_s=3600), 1.6)
>>> e["score"] > 0.875, e["slot"], e["observed"] > 1.4 * e["expected"]    # against the usual for 23:00 (UTC)
(True, '23:00', True)
"""

from __future__ import annotations

import math
from typing import Optional

from river.base import AnomalyDetector

from stream.alerts.detectors._calendar import day_slot, slot_label
from stream.alerts.detectors._ew import ew, learn, squash, value
from stream.alerts.detectors._onset import onset_ms, step as run_step

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
    rel_shift
        Or (if set) the drift to detect as a fraction of the expectation
        (0.5: handle times up or down by half), in each bucket's own
        standard errors: a bucket of 40 calls then weighs more than one of 5,
        as the likelihood ratio says.
    clip, cap, warmup
        As in :class:`~stream.alerts.detectors.seasonal.SeasonalCusum`.
    zmax
        A bucket adds at most the evidence of a ``zmax`` residual (long tails).
    tz, slot_s, season_alpha, min_visits
        The time-of-day baseline (None: none): the zone, the slot width, a
        visit's weight in its slot's mean, and the visits before a slot's mean is used.
    sides
        ``"both"`` (drifts up or down) or ``"up"`` (handle times getting longer only).
    gain
        The score is ``squash(gain · S)``: the alert level 0.875 at ``S = 7 / gain``.
    max_step
        A bucket adds at most this much evidence (None: no limit): with many calls a bucket,
        the mean of long-tailed times is skewed, and one bucket alone should not make a drift.
    """

    def __init__(self, alpha: float = 0.01, scale_alpha: float = 0.02, shift: float = 1.0, clip: float = 3.0, cap: float = 8.0, warmup: int = 288, zmax: float = 4.0,
                 tz: Optional[str] = None, slot_s: int = 1800, season_alpha: float = 0.1, min_visits: int = 3,
                 rel_shift: Optional[float] = None, sides: str = "both", gain: float = 1.0, max_step: Optional[float] = None) -> None:
        if sides not in ("both", "up"):
            raise ValueError("sides must be 'both' or 'up'")
        self.sides = sides
        self.gain = gain
        self.max_step = max_step
        self.alpha = alpha
        self.rel_shift = rel_shift
        self.scale_alpha = scale_alpha
        self.shift = shift
        self.clip = clip
        self.cap = cap
        self.warmup = warmup
        self.zmax = zmax
        self.tz = tz
        self.slot_s = slot_s
        self.season_alpha = season_alpha
        self.min_visits = min_visits
        self.slots: dict[str, list] = {}  # slot of the day -> [mean, visits]
        self.n = 0
        self.base = None
        self.var = None  # per-item variance
        self.s_up = 0.0
        self.s_down = 0.0
        self.run_up: Optional[list] = None  # each sum's run, [since, low] (_onset)
        self.run_down: Optional[list] = None

    def _slot(self, x: dict) -> Optional[str]:
        return None if self.tz is None or x.get("t") is None else str(day_slot(float(x["t"]), self.tz, self.slot_s))

    def _expected(self, slot: Optional[str]) -> float:
        """The slot's mean once it has ``min_visits``, else the global baseline."""
        got = self.slots.get(slot) if slot is not None else None
        return got[0] if got is not None and got[1] >= self.min_visits else value(self.base)

    def _z(self, y: float, n: float, slot: Optional[str] = None) -> tuple[float, float, float]:
        """(z, per-item σ, the drift to detect in this bucket's standard errors)."""
        b = self._expected(slot)
        sigma = math.sqrt(max(value(self.var) or 0.0, (0.01 * abs(b)) ** 2, 1e-12))
        se = sigma / math.sqrt(n)
        return (y - b) / se, sigma, (self.rel_shift * abs(b) / se if self.rel_shift else self.shift)

    def _sums(self, z: float, d: float) -> tuple[float, float]:
        # Handle times are long-tailed: one 40-minute call in a quiet bucket
        # must not count as twenty ordinary buckets of evidence.
        z = max(-self.zmax, min(self.zmax, z))
        k = d / 2
        step = self.max_step if self.max_step is not None else math.inf
        up = min(self.cap, max(0.0, self.s_up + min(step, d * (z - k))))
        down = min(self.cap, max(0.0, self.s_down + min(step, d * (-z - k)))) if self.sides == "both" else 0.0
        return up, down

    def explain_one(self, x: dict) -> dict:
        y, n = float(x["y"]), float(x.get("n", 1))
        if self.base is None or n <= 0:
            return {"observed": y, "expected": value(self.base), "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
        slot = self._slot(x)
        z, _, d = self._z(y, n, slot)
        return self._explain(y, z, self._sums(z, d), slot, x.get("t"))

    def _explain(self, y: float, z: float, sums: tuple[float, float], slot: Optional[str] = None, t: Optional[float] = None) -> dict:
        warm = self.n >= self.warmup
        score = squash(self.gain * max(sums)) if warm else 0.0
        up = sums[0] >= sums[1]
        since = ((onset_ms(self.run_up, self.s_up, sums[0], float(t)) if up else onset_ms(self.run_down, self.s_down, sums[1], float(t)))
                 if warm and t is not None else None)
        return {"observed": y, "expected": self._expected(slot), "z": z, "score": score, "slot": self._label(slot), "onset_ms": since}

    def _label(self, slot: Optional[str]) -> Optional[str]:
        """The slot the expectation is the usual of (``'10:00'``), None while the global baseline stands in."""
        got = self.slots.get(slot) if slot is not None else None
        return slot_label(int(slot), self.slot_s) if got is not None and got[1] >= self.min_visits else None

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``: the same, with the residual and the sums
        (which learning needs too, from the same state) worked out once."""
        y, n = float(x["y"]), float(x.get("n", 1))
        if self.base is None or n <= 0:
            e = {"observed": y, "expected": value(self.base), "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
            self.learn_one(x)
            return e
        slot = self._slot(x)
        z, sigma, d = self._z(y, n, slot)
        sums = self._sums(z, d)
        e = self._explain(y, z, sums, slot, x.get("t"))
        self._learn(y, n, z, sigma, sums, slot, x.get("t"))
        return e

    def score_one(self, x: dict) -> float:
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        y, n = float(x["y"]), float(x.get("n", 1))
        if n <= 0:
            return
        slot = self._slot(x)
        if self.base is None:
            self.base = ew(self.alpha, y)
            self.n = 1
            if slot is not None:
                self.slots[slot] = [y, 1]
            return
        z, sigma, d = self._z(y, n, slot)
        self._learn(y, n, z, sigma, self._sums(z, d) if self.n >= self.warmup else (0.0, 0.0), slot, x.get("t"))

    def _learn(self, y: float, n: float, z: float, sigma: float, sums: tuple[float, float], slot: Optional[str] = None,
               t: Optional[float] = None) -> None:
        """Learn the bucket ``y`` of ``n`` items (starting at ``t``), given ``_z`` and ``_sums`` of it before anything is learnt."""
        if self.n >= self.warmup:
            if t is not None:
                self.run_up = run_step(self.run_up, self.s_up, sums[0], float(t))
                self.run_down = run_step(self.run_down, self.s_down, sums[1], float(t))
            self.s_up, self.s_down = sums
        se = sigma / math.sqrt(n)
        b = self._expected(slot)
        zc = max(-self.clip, min(self.clip, z))
        r = zc * se
        g = value(self.base)
        learn(self.base, g + max(-self.clip * se, min(self.clip * se, y - g)), self.n)
        if slot is not None:
            got = self.slots.get(slot)
            if got is None:
                self.slots[slot] = [g + max(-self.clip * se, min(self.clip * se, y - g)), 1]
            else:
                m = got[0] + max(-self.clip * se, min(self.clip * se, y - got[0]))
                got[0] += max(self.season_alpha, 1.0 / (got[1] + 1)) * (m - got[0])
                got[1] += 1
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
            "params": {k: getattr(self, k) for k in ("alpha", "scale_alpha", "shift", "clip", "cap", "warmup", "zmax", "tz", "slot_s", "season_alpha", "min_visits", "rel_shift", "sides", "gain", "max_step")},
            "n": self.n, "base": value(self.base), "var": value(self.var), "s_up": self.s_up, "s_down": self.s_down,
            "run_up": self.run_up, "run_down": self.run_down,
            "slots": {k: list(v) for k, v in self.slots.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "DriftCusum":
        det = cls(**d["params"])
        det.n = d["n"]
        det.base = None if d["base"] is None else ew(det.alpha, d["base"])
        det.var = None if d["var"] is None else ew(det.scale_alpha, d["var"])
        det.s_up, det.s_down = d["s_up"], d["s_down"]
        det.run_up, det.run_down = d.get("run_up"), d.get("run_down")  # absent from older checkpoints
        det.slots = {k: list(v) for k, v in d.get("slots", {}).items()}
        return det
