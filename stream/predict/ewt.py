"""EWT: floorwatch's predicted wait, with a low-high band, from what the floor knows now.

Ibrahim & Whitt's queue-length predictor refined for abandonment (their QL-m):
a contact with ``n`` ahead leaves the queue after ``n + 1`` departures from
it; while ``k`` are still ahead, departures come at ``r + k theta`` (``r`` the
queue's service rate, ``theta`` the patience rate: each one ahead may give up),
so

    E[W | n ahead] = sum_{k=0..n} 1 / (r + k theta)

and, the stages being exponential, Var = sum 1 / (r + k theta)^2; the band is
the 10th and 90th percentiles of the gamma law with that mean and variance.
``r = s mu``, ``mu`` the inverse of the last hour's AHT and ``s`` the agents
taking the queue's contacts. Where agents take several queues (skills, a
hall's counters that serve VIP and business tickets first), the agents on
duty for a queue overstate what it gets and those handling its contacts now
understate it: ``s`` is the geometric mean of the two (equal to both on a
queue of its own). Agents ready now (whichever their primary skill, if they
can take the queue) take the first contacts ahead at once: with ``a`` ready
and ``n`` ahead, the arrival waits for ``n - a + 1`` departures, and the
contacts handled count those ``a``; with an agent ready for everyone ahead, the
wait is 0.
That is the queueing model (``EWT(model_only=True)``, tested against M/M/c
and M/M/c+M). The prediction floorwatch publishes blends it, by weights fitted
(least squares) on data ``bench ewt`` does not score (February 1-14 and
busy-day seeds 11-13; docs/predict.md), with the head-of-line contact's wait
so far (HOL, Ibrahim & Whitt's third predictor: a queue starved by counters
serving other tickets first shows it there, which no queue length does) and,
where the floor reports no agent states (a log like the Anonymous Bank's:
only the contacts being handled are known), with LES:

    agent states known:  0.782 QL-m + 0.255 HOL
    no agent states:     0.237 LES + 0.126 QL-m + 0.677 HOL

The variants that lost are measured in docs/predict.md (``bench ewt``).

>>> from stream.predict.view import QueueView
>>> v = QueueView(now=0, waiting=[(-5_000, 0)] * 3, serving=[(-60_000, -50_000)] * 4, agents=(0, 4, 0),
...               aht_s=240.0, answered_15m=15, answered_60m=60, abandoned_60m=0, answered_wait_60m_s=600.0)
>>> p = EWT(model_only=True).predict(v, ahead=3)
>>> p.wait_s, p.low_s < p.wait_s < p.high_s, p.ahead
(240.0, True, 3)
>>> round(EWT().predict(v, ahead=3).wait_s, 1)   # 0.782 * 240 + 0.255 * 5
189.0
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

from stream.predict.view import QueueView

__all__ = ["EWT", "Prediction", "gamma_band"]

# The blends' weights, fitted on the training split of bench ewt (docs/predict.md).
KNOWN_AGENTS = (0.782, 0.255)  # QL-m, HOL
NO_AGENT_STATES = (0.237, 0.126, 0.677)  # LES, QL-m, HOL
# The band: 10th and 90th percentiles (z of the standard normal).
_Z_LOW, _Z_HIGH = -1.2815515655446004, 1.2815515655446004


class Prediction(NamedTuple):
    """A predicted wait (s) with its band and the contacts ahead."""

    wait_s: float
    low_s: float
    high_s: float
    ahead: int


def gamma_band(mean: float, var: float) -> tuple[float, float]:
    """The 10th and 90th percentiles of the gamma law of ``mean`` and ``var`` (Wilson-Hilferty).

    >>> lo, hi = gamma_band(100.0, 100.0 ** 2)   # an exponential of mean 100 (exactly 10.5 and 230.3)
    >>> round(lo), round(hi)
    (10, 228)
    """
    if mean <= 0.0 or var <= 0.0:
        return mean, mean
    k = mean * mean / var
    c = 1.0 / (9.0 * k)

    def q(z: float) -> float:
        return mean * max(0.0, 1.0 - c + z * math.sqrt(c)) ** 3

    return q(_Z_LOW), q(_Z_HIGH)


class EWT:
    """Expected wait time of a contact with ``ahead`` contacts before it, from a ``QueueView``."""

    def __init__(self, model_only: bool = False) -> None:
        # model_only: the queueing model alone (QL-m), without the fitted blend.
        self.model_only = model_only
        self.name = "QL-m" if model_only else "EWT"

    def predict(self, view: QueueView, ahead: int) -> Prediction:
        """The wait (s) of a contact with ``ahead`` before it, as it arrives (or from now, when waiting)."""
        ready = view.ready()
        if ready is not None and ready > ahead:
            return Prediction(0.0, 0.0, 0.0, ahead)
        les = view.last_started_wait_s()
        if not view.aht_s:
            # No handle time seen in the last hour: the last wait to enter service is all there is; with
            # nobody handled either, the blend's head-of-line term (a head that has waited half an hour
            # is not a wait of 0: busy-day seed 2's VIP tickets behind it waited 18 minutes more).
            w = les
            if w is None:
                w_hol = NO_AGENT_STATES[2] if view.agents is None else KNOWN_AGENTS[1]
                w = 0.0 if self.model_only else w_hol * view.head_wait_s()
            return Prediction(w, w, w, ahead)
        # The agents ready now take the first contacts ahead at once (whatever their primary skill:
        # they can take this queue): the arrival waits for the departures the rest need, and those
        # contacts join the ones being handled.
        taking = view.taking(ahead)
        servers = view.servers()
        handling = min(len(view.serving) + taking, servers)
        r = math.sqrt(servers * max(handling, 1)) / view.aht_s
        theta = view.patience_rate()
        mean = var = 0.0
        for k in range(ahead - taking + 1):
            d = 1.0 / (r + k * theta)
            mean += d
            var += d * d
        if not self.model_only:
            hol = view.head_wait_s()
            if view.agents is None:
                w_les, w_qlm, w_hol = NO_AGENT_STATES
                mean = w_les * (les or 0.0) + w_qlm * mean + w_hol * hol
            else:
                w_qlm, w_hol = KNOWN_AGENTS
                mean = w_qlm * mean + w_hol * hol
        lo, hi = gamma_band(mean, var)
        return Prediction(mean, lo, hi, ahead)

    def positions(self, view: QueueView, limit: Optional[int] = None) -> list[Prediction]:
        """Each waiting contact's predicted remaining wait, in the order served (the i-th has i ahead),
        the first ``limit`` of them (all when None)."""
        n = len(view.waiting) if limit is None else min(limit, len(view.waiting))
        return [self.predict(view, i) for i in range(n)]
