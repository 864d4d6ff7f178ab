"""WindowNovelty: how unlike every earlier stretch of the series the latest one is (ARTime's idea, by nearest neighbour).

ARTime (Hampton, the leader of the NAB scoreboard) looks at the series
through short windows of a downsampled copy and calls a window anomalous when
it fits none of the categories it has learnt. This is the same question asked
with a nearest neighbour instead of adaptive resonance:

1. **Downsample.** Blocks of ``step`` points are averaged, ``step`` chosen so
   that the probationary period holds ``windows_per_probation`` windows of
   ``width`` blocks (ARTime's 13 and 8): a window spans about a thirteenth
   of the probation, whatever the sampling rate.
2. **Normalise.** By the range seen so far (ARTime uses the whole file's,
   which is look-ahead; here the range grows as values arrive).
3. **Features.** The window's ``width`` levels and its shape (the window
   rescaled to [0, 1]), weighted ``shape_weight``.
4. **Distance.** To the nearest window learnt before (windows overlapping
   the current one excluded), over the mean of the last ``history``
   distances: a window as far from everything seen as windows usually are
   scores about 1. Memory holds ``capacity`` windows: the first half kept
   for ever (what "normal" looked like), the rest a ring of recent ones.

The score is given once per block (0 between blocks), 0 before the first
``width`` blocks and until 20 distances are known; it is a distance ratio,
not a probability: :class:`~.ensemble.EnsembleLikelihood` calibrates it.

>>> import math, random
>>> rng = random.Random(3)
>>> det = WindowNovelty(probation=600)
>>> det.step
5
>>> scores = []
>>> for i in range(3000):
...     y = math.sin(2 * math.pi * i / 288) + rng.gauss(0, 0.05)
...     if 2400 <= i < 2460:
...         y = 0.0                               # the wave stops for an hour
...     scores.append(det.score_one({"y": y}))
...     det.learn_one({"y": y})
>>> 2400 <= max(range(3000), key=scores.__getitem__) < 2500
True
>>> WindowNovelty.from_dict(det.to_dict()).to_dict() == det.to_dict()
True
"""

from __future__ import annotations

from collections import deque
from typing import Optional

import numpy as np
from river.base import AnomalyDetector

__all__ = ["WindowNovelty"]

_MIN_HIST = 20


class WindowNovelty(AnomalyDetector):
    """Nearest-neighbour distance of the latest downsampled window; see the module docstring.

    Parameters
    ----------
    probation
        Points the detector has to learn from before it is judged (NAB's
        probationary period, at most 750 points); sets the block size.
    width, windows_per_probation
        Blocks per window, and windows per probationary period (ARTime's 8 and 13).
    shape_weight
        Weight of the window's shape beside its levels.
    history
        Distances the ratio is taken to.
    capacity
        Windows remembered.
    """

    def __init__(self, probation: int = 750, width: int = 8, windows_per_probation: int = 13, shape_weight: float = 0.5,
                 history: int = 2000, capacity: int = 4000) -> None:
        self.probation = probation
        self.width = width
        self.windows_per_probation = windows_per_probation
        self.shape_weight = shape_weight
        self.history = history
        self.capacity = capacity
        self.step = max(1, probation // (width * windows_per_probation))
        self.block: list[float] = []
        self.lo: Optional[float] = None
        self.hi: Optional[float] = None
        self.levels: deque = deque(maxlen=width)
        self.pending: deque = deque()  # windows still overlapping the current one
        self.memory = np.zeros((capacity, 2 * width))
        self.stored = 0  # windows ever stored
        self.dists: deque = deque(maxlen=history)
        self._dsum = 0.0

    def _block(self, y: float) -> Optional[tuple[float, float, float]]:
        """(normalised level, lo, hi) if ``y`` completes a block, else None (no state changes)."""
        if len(self.block) + 1 < self.step:
            return None
        lo = y if self.lo is None else min(self.lo, y)
        hi = y if self.hi is None else max(self.hi, y)
        b = (sum(self.block) + y) / self.step
        return ((b - lo) / (hi - lo) if hi > lo else 0.0), lo, hi

    def _features(self, level: float) -> Optional[np.ndarray]:
        """The window ending at ``level``, or None while there are fewer than ``width`` blocks."""
        if len(self.levels) + 1 < self.width:
            return None
        win = np.array(list(self.levels)[len(self.levels) - self.width + 1:] + [level])
        shape = win - win.min()
        top = shape.max()
        if top > 0:
            shape = shape / top
        return np.concatenate([win, self.shape_weight * shape])

    def _distance(self, f: np.ndarray) -> float:
        k = min(self.stored, self.capacity)
        if k == 0:
            return 0.0
        return float(np.sqrt(((self.memory[:k] - f) ** 2).sum(axis=1)).min())

    def _ratio(self, d: float) -> float:
        if len(self.dists) < _MIN_HIST:
            return 0.0
        mean = self._dsum / len(self.dists)
        return d / mean if mean > 0 else (0.0 if d == 0 else 10.0)

    def score_one(self, x: dict) -> float:
        """The window's distance over the usual distance (0 between blocks); learns nothing."""
        got = self._block(float(x["y"]))
        f = None if got is None else self._features(got[0])
        if f is None:
            return 0.0
        return self._ratio(self._distance(f))

    def learn_one(self, x: dict) -> None:
        y = float(x["y"])
        got = self._block(y)
        self.lo = y if self.lo is None else min(self.lo, y)
        self.hi = y if self.hi is None else max(self.hi, y)
        if got is None:
            self.block.append(y)
            return
        self.block = []
        f = self._features(got[0])
        self.levels.append(got[0])
        if f is None:
            return
        d = self._distance(f)  # 0 while nothing is stored: the first windows are what "usual" starts from
        if len(self.dists) == self.dists.maxlen:
            self._dsum -= self.dists[0]
        self.dists.append(d)
        self._dsum += d
        self.pending.append(f)
        if len(self.pending) > self.width:
            self._store(self.pending.popleft())

    def _store(self, f: np.ndarray) -> None:
        half = self.capacity // 2
        i = self.stored if self.stored < self.capacity else half + (self.stored - self.capacity) % (self.capacity - half)
        self.memory[i] = f
        self.stored += 1

    def to_dict(self) -> dict:
        """The whole state as plain JSON."""
        k = min(self.stored, self.capacity)
        return {
            "params": {p: getattr(self, p) for p in _PARAMS},
            "block": list(self.block), "lo": self.lo, "hi": self.hi, "levels": list(self.levels),
            "pending": [f.tolist() for f in self.pending], "memory": self.memory[:k].tolist(),
            "stored": self.stored, "dists": list(self.dists),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "WindowNovelty":
        det = cls(**d["params"])
        det.block, det.lo, det.hi = list(d["block"]), d["lo"], d["hi"]
        det.levels.extend(d["levels"])
        det.pending.extend(np.array(f) for f in d["pending"])
        if d["memory"]:
            det.memory[: len(d["memory"])] = np.array(d["memory"])
        det.stored = d["stored"]
        det.dists.extend(d["dists"])
        det._dsum = float(sum(det.dists))
        return det


_PARAMS = ("probation", "width", "windows_per_probation", "shape_weight", "history", "capacity")
