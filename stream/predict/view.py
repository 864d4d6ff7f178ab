"""What a wait predictor knows of one queue at one moment, read from a site's fold.

A ``QueueView`` holds only what the fold knew at ``now`` (its event clock): the
contacts waiting (since when, which class), the ones being handled (since when),
the agents on the queue by state, and the last hour's handle times, answers and
abandons. ``site_views`` builds one per queue from any ``SiteFold``.

>>> v = QueueView(now=600_000, waiting=[(590_000, 0)], serving=[(500_000, 540_000)],
...               agents=(0, 1, 0), aht_s=120.0, answered_15m=7, answered_60m=30,
...               abandoned_60m=3, answered_wait_60m_s=900.0)
>>> v.ahead_of(0), v.servers(), v.patience_rate() > 0
(1, 1, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from stream.fold.interface import AgentNow, QueueNow, SiteFold

__all__ = ["QueueView", "site_views", "snapshot_views", "SLIDING"]

# The windows read (minutes): throughput over 15, handle times and abandons over 60.
SLIDING = (15, 60)
_ON_DUTY = ("ready", "busy", "wrap_up")


@dataclass(frozen=True)
class QueueView:
    """One queue at ``now`` (epoch ms), as its site's fold had it."""

    now: int
    # (offered ms, class) of each waiting contact, in the order served (class first, then offered).
    waiting: Sequence[tuple[int, int]]
    # (offered ms, answered ms) of each contact being handled.
    serving: Sequence[tuple[int, int]]
    # Agents that take this queue, (ready, busy, wrap_up); None when none has a known state
    # (a log without agent states, like the Anonymous Bank's).
    agents: Optional[tuple[int, int, int]]
    # Mean handle time of the contacts whose handling ended in the last 60 minutes (None: none).
    aht_s: Optional[float]
    answered_15m: int
    answered_60m: int
    abandoned_60m: int  # short abandons left out (metrics.md)
    answered_wait_60m_s: float  # the waits of those answered in the last 60 minutes, summed

    def ahead_of(self, cls: int) -> int:
        """Contacts a new arrival of class ``cls`` finds ahead of it (same class or higher)."""
        return sum(1 for _, c in self.waiting if c >= cls)

    def servers(self) -> int:
        """Agents working the queue: logged-in ones not on a break where states are known, at least
        those handling its contacts; 1 when nothing is known."""
        n = len(self.serving)
        if self.agents is not None:
            n = max(n, self.agents[0] + self.agents[1] + self.agents[2])
        return max(n, 1)

    def ready(self) -> Optional[int]:
        """Agents ready now (None: unknown)."""
        return None if self.agents is None else self.agents[0]

    def taking(self, ahead: int) -> int:
        """Of the ``ahead`` contacts before an arrival, those a ready agent takes at once: one per
        agent ready now that can take the queue (its own or another primary skill), at most ``ahead``;
        0 where agent states are unknown."""
        return min(self.agents[0], ahead) if self.agents is not None else 0

    def patience_rate(self) -> float:
        """Abandons per second of waiting (exponential patience's rate, 1/s), over the last hour.

        The fold keeps the waits of answered contacts, not of abandoned ones: those are taken
        at the answered ones' mean (the hour's waiting time, answered plus abandoned, is the
        divisor). 0 with no abandons.
        """
        ab = self.abandoned_60m
        if ab == 0:
            return 0.0
        mean = self.answered_wait_60m_s / self.answered_60m if self.answered_60m else 0.0
        total = self.answered_wait_60m_s + ab * mean
        return ab / max(total, 60.0)

    def head_wait_s(self) -> float:
        """How long the contact first in the order served has waited so far (0 with none waiting)."""
        return (self.now - self.waiting[0][0]) / 1000.0 if self.waiting else 0.0

    def last_started_wait_s(self) -> Optional[float]:
        """The wait of the last contact to enter service among those still being handled."""
        if not self.serving:
            return None
        off, ans = self.serving[-1]
        return (ans - off) / 1000.0


def _agents_by_queue(rows: Mapping[str, AgentNow]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for r in rows.values():
        st = r["state"]
        if st not in _ON_DUTY:
            if st == "logged_out":
                continue
            for q in r["queues"]:
                out.setdefault(q, [0, 0, 0])
            continue
        k = _ON_DUTY.index(st)
        for q in r["queues"]:
            out.setdefault(q, [0, 0, 0])[k] += 1
    return out


def site_views(sc: SiteFold, now: int, sliding: Optional[dict] = None) -> dict[str, QueueView]:
    """One ``QueueView`` per queue of the site at ``now`` (its clock). ``sliding`` lets a caller pass
    ``sc.sliding(t, SLIDING, False)`` read at an earlier ``t`` (a replay reads it once a minute)."""
    legs = sc.queue_now()
    if sliding is None:
        sliding = sc.sliding(now, SLIDING, False)
    m15, m60 = sliding["15m"], sliding["60m"]
    agents = _agents_by_queue(sc.agent_states(now))
    out: dict[str, QueueView] = {}
    for q in sorted(set(legs) | set(m60) | set(agents) | sc.queues_seen):
        row = legs.get(q) or {"waiting": [], "serving": []}
        h = m60.get(q)
        a = agents.get(q)
        out[q] = QueueView(
            now=now,
            waiting=row["waiting"],
            serving=row["serving"],
            agents=None if a is None else (a[0], a[1], a[2]),
            aht_s=h.handle_sum / h.handled / 1000.0 if h is not None and h.handled else None,
            answered_15m=m15[q].answered if q in m15 else 0,
            answered_60m=h.answered if h is not None else 0,
            abandoned_60m=h.abandoned - h.short_abandoned if h is not None else 0,
            answered_wait_60m_s=h.wait_sum / 1000.0 if h is not None else 0.0,
        )
    return out


def snapshot_views(snap: Mapping, legs: Mapping[str, QueueNow]) -> dict[str, QueueView]:
    """The same views from a site's snapshot (``Floor.snapshot``: its clock, agents per queue and
    15/60-minute windows) and its fold's ``queue_now``: what the worker has at publish time,
    so predicting adds no scan of the hour's contacts."""
    now = int(snap.get("clock") or 0)
    out: dict[str, QueueView] = {}
    for q, row in snap.get("queues", {}).items():
        m15 = row["sliding"]["15m"]
        m60 = row["sliding"]["60m"]
        a = row["agents"]
        lg = legs.get(q) or {"waiting": [], "serving": []}
        answered = m60["answered"]
        out[q] = QueueView(
            now=now,
            waiting=lg["waiting"],
            serving=lg["serving"],
            agents=(a["ready"], a["busy"], a["wrap_up"]) if a["logged_in"] else None,
            aht_s=m60["aht_s"],
            answered_15m=m15["answered"],
            answered_60m=answered,
            abandoned_60m=m60["abandoned"] - m60["short_abandoned"],
            answered_wait_60m_s=(m60["asa_s"] or 0.0) * answered,
        )
    return out
