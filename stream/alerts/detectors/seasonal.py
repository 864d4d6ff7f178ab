"""SeasonalCusum: a series against its learnt time-of-day / day-of-week profile.

The expectation is additive, like Holt-Winters but on calendar slots rather
than a fixed number of steps (so gaps and irregular sampling are fine)::

    expected = season[day-of-week, slot] + level

where the season is the weekly slot's mean once it has seen ``min_week``
weeks, else the daily slot's (time of day), and ``level`` follows changes
the season has not caught up with. All are river ``EWMean``s; the seasons
learn the value net of the level, the level the value net of the season
(additive Holt-Winters). Updates use
the residual clipped at ``clip`` scales, so a surge barely teaches the profile
that surges are normal (Huber-style robust learning), while a lasting change
is still absorbed, slowly.

The score accumulates evidence with a CUSUM of log-likelihood ratios, because
a surge worth telling a floor manager about (+50 % for half an hour) is too
small to see in one 5-minute bucket of a few calls, and obvious over several:

* ``kind="count"`` (arrivals): Poisson, one-sided. A step adds
  ``(y·ln(1+shift) − expected·shift) / φ`` where φ ≥ 1 is the learnt
  over-dispersion (variance ÷ mean of the residuals).
* ``kind="value"`` (any series, e.g. NAB): Gaussian on the residual over a
  robust scale (1.25 × mean absolute residual), two-sided, shift in scale units.

The sum is capped at ``cap`` (so a long surge clears soon after it ends) and
squashed to [0, 1) as ``1 − exp(−S)``. No score before ``warmup`` observations.

>>> import random
>>> rng = random.Random(1)
>>> det = SeasonalCusum(kind="count", warmup=864)
>>> t0 = 1_700_006_400                        # a Wednesday, 00:00 UTC
>>> def rate(t):                               # busier by day than by night
...     return 6.0 if (t // 3600) % 24 in range(8, 20) else 1.0
>>> def poisson(lam):
...     n, p, L = 0, 1.0, 2.718281828 ** -lam
...     while True:
...         p *= rng.random()
...         if p < L:
...             return n
...         n += 1
>>> steady = []
>>> for i in range(288 * 7):                  # a week of 5-minute buckets
...     x = {"t": t0 + 300 * i, "y": poisson(rate(t0 + 300 * i))}
...     steady.append(det.score_one(x))
...     det.learn_one(x)
>>> max(steady[864:]) < 0.999                  # quiet on the steady stream
True
>>> t = t0 + 300 * 288 * 7 + 10 * 3600         # 10:00 next day: +150 % for 30 min
>>> surge = []
>>> for i in range(6):
...     x = {"t": t + 300 * i, "y": poisson(2.5 * rate(t))}
...     surge.append(det.score_one(x))
...     det.learn_one(x)
>>> max(surge) > 0.999
True
>>> e = det.explain_one({"t": t + 1800, "y": 9})
>>> sorted(e)
['expected', 'observed', 'score', 'z']
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Literal, Optional
from zoneinfo import ZoneInfo

from river.base import AnomalyDetector

from stream.alerts.detectors._ew import ew, learn, squash, value

__all__ = ["SeasonalCusum"]


class SeasonalCusum(AnomalyDetector):
    """Seasonal profile + robust scale + CUSUM of likelihood ratios; see the module docstring.

    Parameters
    ----------
    kind
        ``"count"`` (Poisson residuals, upward only) or ``"value"`` (robust
        Gaussian residuals, both ways).
    slot_s
        Width of a time-of-day slot in seconds (30 min by default).
    tz
        Time zone for the calendar (a site's zone; NAB files are UTC).
    level_alpha, season_alpha, scale_alpha
        Weight of a new observation in the level (default 0 for counts, 0.05
        for values), in a slot's season (per visit of that slot) and in the scale.
    shift
        The change to detect: +50 % arrivals (``count``) or shift scales (``value``).
    clip
        Residuals are clipped at this many scales before they are learnt.
    cap
        Upper bound of the CUSUM (so it clears soon after the anomaly ends).
    warmup
        Observations learnt before any score is given.
    min_week
        Weeks a day-of-week slot must have seen before it replaces the daily one.
    """

    def __init__(
        self,
        kind: Literal["count", "value"] = "count",
        slot_s: int = 1800,
        tz: str = "UTC",
        level_alpha: Optional[float] = None,
        season_alpha: float = 0.1,
        scale_alpha: float = 0.02,
        shift: float = 0.5,
        clip: float = 3.0,
        cap: float = 10.0,
        warmup: int = 864,
        min_week: int = 2,
    ) -> None:
        if kind not in ("count", "value"):
            raise ValueError("kind is 'count' or 'value'")
        self.kind = kind
        self.slot_s = slot_s
        self.tz = tz
        # Counts follow their calendar: a level would chase Poisson noise at
        # night (and absorb surges); a generic series needs one for its drifts.
        self.level_alpha = level_alpha if level_alpha is not None else (0.0 if kind == "count" else 0.05)
        self.season_alpha = season_alpha
        self.scale_alpha = scale_alpha
        self.shift = shift
        self.clip = clip
        self.cap = cap
        self.warmup = warmup
        self.min_week = min_week
        self._zone = timezone.utc if tz == "UTC" else ZoneInfo(tz)
        self.n = 0
        self.level = None
        self.mean = None
        self.day: dict = {}
        self.week: dict = {}
        self.week_n: dict = {}
        self.week_day: dict = {}
        self.visits: dict = {}  # buckets seen per daily ("slot") and weekly ("dow:slot") slot
        self.scale = None  # count: dispersion φ; value: mean absolute residual
        self.s_up = 0.0
        self.s_down = 0.0

    # -- the model ------------------------------------------------------------

    def _slots(self, t: float) -> tuple[int, str, int]:
        d = datetime.fromtimestamp(t, self._zone)
        slot = (d.hour * 3600 + d.minute * 60 + d.second) // self.slot_s
        return slot, f"{d.weekday()}:{slot}", d.toordinal()

    def _season(self, slot: int, wk: str) -> float:
        if self.week_n.get(wk, 0) >= self.min_week:
            return value(self.week[wk])
        if slot in self.day:
            return value(self.day[slot])
        return value(self.mean) or 0.0

    def _expected(self, slot: int, wk: str) -> float:
        mu = self._season(slot, wk) + (value(self.level) or 0.0)
        return max(mu, 0.0) if self.kind == "count" else mu

    def _sd(self, mu: float) -> float:
        if self.kind == "count":
            phi = max(value(self.scale) or 1.0, 1.0)
            return math.sqrt(max(mu, 0.25) * phi)
        mad = value(self.scale) or 0.0
        # A flat series still needs a scale: a tiny fraction of its level.
        return max(1.25 * mad, 1e-6 * (abs(value(self.level) or 0.0) + 1.0))

    def _step(self, y: float, mu: float) -> tuple[float, float, float]:
        """(z, new upward sum, new downward sum) for an observation ``y``."""
        sd = self._sd(mu)
        z = (y - mu) / sd
        if self.kind == "count":
            phi = max(value(self.scale) or 1.0, 1.0)
            llr = (y * math.log1p(self.shift) - max(mu, 0.05) * self.shift) / phi
            return z, min(self.cap, max(0.0, self.s_up + llr)), 0.0
        d = self.shift
        up = min(self.cap, max(0.0, self.s_up + d * z - d * d / 2))
        down = min(self.cap, max(0.0, self.s_down - d * z - d * d / 2))
        return z, up, down

    # -- river's protocol -----------------------------------------------------

    def explain_one(self, x: dict) -> dict:
        """What the model expected for ``x``, the standardised residual and the score."""
        y = float(x["y"])
        slot, wk, _ = self._slots(float(x["t"]))
        if self.level is None:
            return {"observed": y, "expected": None, "z": 0.0, "score": 0.0}
        mu = self._expected(slot, wk)
        z, up, down = self._step(y, mu)
        score = squash(max(up, down)) if self.n >= self.warmup else 0.0
        return {"observed": y, "expected": mu, "z": z, "score": score}

    def score_one(self, x: dict) -> float:
        """The anomaly score of ``x`` in [0, 1) (0 during warm-up); learns nothing."""
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        y = float(x["y"])
        slot, wk, day = self._slots(float(x["t"]))
        if self.level is None:
            self.level = ew(self.level_alpha, 0.0)
            self.mean = ew(_MEAN_ALPHA, y)
            self.day[slot] = ew(self.season_alpha, y)
            self.week[wk] = ew(self.season_alpha, y)
            self.week_day[wk], self.week_n[wk] = day, 1
            self.visits = {str(slot): 1, wk: 1}
            self.n = 1
            return
        mu = self._expected(slot, wk)
        z, up, down = self._step(y, mu)
        if self.n >= self.warmup:
            self.s_up, self.s_down = up, down
        sd = self._sd(mu)
        # No clipping during warm-up: a young scale is too small to clip with,
        # and would stay small for ever.
        r = y - mu if self.n < self.warmup else max(-self.clip * sd, min(self.clip * sd, y - mu))
        yc = mu + r
        # Additive Holt-Winters on calendar slots: the seasons learn the
        # (clipped) value net of the level, the level the value net of the season.
        lvl = value(self.level)
        season = self._season(slot, wk)
        target = yc - lvl
        learn(self.mean, target, self.n)
        if slot in self.day:
            learn(self.day[slot], target, self.visits.get(str(slot), 1))
        else:
            self.day[slot] = ew(self.season_alpha, target)
        if wk in self.week:
            learn(self.week[wk], target, self.visits.get(wk, 1))
        else:
            self.week[wk] = ew(self.season_alpha, target)
        self.visits[str(slot)] = self.visits.get(str(slot), 0) + 1
        self.visits[wk] = self.visits.get(wk, 0) + 1
        self.level.update(yc - season)
        if self.kind == "count":
            obs = r * r / max(mu, 0.25)
        else:
            obs = abs(r)
        if self.scale is None:
            self.scale = ew(self.scale_alpha, obs if self.kind == "value" else max(obs, 1.0))
        else:
            learn(self.scale, obs, self.n - 1)
        self.n += 1

    # -- state ----------------------------------------------------------------

    def to_dict(self) -> dict:
        """The whole state as plain JSON (a restarted worker resumes from it)."""
        return {
            "params": {k: getattr(self, k) for k in _PARAMS},
            "n": self.n,
            "level": value(self.level),
            "mean": value(self.mean),
            "day": {str(k): value(v) for k, v in self.day.items()},
            "week": {k: value(v) for k, v in self.week.items()},
            "week_n": dict(self.week_n),
            "week_day": dict(self.week_day),
            "visits": dict(self.visits),
            "scale": value(self.scale),
            "s_up": self.s_up,
            "s_down": self.s_down,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SeasonalCusum":
        det = cls(**d["params"])
        det.n = d["n"]
        det.level = None if d["level"] is None else ew(det.level_alpha, d["level"])
        det.mean = None if d["mean"] is None else ew(_MEAN_ALPHA, d["mean"])
        det.day = {int(k): ew(det.season_alpha, v) for k, v in d["day"].items()}
        det.week = {k: ew(det.season_alpha, v) for k, v in d["week"].items()}
        det.week_n = dict(d["week_n"])
        det.week_day = dict(d["week_day"])
        det.visits = dict(d["visits"])
        det.scale = None if d["scale"] is None else ew(det.scale_alpha, d["scale"])
        det.s_up, det.s_down = d["s_up"], d["s_down"]
        return det


# The overall mean stands in for slots not seen yet.
_MEAN_ALPHA = 0.01

_PARAMS = ("kind", "slot_s", "tz", "level_alpha", "season_alpha", "scale_alpha", "shift", "clip", "cap", "warmup", "min_week")
