"""EnsembleLikelihood: three online scorers, each judged against its own history, the rarest one speaking, once.

What makes NAB's leaders score: the reward is largest for the *earliest*
detection inside an anomaly window, and every flagged point outside one costs.
So a detector should see a change by more than one symptom, say so at the
first sign, and then stay quiet while the change lasts. Three scorers, one
symptom each:

* **miss** — :class:`~.likelihood.SeasonalLikelihood`'s score: this point
  against its calendar profile (spikes, a broken daily pattern);
* **sustained miss** — the mean ``|z|`` of the last ``short`` points against
  the same profile (a shift or a new noise level, each point unremarkable);
* **novelty** — :class:`~.novelty.WindowNovelty`: the latest downsampled
  window against every window seen before (a new shape: denser spikes, a
  flat stretch, a new rhythm).

Each is calibrated by a :class:`~.tail.TailRank` of its own past values, so
all three speak the same unit (how rare, for this series); the combined score
is the largest. Then a **refractory period**: the score is given only when it
is a new high over the last ``refractory`` points (else 0), so a lasting
anomaly fires once, at its start, at whatever threshold is chosen; a bigger
one later still fires. ``probation`` is NAB's probationary period (the
points a detector is given to learn before it is judged, at most 750); it
sets the novelty's time scale and the refractory period (half of it).

Nothing here looks ahead or at labels: each point is scored, then learnt.

>>> import math, random
>>> rng = random.Random(11)
>>> t0 = 1_400_000_000
>>> det = EnsembleLikelihood(probation=600)
>>> scores = []
>>> for i in range(4000):                       # two weeks of 5-minute points
...     t = t0 + 300 * i
...     y = 10 + 5 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 0.5)
...     if i >= 3500:
...         y += 4                                # a lasting shift on day 13
...     scores.append(det.score_one({"t": t, "y": y}))
...     det.learn_one({"t": t, "y": y})
>>> hot = [i for i in range(600, 4000) if scores[i] >= 0.9996]
>>> hot[0], all(i < 3510 for i in hot)      # after probation: at the shift's first point, then quiet
(3500, True)
>>> EnsembleLikelihood.from_dict(det.to_dict()).to_dict() == det.to_dict()
True
"""

from __future__ import annotations

import math
from collections import deque

from river.base import AnomalyDetector

from stream.alerts.detectors.likelihood import SeasonalLikelihood
from stream.alerts.detectors.novelty import WindowNovelty
from stream.alerts.detectors.tail import TailRank

__all__ = ["EnsembleLikelihood"]

_PARTS = ("miss", "sustained", "novelty")


class EnsembleLikelihood(AnomalyDetector):
    """Calibrated max of three scorers with a refractory period; see the module docstring.

    Parameters
    ----------
    probation
        NAB's probationary period (points learnt before being judged); default
        750, NAB's cap.
    tz
        The calendar's zone (the profile's).
    short
        Points in the sustained miss.
    zmax
        A point's ``|z|`` counts at most this much in the sustained miss.
    """

    def __init__(self, probation: int = 750, tz: str = "UTC", short: int = 10, zmax: float = 8.0) -> None:
        self.probation = probation
        self.tz = tz
        self.short = short
        self.zmax = zmax
        self.refractory = max(1, probation // 2)
        self.seasonal = SeasonalLikelihood(tz=tz, warmup=min(probation, 288))
        self.novelty = WindowNovelty(probation=probation)
        self.cal = {k: TailRank() for k in _PARTS}
        self.recent_z: deque = deque(maxlen=short)
        self.peaks: deque = deque()  # (i, combined score): decreasing scores of the last `refractory` points
        self.i = 0

    def _parts(self, x: dict) -> tuple[dict, dict]:
        """(raw part scores, explanation of the profile miss) of ``x``; learns nothing."""
        e = self.seasonal.explain_one(x)
        az = min(abs(e["z"]), self.zmax)
        zs = list(self.recent_z)[1:] + [az] if len(self.recent_z) == self.short else list(self.recent_z) + [az]
        raw = {"miss": e["score"], "sustained": sum(zs) / len(zs), "novelty": self.novelty.score_one(x)}
        return raw, e

    def _peak(self) -> float:
        while self.peaks and self.peaks[0][0] <= self.i - self.refractory:
            self.peaks.popleft()
        return self.peaks[0][1] if self.peaks else 0.0

    def explain_one(self, x: dict) -> dict:
        """Observed, expected, z, each part's calibrated score, the combined score, and the score given."""
        raw, e = self._parts(x)
        parts = {k: self.cal[k].score(v) for k, v in raw.items()}
        combined = max(parts.values())
        return {"observed": e["observed"], "expected": e["expected"], "z": e["z"], "parts": parts,
                "combined": combined, "score": combined if combined > self._peak() else 0.0}

    def score_one(self, x: dict) -> float:
        """The anomaly score of ``x`` in [0, 1); learns nothing."""
        return self.explain_one(x)["score"]

    def learn_one(self, x: dict) -> None:
        raw, e = self._parts(x)
        combined = max(self.cal[k].score(v) for k, v in raw.items())
        self._peak()
        while self.peaks and self.peaks[-1][1] <= combined:
            self.peaks.pop()
        self.peaks.append((self.i, combined))
        self.i += 1
        for k, v in raw.items():
            if k != "miss" or self.seasonal.ready:  # its zeros of warm-up are no history of misses
                self.cal[k].learn(v)
        self.recent_z.append(min(abs(e["z"]), self.zmax))
        self.seasonal.learn_one(x)
        self.novelty.learn_one(x)

    def to_dict(self) -> dict:
        """The whole state as plain JSON."""
        return {
            "params": {"probation": self.probation, "tz": self.tz, "short": self.short, "zmax": self.zmax},
            "seasonal": self.seasonal.to_dict(), "novelty": self.novelty.to_dict(),
            "cal": {k: c.to_dict() for k, c in self.cal.items()},
            "recent_z": list(self.recent_z), "peaks": [list(p) for p in self.peaks], "i": self.i,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "EnsembleLikelihood":
        det = cls(**d["params"])
        det.seasonal = SeasonalLikelihood.from_dict(d["seasonal"])
        det.novelty = WindowNovelty.from_dict(d["novelty"])
        det.cal = {k: TailRank.from_dict(c) for k, c in d["cal"].items()}
        det.recent_z.extend(d["recent_z"])
        det.peaks.extend(tuple(p) for p in d["peaks"])
        det.i = d["i"]
        return det
