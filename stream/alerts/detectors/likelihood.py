"""SeasonalLikelihood: how unusual a point's miss of its calendar profile is, for *this* series.

Two stages, as in Numenta's HTM detector (a prediction error, then its
"anomaly likelihood"), with a calendar profile as the predictor:

1. **Expectation.** The point's calendar slot: the day-of-week × 30-minute
   slot once it has seen ``min_week`` weeks, the time-of-day slot before,
   each an exponentially weighted mean learnt from residuals clipped at 3
   scales (the profile of :class:`~.seasonal.SeasonalCusum`, ``value`` kind,
   without its recent level: a level would explain an anomaly away as soon as
   it starts). The miss is ``|z|``, the residual over a robust scale
   (1.25 × mean absolute residual), capped at ``zmax``.
2. **Likelihood.** ``|z|`` is judged against the series' own history of
   misses: its long-run mean and standard deviation (EW, weight
   ``1/window``, about HTM's 8,640-point history), so
   ``surprise = (|z| − mean) / sd``; the score is ``surprise / (1 +
   surprise)`` (0 when not above the mean). A noisy sensor that misses its
   profile all the time and a square wave that never does are judged on the
   same scale: one threshold fits both.

Scores are 0 for the first ``warmup`` points and until the history has 100
points. Online: each point is scored before it is learnt; the state is a
few hundred floats (JSON, ``to_dict`` / ``from_dict``).

>>> import math, random
>>> rng = random.Random(7)
>>> det = SeasonalLikelihood()
>>> t0 = 1_400_000_000
>>> scores = []
>>> for i in range(288 * 10):                     # ten days of 5-minute points
...     t = t0 + 300 * i
...     y = 50 + 20 * math.sin(2 * math.pi * t / 86_400) + rng.gauss(0, 2)
...     if i == 288 * 9:
...         y += 30                                 # one spike on day 10
...     scores.append(det.score_one({"t": t, "y": y}))
...     det.learn_one({"t": t, "y": y})
>>> scores.index(max(scores)) == 288 * 9
True
>>> max(scores[:288 * 9]) < scores[288 * 9]
True
>>> sorted(det.explain_one({"t": t0 + 300 * 2880, "y": 80.0}))
['expected', 'observed', 'score', 'surprise', 'usual_z', 'z']
>>> SeasonalLikelihood.from_dict(det.to_dict()).to_dict() == det.to_dict()
True
"""

from __future__ import annotations

import math
from typing import Optional

from river.base import AnomalyDetector

from stream.alerts.detectors._ew import ew, learn, value
from stream.alerts.detectors.seasonal import SeasonalCusum

__all__ = ["SeasonalLikelihood"]

# Points of the miss history needed before any score (as SeasonalCusum's calibration).
_HIST_MIN = 100


class SeasonalLikelihood(AnomalyDetector):
    """Calendar-profile miss, scored against the series' own history of misses; see the module docstring.

    Parameters
    ----------
    tz, slot_s, season_alpha, min_week, clip
        The calendar profile's (see :class:`~.seasonal.SeasonalCusum`).
    zmax
        A miss counts at most this many scales (one wild point must not
        stretch the history's spread for ever).
    window
        Points of history the likelihood weighs (EW weight ``1/window``).
    warmup
        Points learnt before any score (a day of 5-minute points).
    """

    def __init__(self, tz: str = "UTC", slot_s: int = 1800, season_alpha: float = 0.1, min_week: int = 2,
                 clip: float = 3.0, zmax: float = 8.0, window: int = 8640, warmup: int = 288) -> None:
        self.tz = tz
        self.slot_s = slot_s
        self.season_alpha = season_alpha
        self.min_week = min_week
        self.clip = clip
        self.zmax = zmax
        self.window = window
        self.warmup = warmup
        self.profile = SeasonalCusum(kind="value", tz=tz, slot_s=slot_s, season_alpha=season_alpha, min_week=min_week,
                                     clip=clip, level_alpha=0.0, warmup=warmup)
        self.hist_n = 0
        self.hist_m = None  # EW mean of |z|
        self.hist_m2 = None  # EW mean of z²

    def _miss(self, x: dict) -> tuple[float, Optional[float], float]:
        """(observed, expected, z) of ``x`` against the profile as it is (no learning)."""
        p = self.profile
        y = float(x["y"])
        if p.mean is None:
            return y, None, 0.0
        slot, wk, _ = p._slots(float(x["t"]))
        mu, sd = p._views(slot, wk)[0]
        return y, mu, (y - mu) / sd

    @property
    def ready(self) -> bool:
        """Past its warm-up: scores from now on can be non-zero."""
        return self.hist_n >= _HIST_MIN and self.profile.n >= self.warmup

    def _surprise(self, az: float) -> float:
        if not self.ready:
            return 0.0
        m, m2 = value(self.hist_m), value(self.hist_m2)
        sd = math.sqrt(max(m2 - m * m, 1e-12))
        return max(0.0, (az - m) / sd)

    def explain_one(self, x: dict) -> dict:
        """Observed, expected, z (signed), the usual |z| of this series, the surprise (sds above it) and the score."""
        y, mu, z = self._miss(x)
        az = min(abs(z), self.zmax)
        s = self._surprise(az)
        return {"observed": y, "expected": mu, "z": z, "usual_z": value(self.hist_m), "surprise": s, "score": s / (1.0 + s)}

    def score_one(self, x: dict) -> float:
        """The anomaly score of ``x`` in [0, 1); learns nothing."""
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        _, mu, z = self._miss(x)
        if mu is not None:
            az = min(abs(z), self.zmax)
            self.hist_n += 1
            if self.hist_m is None:
                self.hist_m, self.hist_m2 = ew(1.0 / self.window, az), ew(1.0 / self.window, az * az)
            else:
                learn(self.hist_m, az, self.hist_n - 1)
                learn(self.hist_m2, az * az, self.hist_n - 1)
        self.profile.learn_one(x)

    def explain_learn_one(self, x: dict) -> dict:
        """``explain_one(x)``, then ``learn_one(x)``."""
        e = self.explain_one(x)
        self.learn_one(x)
        return e

    def to_dict(self) -> dict:
        """The whole state as plain JSON (a restarted worker resumes from it)."""
        return {
            "params": {k: getattr(self, k) for k in _PARAMS},
            "profile": self.profile.to_dict(),
            "hist_n": self.hist_n,
            "hist_m": value(self.hist_m),
            "hist_m2": value(self.hist_m2),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SeasonalLikelihood":
        det = cls(**d["params"])
        det.profile = SeasonalCusum.from_dict(d["profile"])
        det.hist_n = d["hist_n"]
        a = 1.0 / det.window
        det.hist_m = None if d["hist_m"] is None else ew(a, d["hist_m"])
        det.hist_m2 = None if d["hist_m2"] is None else ew(a, d["hist_m2"])
        return det


_PARAMS = ("tz", "slot_s", "season_alpha", "min_week", "clip", "zmax", "window", "warmup")
