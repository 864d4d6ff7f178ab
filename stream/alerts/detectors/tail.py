"""TailRank: a score turned into "how rare is this, for this series", online, from its own recent history.

Scorers of different kinds (a profile's miss, a window's distance to every
window seen before) have nothing in common but their order; a rank puts them
on one scale, so the largest of several calibrated scores means the same on a
noisy sensor and on a square wave, and one threshold fits every series.

``score(x)`` is ``1 − p``, ``p`` the tail probability of ``x`` among the last
``window`` values learnt (a mid-rank: ``(values ≥ x + ½) / (n + 1)``). A new
*record* (above everything in the window) has no rank to read, so its tail is
extrapolated: ``p = 1 / ((max(n, floor) + 1) · r²)`` with ``r = x / max``
(at most ``rmax``), a Pareto tail of index 2 — a record by twice the previous
maximum is four times rarer than a bare one, and a record in a short history
still counts as if ``floor`` values had been seen (a first week of a series
is not less surprising for being a first week). No score (0) before
``min_n`` values. Values under ``eps`` count as 0: the scores calibrated here
are in units where 1e-9 is rounding (a distance in a [0, 1] space, a
probability), and a rounding error over a history of exact zeros is no record.

>>> cal = TailRank(window=1000, min_n=10)
>>> for v in range(1, 101):
...     cal.learn(float(v))
>>> round(cal.score(50.0), 3)          # the median: half the history is at or above it
0.49
>>> cal.score(99.0) < cal.score(100.0) < cal.score(150.0) < cal.score(300.0)
True
>>> TailRank.from_dict(cal.to_dict()).to_dict() == cal.to_dict()
True
"""

from __future__ import annotations

import bisect
from collections import deque

__all__ = ["TailRank"]


class TailRank:
    """Online tail calibration of a score; see the module docstring."""

    def __init__(self, window: int = 8000, min_n: int = 50, floor: int = 2000, rmax: float = 10.0, eps: float = 1e-9) -> None:
        self.eps = eps
        self.window = window
        self.min_n = min_n
        self.floor = floor
        self.rmax = rmax
        self._sorted: list[float] = []
        self._fifo: deque = deque()

    def score(self, x: float) -> float:
        """``1 −`` the tail probability of ``x``; 0 while the history is shorter than ``min_n``."""
        n = len(self._sorted)
        if n < self.min_n:
            return 0.0
        x = x if x >= self.eps else 0.0
        above = n - bisect.bisect_left(self._sorted, x)
        if above:
            return 1.0 - (above + 0.5) / (n + 1)
        top = self._sorted[-1]
        r = min(max(x / top, 1.0), self.rmax) if top > 0 else self.rmax
        return 1.0 - 1.0 / ((max(n, self.floor) + 1) * r * r)

    def learn(self, x: float) -> None:
        x = x if x >= self.eps else 0.0
        bisect.insort(self._sorted, x)
        self._fifo.append(x)
        if len(self._fifo) > self.window:
            old = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def to_dict(self) -> dict:
        return {"window": self.window, "min_n": self.min_n, "floor": self.floor, "rmax": self.rmax, "eps": self.eps, "values": list(self._fifo)}

    @classmethod
    def from_dict(cls, d: dict) -> "TailRank":
        cal = cls(d["window"], d["min_n"], d["floor"], d["rmax"], d.get("eps", 1e-9))
        for v in d["values"]:
            cal.learn(v)
        return cal
