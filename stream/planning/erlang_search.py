"""Erlang C's inner loops, compiled: the Erlang B recursion and the search for the least agents.

``stream.planning.staffing`` checks its arguments and calls these. They are
plain typed Python that mypyc compiles (setup.py's ``COMPILED``): the live
staffing advice solves each queue's need every minute of the site's clock
(the ``understaffed`` alert rule reads it, on a replay or a rebuilt
partition too), and the recursion over every agent up to the answer is most
of a solve. Each step is the interpreted arithmetic's, in the same order on
the same IEEE doubles, so compiled or not they give the same figures and the
same agents (docs/measurements.md has the cost).

>>> round(blocking(14, 10.0), 6), least_agents(10.0, 180.0, 20.0, 0.8, None)
(0.056819, 14)
"""

from __future__ import annotations

import math
from typing import Optional

__all__ = ["MAX_AGENTS", "blocking", "least_agents"]

# No real floor staffs more than this many agents on one queue; past it the
# goal is unreachable (e.g. goal 1 - 1e-300).
MAX_AGENTS = 1_000_000


def blocking(n: int, a: float) -> float:
    """Erlang B for ``n`` servers and ``a`` Erlangs: ``B(k) = A·B(k−1)/(k + A·B(k−1))`` from ``B(0) = 1``."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def least_agents(a: float, aht_s: float, target_s: float, sl_goal: float, max_occupancy: Optional[float]) -> int:
    """The least ``N > A`` with ``SL(T) ≥ sl_goal`` (and ``A/N ≤ max_occupancy`` when given); 0 when none up to
    ``MAX_AGENTS``. Pw once per N with the B recursion carried forward: O(N) in all."""
    n = max(1, math.floor(a) + 1)
    if max_occupancy is not None:
        # Smallest N with A/N ≤ cap; the loop below re-checks to absorb rounding.
        n = max(n, math.ceil(a / max_occupancy))
    b = blocking(n, a)
    while n <= MAX_AGENTS:
        if n > a and (max_occupancy is None or a / n <= max_occupancy):
            pw = n * b / (n - a * (1.0 - b))
            sl = 1.0 - pw * math.exp(-(n - a) * target_s / aht_s)
            if sl >= sl_goal:
                return n
        n += 1
        b = a * b / (n + a * b)
    return 0
