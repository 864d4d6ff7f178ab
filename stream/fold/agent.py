"""One agent's (or counter clerk's) state timeline: state now, time in state, occupancy.

Transitions are kept sorted by ``(ts, id)``; an out-of-order transition is
inserted where it belongs. Segments between two transitions older than the
watermark are *sealed*: their durations are added to per-day totals and the
transitions dropped, so memory stays small however long the day. Figures for
"now" add the unsealed segments and the open one up to the clock.

Occupancy = (busy + wrap_up) / (busy + wrap_up + ready), metrics.md.

A timeline given ``ivals = {}`` (the site does so under ``Limits(agent_intervals=True)``,
for the history store) also keeps its sealed time per 15-minute interval and
label; the day totals are the same either way.

>>> from stream.fold.calendar import INTERVAL_MS, DayCalendar
>>> from stream.contracts.events import AgentState
>>> a = AgentTimeline("a7")
>>> a.add(AgentState(id="1", ts=0, site="s", agent="a7", state="ready", queues=["q"]))
>>> a.add(AgentState(id="2", ts=60_000, site="s", agent="a7", state="busy"))
>>> a.add(AgentState(id="3", ts=240_000, site="s", agent="a7", state="ready"))
>>> f = a.figures(300_000, DayCalendar("UTC"))
>>> (f["state"], f["time_in_state_s"], round(f["occupancy_pct"], 1))
('ready', 60.0, 60.0)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Final, Optional

from stream.fold.calendar import INTERVAL_MS, DayCalendar

STATES: Final = ("logged_out", "ready", "busy", "wrap_up", "not_ready")


@dataclass
class Transition:
    """One agent_state event as a timeline keeps it: its time, id, state and reason."""

    ts: int
    id: str
    state: str
    reason: Optional[str]


class AgentTimeline:
    """One agent's transitions (sorted by time, then id), its skills and counter, and its sealed days."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.trans: list[Transition] = []  # sorted by (ts, id)
        self.base_since: Optional[int] = None  # when trans[0]'s run of the same state and reason began
        self.days: dict[str, dict[str, int]] = {}  # date -> state label -> ms (sealed)
        self.queues: tuple = ()
        self.counter: Optional[str] = None
        # The time of the event that set the skills, and the counter: the latest one wins.
        self.queues_at = -1
        self.counter_at = -1
        # interval start -> label -> ms (sealed), kept only when the site asks (None: not kept).
        self.ivals: Optional[dict[int, dict[str, int]]] = None

    def add(self, ev) -> None:
        """Fold one (already de-duplicated) agent_state event, in whatever order it comes."""
        ts = ev.ts
        bisect.insort(self.trans, Transition(ts, ev.id, ev.state, ev.reason), key=_ts_id)
        if ev.queues is not None and ts >= self.queues_at:
            self.queues, self.queues_at = tuple(ev.queues), ts
        # Logging out leaves the counter, unless the event names one.
        if ev.counter is not None and ts >= self.counter_at:
            self.counter, self.counter_at = ev.counter, ts
        elif ev.state == "logged_out" and ts >= self.counter_at:
            self.counter, self.counter_at = None, ts

    # -- sealing ------------------------------------------------------------

    def seal(self, watermark: int, cal: DayCalendar) -> None:
        """Fold the spans that end before ``watermark`` into the day totals, and drop their transitions.

        Sealing may happen at any time after the watermark passed a span's end
        (nothing older than the watermark is applied any more): the totals are
        the same whenever it happens.
        """
        trans = self.trans
        # trans[1..n] are the transitions older than the watermark: the spans before them end there.
        n = bisect.bisect_left(trans, watermark, 1, len(trans), key=_ts) - 1
        if n <= 0:
            return
        since = self.base_since if self.base_since is not None else trans[0].ts
        for prev, e in zip(trans[:n], trans[1 : n + 1]):
            _add_span(self.days, cal, _label(prev.state, prev.reason), prev.ts, e.ts)
            if self.ivals is not None:
                _add_ival_span(self.ivals, cal, _label(prev.state, prev.reason), prev.ts, e.ts)
            if (e.state, e.reason) != (prev.state, prev.reason):
                since = e.ts
        self.base_since = since
        del trans[:n]

    # -- figures ------------------------------------------------------------

    def current(self) -> Optional[tuple]:
        """The latest transition as (ts, id, state, reason)."""
        if not self.trans:
            return None
        e = self.trans[-1]
        return (e.ts, e.id, e.state, e.reason)

    def state_since(self) -> Optional[int]:
        """When the current run of the same state and reason began."""
        trans = self.trans
        if not trans:
            return None
        # From the latest transition back to the first one that changed state or reason.
        e = trans[-1]
        for i in range(len(trans) - 1, 0, -1):
            prev = trans[i - 1]
            if e.state != prev.state or e.reason != prev.reason:
                return e.ts
            e = prev
        return self.base_since if self.base_since is not None else trans[0].ts

    def day_totals(self, now: int, cal: DayCalendar) -> dict[str, dict[str, int]]:
        """Per date, ms spent in each state (label), sealed plus open, up to ``now``."""
        return self._totals({d: dict(v) for d, v in self.days.items()}, now, cal)

    def day_total(self, now: int, cal: DayCalendar, date: str) -> dict[str, int]:
        """``day_totals(now, cal).get(date, {})`` without copying the other days
        (an agent keeps one entry per day it worked: a worker up for a month has thirty)."""
        sealed = self.days.get(date)
        out = self._totals({date: dict(sealed) if sealed is not None else {}}, now, cal)
        return out[date]

    def _totals(self, out: dict[str, dict[str, int]], now: int, cal: DayCalendar) -> dict[str, dict[str, int]]:
        """Add the unsealed spans up to ``now`` to the sealed totals ``out`` (a copy)."""
        trans = self.trans
        for i, e in enumerate(trans):
            t0 = e.ts
            t1 = trans[i + 1].ts if i + 1 < len(trans) else max(now, t0)
            _add_span(out, cal, _label(e.state, e.reason), t0, t1)
        return out

    def interval_totals(self, now: int, cal: DayCalendar, since: int = -(2**62), until: int = 2**62) -> dict[int, dict[str, int]]:
        """Per interval start in [since, until), ms in each label, sealed plus open, up to ``now``
        (empty unless the timeline keeps intervals)."""
        if self.ivals is None:
            return {}
        out = {k: dict(v) for k, v in self.ivals.items() if since <= k < until}
        trans = self.trans
        for i, e in enumerate(trans):
            t0 = e.ts
            t1 = trans[i + 1].ts if i + 1 < len(trans) else max(now, t0)
            # Only the part in [since, until): a span's intervals are cut at interval bounds.
            if t0 < since:
                t0 = since
            if t1 > until:
                t1 = until
            _add_ival_span(out, cal, _label(e.state, e.reason), t0, t1)
        return out

    def state_now(self, now: int) -> dict:
        """State, reason, since when, time in state, queues and counter at ``now``."""
        cur = self.current()
        state, reason = (cur[2], cur[3]) if cur else ("logged_out", None)
        since = self.state_since()
        return {
            "state": state,
            "reason": reason,
            "since": since,
            "time_in_state_s": (now - since) / 1000.0 if since is not None and state != "logged_out" else None,
            "queues": list(self.queues),
            "counter": self.counter,
        }

    def figures(self, now: int, cal: DayCalendar, date: Optional[str] = None) -> dict:
        """``state_now`` plus the day's occupancy and time per state."""
        return self.figures_with(now, self.day_total(now, cal, date or cal.date_of(now)))

    def figures_with(self, now: int, totals: dict[str, int]) -> dict:
        """``figures`` given the day's ms per state (``day_totals`` of that date)."""
        f = self.state_now(now)
        f["occupancy_pct"] = occupancy_pct(totals)
        f["state_s"] = {k: v / 1000.0 for k, v in sorted(totals.items())}
        return f


