"""Since when a CUSUM has been gathering evidence: the start an anomaly's explanation gives ("since 10:15").

A CUSUM's estimate of when a change began is the bucket after its sum was
last at its lowest (the maximum-likelihood change time for a step change:
the evidence since then, ``S_now − S_low``, is the largest). The live sums
forget a little each bucket and never quite reach zero on a sparse queue,
so a run is tracked as ``[since, low]``: it starts with the first bucket
that leaves the sum above ``QUIET`` nats, ends when the sum is back under
it, and moves its start to the next bucket whenever the sum falls to a new
low within the run (a slow morning's evidence does not date an afternoon's
surge).

>>> run, prev = None, 0.0
>>> for t, s in [(0, 0.0), (300, 0.3), (600, 2.0), (900, 6.0), (1200, 0.2), (1500, 1.0), (1800, 0.8), (2100, 5.0)]:
...     run, prev = step(run, prev, s, t), s
...     print(t, since(run))
0 None
300 None
600 600
900 600
1200 None
1500 1500
1800 1500
2100 2100
"""

from __future__ import annotations

from typing import Optional

__all__ = ["QUIET", "step", "since", "onset_ms"]

# Nats: the scores squash S to S / (1 + S), so half a nat scores 0.33, far
# under any raise level; below it the sum is the remains of noise.
QUIET = 0.5


def step(run: Optional[list], s_prev: float, s: float, t: float) -> Optional[list]:
    """The run ``[since, low]`` once the bucket starting at ``t`` has taken the sum from ``s_prev``
    to ``s`` (None: no run). A new list when it changes: a caller may hold the old one."""
    if s <= QUIET:
        return None
    if run is None:
        return [t, s]
    if s_prev < run[1]:
        return [t, s_prev]  # the sum was at a new low just before this bucket: the change starts here
    return run


def since(run: Optional[list]) -> Optional[float]:
    """The run's start, epoch seconds (None: no run)."""
    return None if run is None else run[0]


def onset_ms(run: Optional[list], s_prev: float, s: float, t: float) -> Optional[int]:
    """The start of the run ``step`` would give, in epoch milliseconds (what an explanation carries)."""
    got = since(step(run, s_prev, s, t))
    return None if got is None else int(round(got * 1000))
