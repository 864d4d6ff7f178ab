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

The kept sum is capped at ``cap`` (so a long surge clears soon after it
ends); the score is this step's uncapped sum, squashed to [0, 1) as ``1 − exp(−S)``. No score before ``warmup`` observations.

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
>>> max(steady[864:]) < 0.875                  # quiet on the steady stream
True
>>> t = t0 + 300 * 288 * 7 + 10 * 3600         # 10:00 next day: +150 % for 30 min
>>> surge = []
>>> for i in range(6):
...     x = {"t": t + 300 * i, "y": poisson(2.5 * rate(t))}
...     surge.append(det.score_one(x))
...     det.learn_one(x)
>>> max(surge) > 0.875
True
>>> e = det.explain_one({"t": t + 1800, "y": 9})
>>> sorted(e)
['expected', 'observed', 'onset_ms', 'score', 'slot', 'z']
>>> e["slot"]                                  # the expectation is the daily 10:30 slot's (weekly after 2 weeks)
'10:30'
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Literal, Optional
from zoneinfo import ZoneInfo

from river.base import AnomalyDetector

from stream.alerts.detectors._ew import ew, learn, squash, value
from stream.alerts.detectors._onset import onset_ms, step as run_step

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
        The change to detect: arrivals ``1 + shift`` times the usual (``count``; default a
        doubling, the size of a network outage's surge) or ``shift`` scales (``value``).
    clip
        Residuals are clipped at this many scales before they are learnt.
    cap
        Upper bound of the CUSUM (so it clears soon after the anomaly ends).
    warmup
        Observations learnt before any score is given.
    min_week
        Weeks a day-of-week slot must have seen before it replaces the daily one.
    zmax
        ``value`` kind: a residual counts at most this many scales in the sum.
    memory
        How much of the sum carries over to the next point (1: a plain CUSUM;
        default 0.95 for counts, so a quiet night brings it down, and 1 for values).
    reset
        Restart the sums at 0 once they reach ``cap`` (one burst of score per
        change, for scoring series offline); live alerts keep them capped
        instead, so an alert holds while the surge lasts.
    calibrate, cal_alpha
        Score the sum against the series' own long-run distribution of
        ``log(1 + sum)`` (EW mean and variance, weight ``cal_alpha``) rather
        than as is: for scoring many unrelated series with one threshold.
    """

    def __init__(
        self,
        kind: Literal["count", "value"] = "count",
        slot_s: int = 1800,
        tz: str = "UTC",
        level_alpha: Optional[float] = None,
        season_alpha: float = 0.1,
        scale_alpha: float = 0.02,
        shift: float = 1.0,
        clip: float = 3.0,
        cap: float = 8.0,
        warmup: int = 864,
        min_week: int = 2,
        zmax: float = 8.0,
        memory: Optional[float] = None,
        reset: bool = False,
        calibrate: bool = False,
        cal_alpha: float = 0.001,
    ) -> None:
        if kind not in ("count", "value"):
            raise ValueError("kind is 'count' or 'value'")
        self.kind = kind
        self.slot_s = slot_s
        self.tz = tz
        # Counts follow their calendar: a level would chase Poisson noise at
        # night (and absorb surges); a generic series needs one for its drifts.
        self.level_alpha = level_alpha if level_alpha is not None else (0.0 if kind == "count" else 0.1)
        self.season_alpha = season_alpha
        self.scale_alpha = scale_alpha
        self.shift = shift
        self.clip = clip
        self.cap = cap
        self.warmup = warmup
        self.min_week = min_week
        self.zmax = zmax
        # Counts forget a little each bucket: at night (expected ≈ 0) a Poisson
        # CUSUM would otherwise never come down and an alert never resolve.
        self.memory = memory if memory is not None else (0.95 if kind == "count" else 1.0)
        self.reset = reset
        self.calibrate = calibrate
        self.cal_alpha = cal_alpha
        self.cal_m = None  # long-run mean of log(1 + sum), for calibrate
        self.cal_m2 = None
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
        self.rscale = None  # value: mean absolute residual from the recent level
        self.s_up = 0.0
        self.s_down = 0.0
        self.run_up: Optional[list] = None  # each sum's run, [since, low] (_onset)
        self.run_down: Optional[list] = None

    # -- the model ------------------------------------------------------------

    def _slots(self, t: float) -> tuple[int, str, int]:
        """(slot of the day, weekly slot key, day ordinal) of ``t`` in the zone (see _SLOTS)."""
        key = (self._zone, self.slot_s, t)
        hit = _SLOTS.get(key)
        if hit is None:
            d = datetime.fromtimestamp(t, self._zone)
            slot = (d.hour * 3600 + d.minute * 60 + d.second) // self.slot_s
            hit = (slot, f"{d.weekday()}:{slot}", d.toordinal())
            if len(_SLOTS) >= 64:
                _SLOTS.clear()
            _SLOTS[key] = hit
        return hit

    def _season(self, slot: int, wk: str) -> float:
        if self.week_n.get(wk, 0) >= self.min_week:
            return value(self.week[wk])
        if slot in self.day:
            return value(self.day[slot])
        return value(self.mean) or 0.0

    def _views(self, slot: int, wk: str) -> list[tuple[float, float]]:
        """(expected, scale) of each view: the calendar's and, if kept, the recent level's."""
        mu = self._season(slot, wk)
        if self.kind == "count":
            mu = max(mu, 0.0)
            phi = max(value(self.scale) or 1.0, 1.0)
            return [(mu, math.sqrt(max(mu, 0.25) * phi))]
        floor = 1e-6 * (abs(mu) + 1.0)  # a flat series still needs a scale
        views = [(mu, max(1.25 * (value(self.scale) or 0.0), floor))]
        if self.level_alpha > 0 and self.level is not None:
            lv = value(self.level)
            views.append((lv, max(1.25 * (value(self.rscale) or 0.0), 1e-6 * (abs(lv) + 1.0))))
        return views

    def _assess(self, y: float, views: list[tuple[float, float]]) -> tuple[float, float, float, float]:
        """(expected, z, new upward sum, new downward sum) for an observation ``y``, given the ``_views`` of its slot.

        With two views, the one that explains ``y`` better is used: an anomaly
        is what neither the calendar nor the recent level explains.
        """
        mu, sd = views[0] if len(views) == 1 else min(views, key=lambda v: abs(y - v[0]) / v[1])
        z = (y - mu) / sd
        if self.kind == "count":
            phi = max(value(self.scale) or 1.0, 1.0)
            llr = (y * math.log1p(self.shift) - max(mu, 0.05) * self.shift) / phi
            return mu, z, max(0.0, self.memory * self.s_up + llr), 0.0
        d = self.shift
        # One point adds at most what a `zmax`-scale residual would: a series
        # with a near-zero scale must not make one blip worth a thousand.
        zc = max(-self.zmax, min(self.zmax, z))
        up = max(0.0, self.memory * self.s_up + d * zc - d * d / 2)
        down = max(0.0, self.memory * self.s_down - d * zc - d * d / 2)
        return mu, z, up, down

    # -- river's protocol -----------------------------------------------------

    def explain_one(self, x: dict) -> dict:
        """What the model expected for ``x``, the standardised residual and the score."""
        y = float(x["y"])
        slot, wk, _ = self._slots(float(x["t"]))
        if self.mean is None:
            return {"observed": y, "expected": None, "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
        return {**self._explain(y, self._assess(y, self._views(slot, wk)), float(x["t"])), "slot": self._slot_label(slot, wk)}

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``: the same, with the calendar slot and the
        assessment (which learning needs too, from the same state) worked out once."""
        y = float(x["y"])
        slot, wk, day = self._slots(float(x["t"]))
        if self.mean is None:
            self._learn(y, slot, wk, day, [], None)
            return {"observed": y, "expected": None, "z": 0.0, "score": 0.0, "slot": None, "onset_ms": None}
        views = self._views(slot, wk)
        assessed = self._assess(y, views)
        t = float(x["t"])
        e = self._explain(y, assessed, t)
        e["slot"] = self._slot_label(slot, wk)
        self._learn(y, slot, wk, day, views, assessed, t)
        return e

    def _slot_label(self, slot: int, wk: str) -> str:
        """The calendar slot the expectation comes from, local time: ``'Tue 10:00'`` (weekly slot) or ``'10:00'`` (daily)."""
        m = slot * self.slot_s // 60
        hhmm = f"{m // 60:02d}:{m % 60:02d}"
        if self.week_n.get(wk, 0) >= self.min_week:
            return f"{_DAYS[int(wk.split(':', 1)[0])]} {hhmm}"
        return hhmm

    def _explain(self, y: float, assessed: tuple[float, float, float, float], t: Optional[float] = None) -> dict:
        mu, z, up, down = assessed
        since = None
        if self.n < self.warmup:
            score = 0.0
        else:
            score = squash(self._surprise(max(up, down))) if self.calibrate else squash(max(up, down))
            if t is not None:
                since = onset_ms(self.run_up, self.s_up, up, t) if up >= down else onset_ms(self.run_down, self.s_down, down, t)
        return {"observed": y, "expected": mu, "z": z, "score": score, "onset_ms": since}

    def _surprise(self, s: float) -> float:
        """How unusual the sum ``s`` is for *this* series: standard deviations of
        log(1 + s) above its own long-run mean (0 if not above).

        Model misfit differs from series to series (a square wave, a noisy
        sensor); measuring the evidence against the series' own history makes
        one threshold mean the same everywhere.
        """
        if self.cal_m is None or self.n - self.warmup < _CAL_MIN:
            return 0.0  # too little history to say what is unusual for this series
        m, m2 = value(self.cal_m), value(self.cal_m2)
        sd = math.sqrt(max(m2 - m * m, 1e-4))
        return max(0.0, (math.log1p(s) - m) / sd)

    def score_one(self, x: dict) -> float:
        """The anomaly score of ``x`` in [0, 1) (0 during warm-up); learns nothing."""
        return self.explain_one(x)["score"]

    def _clipped(self, y: float, mu: float, sd: float) -> float:
        # No clipping during warm-up: a young scale is too small to clip with,
        # and would stay small for ever.
        if self.n < self.warmup:
            return y
        return mu + max(-self.clip * sd, min(self.clip * sd, y - mu))

    def learn_one(self, x: dict) -> None:
        y = float(x["y"])
        slot, wk, day = self._slots(float(x["t"]))
        if self.mean is None:
            self._learn(y, slot, wk, day, [], None)
        else:
            views = self._views(slot, wk)
            self._learn(y, slot, wk, day, views, self._assess(y, views), float(x["t"]))

    def _learn(self, y: float, slot: int, wk: str, day: int, views: list[tuple[float, float]],
               assessed: Optional[tuple[float, float, float, float]], t: Optional[float] = None) -> None:
        """Learn ``y`` (of ``slot``, ``wk``, ``day``, the bucket starting at ``t``) given the slot's ``_views``
        and ``_assess`` of it before anything is learnt (none yet for the first value)."""
        if assessed is None:
            self.mean = ew(_MEAN_ALPHA, y)
            self.day[slot] = ew(self.season_alpha, y)
            self.week[wk] = ew(self.season_alpha, y)
            self.week_day[wk], self.week_n[wk] = day, 1
            self.visits = {str(slot): 1, wk: 1}
            if self.level_alpha > 0:
                self.level = ew(self.level_alpha, y)
            self.n = 1
            return
        _, _, up, down = assessed
        if self.n >= self.warmup:
            # The sums are kept capped (so an alert clears soon after the
            # anomaly ends); the score uses this step's uncapped sum, so a
            # huge spike still ranks above a mild one.
            s_up, s_down = self.s_up, self.s_down
            if self.reset and max(up, down) >= self.cap:
                # Restart after an alarm (classical CUSUM): the next alarm
                # needs new evidence, so one change is one short burst.
                self.s_up = self.s_down = 0.0
            else:
                self.s_up, self.s_down = min(up, self.cap), min(down, self.cap)
            if t is not None:
                self.run_up, self.run_down = run_step(self.run_up, s_up, self.s_up, t), run_step(self.run_down, s_down, self.s_down, t)
            if self.calibrate:
                v = math.log1p(max(up, down))
                if self.cal_m is None:
                    self.cal_m, self.cal_m2 = ew(self.cal_alpha, v), ew(self.cal_alpha, v * v)
                else:
                    learn(self.cal_m, v, self.n - self.warmup)
                    learn(self.cal_m2, v * v, self.n - self.warmup)
        # The views are the slot's before the sums moved: the sums are no part of them.
        # The calendar view: each slot learns the (clipped) value itself.
        mu, sd = views[0]
        yc = self._clipped(y, mu, sd)
        learn(self.mean, yc, self.n)
        if slot in self.day:
            learn(self.day[slot], yc, self.visits.get(str(slot), 1))
        else:
            self.day[slot] = ew(self.season_alpha, yc)
        if wk in self.week:
            learn(self.week[wk], yc, self.visits.get(wk, 1))
        else:
            self.week[wk] = ew(self.season_alpha, yc)
        self.visits[str(slot)] = self.visits.get(str(slot), 0) + 1
        self.visits[wk] = self.visits.get(wk, 0) + 1
        # The weekly slot counts the weeks (distinct days) it has seen, not its buckets.
        if self.week_day.get(wk) != day:
            self.week_day[wk] = day
            self.week_n[wk] = self.week_n.get(wk, 0) + 1
        r = yc - mu
        obs = r * r / max(mu, 0.25) if self.kind == "count" else abs(r)
        if self.scale is None:
            self.scale = ew(self.scale_alpha, obs if self.kind == "value" else max(obs, 1.0))
        else:
            learn(self.scale, obs, self.n - 1)
        # The recent view (value kind): a level and its own scale.
        if self.level is not None:
            lmu, lsd = views[1] if len(views) > 1 else (value(self.level), 0.0)
            lyc = self._clipped(y, lmu, lsd) if lsd > 0 else y
            rr = abs(lyc - lmu)
            self.level.update(lyc)
            if self.rscale is None:
                self.rscale = ew(self.scale_alpha, rr)
            else:
                learn(self.rscale, rr, self.n - 1)
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
            "rscale": value(self.rscale),
            "cal_m": value(self.cal_m),
            "cal_m2": value(self.cal_m2),
            "s_up": self.s_up,
            "s_down": self.s_down,
            "run_up": self.run_up,
            "run_down": self.run_down,
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
        det.rscale = None if d["rscale"] is None else ew(det.scale_alpha, d["rscale"])
        det.cal_m = None if d["cal_m"] is None else ew(det.cal_alpha, d["cal_m"])
        det.cal_m2 = None if d["cal_m2"] is None else ew(det.cal_alpha, d["cal_m2"])
        det.s_up, det.s_down = d["s_up"], d["s_down"]
        det.run_up, det.run_down = d.get("run_up"), d.get("run_down")  # absent from older checkpoints
        return det


# Weekday names in explanations (datetime.weekday() order; messages translate them).
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Points of history the calibration needs before it scores.
_CAL_MIN = 100

# (zone, slot width, time) -> its slots, for the latest few times asked: the
# engine asks for the same bucket once per queue of a site, and a local time
# in a zone (datetime.fromtimestamp) costs more than the rest of a step.
_SLOTS: dict[tuple, tuple[int, str, int]] = {}

# The overall mean stands in for slots not seen yet.
_MEAN_ALPHA = 0.01

_PARAMS = ("kind", "slot_s", "tz", "level_alpha", "season_alpha", "scale_alpha", "shift", "clip", "cap", "warmup", "min_week", "zmax", "memory", "reset", "calibrate", "cal_alpha")