def occupancy_pct(totals: dict[str, int]) -> Optional[float]:
    """(busy + wrap-up) / (busy + wrap-up + ready), in %, from ms per state (metrics.md); None when no time."""
    work = totals.get("busy", 0) + totals.get("wrap_up", 0)
    base = work + totals.get("ready", 0)
    return 100.0 * work / base if base > 0 else None


def _label(state: str, reason: Optional[str]) -> str:
    """The state's label in the day totals: a not-ready reason counts apart."""
    return f"not_ready:{reason}" if state == "not_ready" and reason else state


def _ts(t: Transition) -> int:
    return t.ts


def _ts_id(t: Transition) -> tuple[int, str]:
    return (t.ts, t.id)


def _add_span(days: dict[str, dict[str, int]], cal: DayCalendar, label: str, t0: int, t1: int) -> None:
    """Add the span [t0, t1) to ``days`` under ``label``, split at local midnights (each day its share)."""
    while t0 < t1:
        _, end = cal.day_bounds(t0)
        seg_end = min(t1, end)
        bucket = days.setdefault(cal.date_of(t0), {})
        bucket[label] = bucket.get(label, 0) + (seg_end - t0)
        t0 = seg_end


def _add_ival_span(ivals: dict, cal: DayCalendar, label: str, t0: int, t1: int) -> None:
    # Split at interval bounds so each 15-minute interval gets its own share.
    while t0 < t1:
        start = cal.interval_start(t0)
        seg_end = min(t1, start + INTERVAL_MS)
        bucket = ivals.get(start)
        if bucket is None:
            bucket = ivals[start] = {}
        bucket[label] = bucket.get(label, 0) + (seg_end - t0)
        t0 = seg_end
