"""The alert snapshot: what the rules and detectors read of a site, from the fold's live readings.

The alert driver evaluates every site every 30 s of event time. What it needs
is a small part of a full ``Floor.snapshot``: per queue the contacts waiting,
the logged-in agents by state and the last 5 and 15 minutes' figures; the
agents in a state an agent rule watches, with their time in state; a hall's
counters. All of it comes through the fold's one interface
(``stream.fold.interface.SiteFold``: ``sliding``, ``waiting``,
``agent_counts``, ``agents_in``, ``staffing``); this module only assembles
it. The rules' knowledge — which states are watched, the lowest level an
agent can raise at (``stream.alerts.rules.agent_floors``) — stays here and in
``rules.py``: the fold is asked for "agents in these states for longer than
these times", which says nothing of alerts.

``AlertViews`` asks each site once to keep those readings as it folds
(``SiteFold.keep_live``): the native core then answers from buckets and lists
it keeps, costing what changed since the last evaluation instead of a rescan
of the last hour of contacts and every agent; the specification core scans.
The figures are the same either way (tests/alerts/test_view.py holds a live
native site to the scanning specification at every boundary of a busy day).

Pure like the core: no I/O, no clock.
"""

from __future__ import annotations

from typing import Any, Collection, Optional

from stream.alerts.rules import AGENT_RULES, AgentFloors
from stream.fold.floor import Floor, _counters, _labels, _NOBODY_WAITING, _queue_names
from stream.fold.site import state_counts
from stream.fold.stats import QueueStats

__all__ = ["AlertViews", "WINDOWS_MIN", "WATCHED", "LOGGED_IN", "alert_snapshot"]

# The windows the rules and detectors read.
WINDOWS_MIN = (5, 15)
# The agent states some agent rule watches: the agents a driver's snapshot holds.
WATCHED = frozenset(AGENT_RULES)
# Every state of a logged-in agent: the agents a full alert snapshot holds.
LOGGED_IN = frozenset({"ready", "busy", "wrap_up", "not_ready"})


def alert_snapshot(
    floor: Floor, site: str, watched: Optional[Collection[str]] = None, floors: Optional[AgentFloors] = None, held: Collection[str] = ()
) -> dict:
    """The part of ``Floor.snapshot`` the alert rules and detectors read, at a fraction of its cost.

    Per queue: the waiting figures, agent counts and the 5/15-minute windows
    (their figures and ``waited_s``, the seconds their contacts waited);
    per agent: state, reason and time in state; counters. No day or interval
    totals (the expensive part: they copy and fold the day). Every logged-in
    agent, by name; ``watched``: only the agents in one of these states (all
    the engine reads of them), in no order, rows the next call may change;
    ``floors`` (with ``held``, ``AlertEngine.agent_filter``) then leaves out
    the agents the engine would skip unread (under their lowest level, no
    condition held).
    """
    sc = floor.sites.get(site) or floor.site(site)
    cfg = sc.cfg
    now = sc.clock if sc.clock is not None else 0
    sliding = sc.sliding(now, WINDOWS_MIN, percentiles=False)
    waiting = sc.waiting(now)
    counts, skills = sc.agent_counts(now)
    if watched is None:
        agents = dict(sorted(sc.agents_in(now, LOGGED_IN).items()))
    else:
        agents = sc.agents_in(now, watched, floors.ages if floors is not None else None, held)
    queues: dict[str, dict[str, Any]] = {}
    for q in _queue_names(sc, skills):
        variant = sc.qparams(q)[2]
        qc = cfg.queues.get(q)
        queues[q] = {
            "name": _labels(qc.name if qc else None, q),
            **(waiting.get(q) or _NOBODY_WAITING),
            "agents": counts.get(q) or state_counts(()),
            "sliding": {f"{m}m": _window_figures(sliding[f"{m}m"].get(q) or QueueStats(variant)) for m in WINDOWS_MIN},
        }
    snap: dict[str, Any] = {
        "site": site,
        "kind": cfg.kind,
        "timezone": cfg.timezone,
        "clock": now,
        "date": sc.cal.date_of(now),
        "queues": queues,
        "agents": agents,
    }
    if cfg.kind == "hall" or cfg.counters:
        snap["counters"] = _counters(cfg.counters, sc.staffing())
    return snap


def _window_figures(st: QueueStats) -> dict[str, Any]:
    """A window's figures (metrics.md) and ``waited_s``: the seconds waited by its answered and abandoned
    contacts (the fold's two wait sums), the exposure the abandon detector weighs abandons against."""
    out = st.figures(percentiles=False)
    out["waited_s"] = (st.wait_sum + st.abandon_wait_sum) / 1000.0
    return out


class AlertViews:
    """The alert snapshots of every site of one floor (one per alert driver), each site asked once to
    keep its live readings in buckets of ``bucket_ms`` (the driver's period)."""

    def __init__(self, floor: Floor, bucket_ms: int = 30_000) -> None:
        self.floor = floor
        self.bucket_ms = bucket_ms
        self.live: set[str] = set()

    def snapshot(self, site: str, floors: Optional[AgentFloors] = None, held: Collection[str] = ()) -> dict:
        """``alert_snapshot(floor, site, WATCHED, floors, held)``: the driver's snapshot."""
        if site not in self.live:
            self.floor.site(site).keep_live(self.bucket_ms, WINDOWS_MIN, WATCHED)
            self.live.add(site)
        return alert_snapshot(self.floor, site, WATCHED, floors, held)
