"""The live state of one site, folded from its events on event time.

Everything here is pure: events and ticks in, figures out; no I/O, no wall
clock. Each site has its own event-time clock (its events come in order from
one Kafka partition, so other sites' progress never makes its events late).

How out-of-order events give the same figures as in order
---------------------------------------------------------
* Each contact's state is a function of the set of its events (``contact``).
* The *watermark* is the site clock minus the lateness bound. An event older
  than the watermark is *late*: it is rejected with that reason and counted,
  never applied.
* A finished contact is *sealed* once the watermark passes its last event:
  its legs are added to the day and interval totals, once. Open contacts are
  added on the fly whenever figures are asked for.
  Since nothing older than the watermark is applied, a sealed contact can
  no longer change, whatever the arrival order.

The sliding windows (5/15/60 min) are computed from the contacts of the last
hour, which are kept (sealed or not) until they are an hour behind the
watermark.

Wrong clocks
------------
One event stamped far ahead (a device with a bad clock) would move the site
clock, and everything after it would be late. So an event more than
``max_ahead`` ahead is judged before it is applied: against the time its input
was logged at when there is one (``reference``: a Kafka message's timestamp),
else against the site clock, where the site's next event in the batch decides
(a jump it follows is real, e.g. the morning after a quiet night; one it does
not is quarantined). A quarantined event is rejected and dead-lettered and
moves nothing (docs/metrics.md, "Wrong clocks").
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Collection, Final, Iterable, Mapping, Optional, Sequence, cast

from stream.contracts import events as E
from stream.fold.agent import AgentTimeline, occupancy_pct
from stream.fold.calendar import INTERVAL_MS, DayCalendar
from stream.contracts.floor_config import FloorConfig
from stream.fold.contact import CALL, CONTRA_TEXT, TICKET, Contact, Leg
from stream.fold.interface import AgentNow, AgentRow, QueueNow, StateAges, StateCounts, WaitingRow
from stream.fold.stats import QueueStats

SLIDING_MIN: Final = (5, 15, 60)
_HOUR: Final = 3_600_000
_HOUSEKEEP_EVERY: Final = 60_000
# Before the first event: older than any event.
_NEVER: Final = -(2**62)
_FAR: Final = 2**62
# An agent's transitions are sealed (folded into its day totals) once this many
# have piled up, rather than every agent on every housekeeping pass.
_AGENT_SEAL_AT: Final = 64
# Seen ids are forgotten in blocks of this many, in arrival order: a block goes once
# its latest event is older than the dedup horizon (the native core's seen.hpp too).
_ID_BLOCK: Final = 256

# A call's events name it in ``call`` (a ticket's in ``ticket``): events.py says which is which.
_CALL_CLASSES: Final = frozenset(cls for cls in E.EVENT_TYPES.values() if "call" in getattr(cls, "__struct_fields__"))
# Events that may open a leg (in order; a replay may open legs too).
_LEG_CLASSES: Final = frozenset({E.CallOffered, E.TicketIssued, E.CallTransferred, E.TicketTransferred})
# Reasons of the wrong-clock quarantine (see "Wrong clocks"), and how far on in a
# batch the site's next event is looked for.
AHEAD_OF_MESSAGE: Final = "ahead: more than max_ahead_s past its message's time"
AHEAD_ALONE: Final = "ahead: more than max_ahead_s past the site's clock, and its next event is not"
AHEAD_LOOK: Final = 256
LATE: Final = "late: older than the lateness bound"


class Limits:
    """Bounds on what a site core keeps (event time, ms)."""

    def __init__(
        self,
        lateness_ms: int = 60_000,
        dedup_horizon_ms: int = _HOUR,
        max_open_ms: int = 24 * _HOUR,
        keep_days: Optional[int] = None,
        keep_interval_days: Optional[int] = 2,
        dead_letters: int = 10_000,
        max_ahead_ms: int = 300_000,
        agent_intervals: bool = False,
    ) -> None:
        self.lateness = lateness_ms
        # Duplicates must be recognised at least as long as events can be late.
        self.dedup_horizon = max(dedup_horizon_ms, lateness_ms)
        self.max_open = max_open_ms
        self.keep_days = keep_days
        self.keep_interval_days = keep_interval_days
        self.dead_letters = dead_letters
        self.max_ahead = max_ahead_ms
        # Keep agent sums per 15-minute interval too (the history store's agent rows);
        # off by default: the live floor's figures never read them.
        self.agent_intervals = agent_intervals


class SiteCore:
    """Folds one site's events into its queue, agent and counter figures (the specification)."""

    def __init__(self, site: str, config: FloorConfig, limits: Limits) -> None:
        self.site = site
        self.config = config
        self.cfg = config.site(site)
        self.cal = DayCalendar(self.cfg.timezone)
        self.limits = limits
        self.lateness = limits.lateness
        self._clock = _NEVER
        self.watermark = _NEVER
        self.reference: Optional[int] = None  # see set_reference
        self._qparams: dict[str, tuple[int, int, str]] = {}

        # Ids seen, and the same in blocks of arrival order for forgetting them:
        # full blocks as (latest event time, ids), and the block being filled.
        self.seen: set[str] = set()
        self._id_blocks: deque[tuple[int, list[str]]] = deque()
        self._block: list[str] = []
        self._block_latest = _NEVER

        self.calls: dict[str, Contact] = {}
        self.tickets: dict[str, Contact] = {}
        self.open: set[Contact] = set()
        # Contacts to look at once the watermark passes a time: (time, push order, CALL or TICKET, id).
        self._due: list[tuple[int, int, int, str]] = []
        self._pushed = 0
        # Sealed contacts in sealing order, (last event time, CALL or TICKET, id): they leave
        # memory an hour after the watermark passed them (the sliding windows need them till then).
        self._sealed_q: deque[tuple[int, int, str]] = deque()
        self.agents: dict[str, AgentTimeline] = {}
        # Under Limits.agent_intervals: interval start (where the handling ended) ->
        # (agent, queue) -> [handled, handle ms, talk ms, wrap-up ms]; else None.
        self.agent_ivals: Optional[dict[int, dict[tuple[str, str], list[int]]]] = {} if limits.agent_intervals else None
        self._next_housekeeping = _NEVER
        # No open contact can expire while (watermark - max_open) is at or below this.
        self._expiry_floor = _NEVER

        # Sealed totals: date -> queue -> stats; interval start -> queue -> stats;
        # date -> agent -> [handled, handle ms].
        self.days: dict[str, dict[str, QueueStats]] = {}
        self.intervals: dict[int, dict[str, QueueStats]] = {}
        self.agent_days: dict[str, dict[str, list[int]]] = {}
        # Every queue this site has had contacts in, so a wall keeps its tiles after midnight.
        self.queues_seen: set[str] = set()

        self.events = 0
        self.duplicates = 0
        self.rejected: dict[str, int] = {}
        self.dead: list[tuple[object, str]] = []
        self.dead_dropped = 0

    # -- parameters -----------------------------------------------------------

    def qparams(self, queue: str) -> tuple[int, int, str]:
        """The queue's service-level T (ms), short-abandon limit (ms) and service-level variant."""
        p = self._qparams.get(queue)
        if p is None:
            rq = self.config.queue(self.site, queue)
            p = self._qparams[queue] = (rq.sl_t_s * 1000, rq.short_abandon_s * 1000, rq.sl_variant)
        return p

    @property
    def open_count(self) -> int:
        """Contacts offered and not finished (or waiting for their offer)."""
        return len(self.open)

    @property
    def clock(self) -> Optional[int]:
        """The site's event-time clock (its latest event or tick), None before any."""
        return None if self._clock == _NEVER else self._clock

    def set_reference(self, ms: Optional[int]) -> None:
        """The time the events folded next were logged at (None: unknown; see "Wrong clocks")."""
        self.reference = ms

    # -- folding --------------------------------------------------------------

    def apply(self, ev) -> None:
        """Fold one decoded event of this site."""
        self.fold_from([ev], 0, False)

    def apply_many(self, evs: Iterable) -> None:
        """Fold decoded events of this site, in arrival order."""
        self.fold_from(evs if isinstance(evs, list) else list(evs), 0, False)

    def fold_from(self, evs: list, start: int, same_site: bool, until: int = _FAR) -> int:
        """Fold ``evs[start:]`` in arrival order; returns the index it stopped at.

        With ``same_site`` it stops at the first event of another site (a
        batch of several sites is folded run by run, without splitting it);
        otherwise every event is taken as this site's. It also stops at the
        first event stamped after ``until`` (the alert driver's next boundary:
        it evaluates the site there first), duplicate or not. An event too
        far ahead is judged first ("Wrong clocks"), wherever it is stamped.
        """
        i = start
        while i < len(evs):
            ev = evs[i]
            if same_site and ev.site != self.site:
                break
            ts = _event_time(ev)
            if ts > self._ahead_bound() and self._ahead(evs, i, ts, same_site):
                i += 1
                continue
            if ts > until:
                break
            self._fold_one(ev, ts)
            i += 1
        return i

    def _ahead_bound(self) -> int:
        """Past this time an event is judged before it is folded: the reference's bound, or the clock's."""
        if self.reference is not None:
            return self.reference + self.limits.max_ahead
        return _FAR if self._clock == _NEVER else self._clock + self.limits.max_ahead

    def _fold_one(self, ev, ts: int) -> None:
        """Fold one event stamped ``ts`` (ms): drop a duplicate, reject a late one, move the clock, apply it."""
        if not self._remember(ev.id, ts):
            self.duplicates += 1
            return
        if ts < self.watermark:
            self._reject(ev, LATE)
            return
        self.events += 1
        if ts > self._clock:
            self._clock = ts
            self._catch_up(ts - self.lateness)
        if type(ev) is E.AgentState:
            self._fold_agent(ev)
        else:
            self._fold_contact(ev)

    def _remember(self, eid: str, ts: int) -> bool:
        """Remember id ``eid`` (an event stamped ``ts``); False when it was seen already (a duplicate)."""
        if eid in self.seen:
            return False
        self.seen.add(eid)
        self._block.append(eid)
        self._block_latest = max(self._block_latest, ts)
        if len(self._block) == _ID_BLOCK:
            self._id_blocks.append((self._block_latest, self._block))
            self._block = []
            self._block_latest = _NEVER
        return True

    def _fold_agent(self, ev: E.AgentState) -> None:
        a = self.agents.get(ev.agent)
        if a is None:
            a = self.agents[ev.agent] = AgentTimeline(ev.agent)
            if self.agent_ivals is not None:
                a.ivals = {}
        a.add(ev)
        if len(a.trans) > _AGENT_SEAL_AT:
            a.seal(self.watermark, self.cal)

    def _fold_contact(self, ev) -> None:
        if type(ev) in _CALL_CLASSES:
            kind, book, cid = CALL, self.calls, ev.call
        else:
            kind, book, cid = TICKET, self.tickets, ev.ticket
        c = book.get(cid)
        if c is None:
            c = book[cid] = Contact(kind, cid)
            self.open.add(c)
            c.add(ev)
            if c.legs:
                self._saw_queues(c)
            else:
                # An event before its contact's offer: wait for the offer until the watermark passes.
                self._push_due(c.last_ts, kind, cid)
            return
        if c.sealed:
            self._reject(ev, f"{ev.kind}: contact already closed")
            return
        replayed = c.add(ev)
        if replayed or type(ev) in _LEG_CLASSES:
            # Replayed, or a transfer: the contact may be in a queue not seen yet.
            self._saw_queues(c)
        if c.done or c.contra:
            self._push_due(c.last_ts, kind, cid)

    def _ahead(self, evs: list, i: int, ts: int, same_site: bool) -> bool:
        """Event ``evs[i]``, at ``ts``, is past the bound: quarantine it (True) or let it move the clock."""
        ev = evs[i]
        if self.reference is not None:
            self._reject(ev, AHEAD_OF_MESSAGE)
            return True
        # Judged by the site's next event in the batch (a copy of this one, same id, says
        # nothing): one more than max_ahead before it says this one is wrong; one near
        # it (or none: nothing says so) confirms the jump.
        site = self.site
        eid = ev.id
        back = ts - self.limits.max_ahead
        j = i + 1
        end = min(len(evs), j + AHEAD_LOOK)
        while j < end:
            e = evs[j]
            if (not same_site or e.site == site) and e.id != eid:
                t = e.ts
                if not isinstance(t, int):
                    t = E.ts_to_ms(t)
                if t < back:
                    self._reject(ev, AHEAD_ALONE)
                    return True
                return False
            j += 1
        return False

    def _push_due(self, t: int, kind: int, cid: str) -> None:
        """Look at contact ``cid`` again once the watermark passes ``t`` (in time, then push order)."""
        self._pushed += 1
        heapq.heappush(self._due, (t, self._pushed, kind, cid))

    def _saw_queues(self, c: Contact) -> None:
        qs = self.queues_seen
        for leg in c.legs:
            if leg.queue not in qs:
                qs.add(leg.queue)

    def advance(self, now: int) -> None:
        """Move the event-time clock to ``now`` (an event's time or a tick)."""
        if now <= self._clock:
            return
        self._clock = now
        self._catch_up(now - self.lateness)

    def _catch_up(self, wm: int) -> None:
        """Set the watermark to ``wm``: seal (or drop) what it passed, housekeep when due."""
        self.watermark = wm
        due = self._due
        while due and due[0][0] < wm:
            _, _, kind, cid = heapq.heappop(due)
            book = self.calls if kind == CALL else self.tickets
            c = book.get(cid)
            if c is None or c.sealed:
                continue
            if c.last_ts >= wm:
                self._push_due(c.last_ts, kind, cid)
            elif c.contra:
                # Nothing can come now that would explain it: rejected whole, with why.
                self._drop(c, book, cid, CONTRA_TEXT[c.contra])
            elif c.done:
                self._seal(c, kind, cid)
            elif not c.legs:
                self._drop(c, book, cid, "no offered event for this contact (orphan)")
        if wm >= self._next_housekeeping:
            self._housekeep(wm)

    def _seal(self, c: Contact, kind: int, cid: str) -> None:
        """A finished contact the watermark passed can never change: its legs go into the totals."""
        c.sealed = True
        self.open.discard(c)
        for leg in c.legs:
            self._fold_leg(leg, self.days, self.intervals, self.agent_days)
            if self.agent_ivals is not None:
                fold_agent_leg(leg, self.cal, self.agent_ivals)
        for reason, ev in c.anomalies or ():
            self._reject(ev, reason)
        self._sealed_q.append((c.last_ts, kind, cid))
        # The events are no longer needed once sealed; the legs keep the figures.
        c.events = []

    def _drop(self, c: Contact, book: dict, cid: str, reason: str) -> None:
        self.open.discard(c)
        del book[cid]
        c.dropped = True
        for ev in c.events:
            self._reject(ev, f"{ev.kind}: {reason}")

    def _reject(self, ev, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if len(self.dead) < self.limits.dead_letters:
            self.dead.append((ev, reason))
        else:
            self.dead_dropped += 1

    def _fold_leg(
        self,
        leg: Leg,
        days: dict[str, dict[str, QueueStats]],
        intervals: dict[int, dict[str, QueueStats]],
        agent_days: Optional[dict[str, dict[str, list[int]]]],
    ) -> None:
        """Add ``leg`` to the sums of the day and 15-minute interval it was offered in (metrics.md);
        its handle time to the interval its handling ended in, and to its agent's day."""
        q = leg.queue
        t_ms, short_ms, variant = self.qparams(q)
        date = self.cal.date_of(leg.offered)
        day = stats_at(days.setdefault(date, {}), q, variant)
        interval = stats_at(intervals.setdefault(self.cal.interval_start(leg.offered), {}), q, variant)
        for st in (day, interval):
            st.offered += 1
            if leg.answered is not None:
                st.add_answered(leg.answered - leg.offered, t_ms)
            elif leg.abandoned is not None:
                st.add_abandoned(leg.abandoned - leg.offered, short_ms)
            elif leg.transferred is not None:
                st.transferred += 1
        if leg.answered is not None and leg.handle_end is not None:
            handle = leg.handle_end - leg.answered
            day.add_handled(handle)
            # Intervals take handle time when the handling ended (metrics.md: AHT).
            stats_at(intervals.setdefault(self.cal.interval_start(leg.handle_end), {}), q, variant).add_handled(handle)
            if agent_days is not None and leg.agent is not None:
                row = agent_days.setdefault(date, {}).setdefault(leg.agent, [0, 0])
                row[0] += 1
                row[1] += handle

    def _housekeep(self, wm: int) -> None:
        """Once a minute of event time: forget what no figure needs any more, expire contacts open too long."""
        self._next_housekeeping = wm + _HOUSEKEEP_EVERY
        lim = self.limits
        # Agents are sealed as their transitions pile up (_fold_agent), not here.
        # Contacts leave memory an hour after the watermark passed them (sliding windows).
        horizon = wm - _HOUR
        sq = self._sealed_q
        while sq and sq[0][0] < horizon:
            _, kind, cid = sq.popleft()
            book = self.calls if kind == CALL else self.tickets
            c = book.get(cid)
            if c is not None and c.sealed and c.last_ts < horizon:
                del book[cid]
        # Forget ids older than the dedup horizon, a block at a time, oldest arrivals
        # first, up to the first block with an id still inside it (so an id is kept at
        # least the horizon, a little longer with its block).
        cutoff = wm - lim.dedup_horizon
        while self._id_blocks and self._id_blocks[0][0] < cutoff:
            _, ids = self._id_blocks.popleft()
            self.seen.difference_update(ids)
        stale = wm - lim.max_open
        if stale > self._expiry_floor:
            # Oldest first (then calls before tickets, by id): the dead letters kept under
            # their cap must not depend on the set's order in memory.
            for c in sorted([c for c in self.open if c.last_ts < stale], key=_expiry_order):
                self._drop(c, self.calls if c.kind == CALL else self.tickets, c.cid, "contact never ended (expired)")
            # Until the next scan can drop something, skip it: a contact open now
            # keeps its last_ts (it only grows); one opened later starts at or
            # after this watermark.
            self._expiry_floor = min(min((c.last_ts for c in self.open), default=wm), wm)
        if lim.keep_days is not None or lim.keep_interval_days is not None:
            self._trim(wm)

    def _trim(self, wm: int) -> None:
        """Drop the intervals and days older than the limits keep (counted from the watermark's local day)."""
        start, _ = self.cal.day_bounds(wm)
        lim = self.limits
        if lim.keep_interval_days is not None:
            cut = start - lim.keep_interval_days * 24 * _HOUR
            for k in [k for k in self.intervals if k < cut]:
                del self.intervals[k]
            if self.agent_ivals is not None:
                for k in [k for k in self.agent_ivals if k < cut]:
                    del self.agent_ivals[k]
                for a in self.agents.values():
                    iv = a.ivals
                    if iv is not None:
                        for k in [k for k in iv if k < cut]:
                            del iv[k]
        if lim.keep_days is not None:
            cut_date = self.cal.date_of(start - lim.keep_days * 24 * _HOUR)
            for d in [d for d in self.days if d < cut_date]:
                del self.days[d]
                self.agent_days.pop(d, None)

    def flush(self) -> None:
        """End of input: seal every finished contact (nothing more will come).

        The watermark moves just past the clock (lateness 0); the clock stays.
        """
        if self._clock == _NEVER:
            return
        self._catch_up(self._clock + 1)

    # -- figures --------------------------------------------------------------

    def totals(self, dates: Optional[set[str]] = None) -> tuple[dict, dict, dict]:
        """Day, interval and agent-day totals, sealed plus open contacts.

        ``dates`` limits the copy to those local dates (the snapshot needs only today).
        """
        days = {d: {q: s.copy() for q, s in qs.items()} for d, qs in self.days.items() if dates is None or d in dates}
        if dates is None:
            intervals = {i: {q: s.copy() for q, s in qs.items()} for i, qs in self.intervals.items()}
        else:
            bounds = [self.cal.bounds_of_date(d) for d in dates]
            intervals = {
                i: {q: s.copy() for q, s in qs.items()}
                for i, qs in self.intervals.items()
                if any(b0 <= i < b1 for b0, b1 in bounds)
            }
        agent_days = {
            d: {a: list(r) for a, r in rows.items()}
            for d, rows in self.agent_days.items()
            if dates is None or d in dates
        }
        for c in self.open:
            for leg in c.legs:
                self._fold_leg(leg, days, intervals, agent_days)
        if dates is not None:
            for d in list(days):
                if d not in dates:
                    del days[d]
        return days, intervals, agent_days

    def agent_interval_totals(self, now: int, since: Optional[int] = None, until: Optional[int] = None) -> tuple[dict, dict]:
        """Agent sums per 15-minute interval, sealed plus open (``Limits.agent_intervals``; else empty):
        (interval start -> agent -> label -> ms, interval start -> (agent, queue) ->
        [handled, handle ms, talk ms, wrap-up ms]). Spans count up to ``now``; handling counts
        in the interval where it ended (metrics.md: AHT), as the queue intervals do. Only
        intervals starting in [since, until) when given (a window costs its size, not the day's)."""
        if self.agent_ivals is None:
            return {}, {}
        cal = self.cal
        # On interval bounds: the intervals starting in [since, until) whole, spans cut at their ends.
        lo = -(2**62)
        if since is not None:
            lo = cal.interval_start(since)
            if lo < since:
                lo += INTERVAL_MS
        hi = cal.interval_start(until - 1) + INTERVAL_MS if until is not None else 2**62
        handled = {k: {ak: list(r) for ak, r in v.items()} for k, v in self.agent_ivals.items() if lo <= k < hi}
        opened: dict = {}
        for c in self.open:
            for leg in c.legs:
                fold_agent_leg(leg, cal, opened)
        for k, rows in opened.items():
            if lo <= k < hi:
                into = handled.setdefault(k, {})
                for ak, r in rows.items():
                    mine = into.get(ak)
                    if mine is None:
                        into[ak] = r
                    else:
                        for j in range(4):
                            mine[j] += r[j]
        states: dict[int, dict[str, dict[str, int]]] = {}
        for name, a in self.agents.items():
            for k, labels in a.interval_totals(now, cal, lo, hi).items():
                states.setdefault(k, {})[name] = labels
        return states, handled

    def day_interval(self, date: str, interval: int) -> tuple[dict[str, QueueStats], dict[str, QueueStats], dict[str, list[int]]]:
        """What a snapshot reads of ``totals({date})``: the date's queue totals, the interval's
        (its start, ms) and the date's agent handled counts."""
        days, intervals, agent_days = self.totals({date})
        return days.get(date, {}), intervals.get(interval, {}), agent_days.get(date, {})

    def sliding(
        self, now: int, minutes: Sequence[int] = SLIDING_MIN, percentiles: bool = True
    ) -> dict[str, dict[str, QueueStats]]:
        """Per window ("5m", "15m", "60m", or those of ``minutes``), per queue: the contacts
        offered in the last N minutes, as they stand at ``now`` (metrics.md, "Windows").

        AHT counts contacts whose handling ended in the window. ``percentiles=False``
        leaves the wait histograms empty (the alert rules never read them).
        """
        return {f"{m}m": self._window(now - m * 60_000, now, percentiles) for m in minutes}

    def _window(self, start: int, now: int, percentiles: bool) -> dict[str, QueueStats]:
        """Per queue: the legs offered in (start, now] with their outcome by ``now``, and the
        handling that ended in (start, now]."""
        out: dict[str, QueueStats] = {}
        for c in [*self.calls.values(), *self.tickets.values()]:
            if c.last_ts <= start:
                continue  # every event before the window: nothing of it counts
            for leg in c.legs:
                t_ms, short_ms, variant = self.qparams(leg.queue)
                if start < leg.offered <= now:
                    st = stats_at(out, leg.queue, variant)
                    st.offered += 1
                    if leg.answered is not None and leg.answered <= now:
                        st.add_answered(leg.answered - leg.offered, t_ms, percentiles)
                    elif leg.abandoned is not None and leg.abandoned <= now:
                        st.add_abandoned(leg.abandoned - leg.offered, short_ms)
                    elif leg.transferred is not None and leg.transferred <= now:
                        st.transferred += 1
                if leg.answered is not None and leg.handle_end is not None and start < leg.handle_end <= now:
                    stats_at(out, leg.queue, variant).add_handled(leg.handle_end - leg.answered)
        return out

    def waiting(self, now: int) -> dict[str, WaitingRow]:
        """Per queue: the contacts waiting now, the longest wait, and the same for VIPs (priority or VIP)."""
        waiting: dict[str, list[Leg]] = {}
        for c in self.open:
            for leg in c.legs:
                if leg.waiting:
                    waiting.setdefault(leg.queue, []).append(leg)
        out: dict[str, WaitingRow] = {}
        for q, legs in waiting.items():
            vips = [leg for leg in legs if leg.vip or leg.priority > 0]
            out[q] = {
                "waiting": len(legs),
                "vip_waiting": len(vips),
                "longest_wait_s": _wait_s(legs, now),
                "longest_vip_wait_s": _wait_s(vips, now),
            }
        return out

    def queue_now(self) -> dict[str, QueueNow]:
        """Per queue: the legs waiting (offered, class) in the order served, and the legs being
        handled (offered, answered) by answered time (what stream/predict reads)."""
        acc: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        for c in self.open:
            for leg in c.legs:
                if leg.abandoned is not None or leg.transferred is not None:
                    continue
                row = acc.get(leg.queue)
                if row is None:
                    row = acc[leg.queue] = ([], [])
                answered = leg.answered
                if answered is None:
                    row[0].append((leg.offered, leg.priority if leg.priority > 0 else (1 if leg.vip else 0)))
                elif leg.handle_end is None:
                    row[1].append((leg.offered, answered))
        out: dict[str, QueueNow] = {}
        for q, (waiting, serving) in acc.items():
            waiting.sort(key=_served_order)
            serving.sort(key=_by_answered)
            out[q] = {"waiting": waiting, "serving": serving}
        return out

    def _sealed_agent(self, name: str) -> Optional[AgentTimeline]:
        """The agent's timeline with what the watermark passed sealed first.

        Figures walk the unsealed transitions; sealing is allowed at any time
        (same totals), so a snapshot costs the same at 9:00 and at 17:00.
        """
        a = self.agents.get(name)
        if a is not None and len(a.trans) > 2:
            a.seal(self.watermark, self.cal)
        return a

    def _agent_label(self, name: str) -> str:
        return self.cfg.agents.get(name, name) if self.cfg.agent_label == "display_name" else name

    def agent_states(self, now: int) -> dict[str, AgentNow]:
        """Every agent's state now, without the day's totals (what alert rules read)."""
        return {name: self._agent_now(name, now) for name in self.agents}

    def _agent_now(self, name: str, now: int) -> AgentNow:
        """One known agent's row of ``agent_states``."""
        a = self._sealed_agent(name)
        assert a is not None  # a name from self.agents
        return cast(AgentNow, {"label": self._agent_label(name), **a.state_now(now)})

    def primary_counts(self, now: int) -> tuple[dict[str, dict[str, int]], int]:
        """Per queue, the logged-in and ready agents whose primary (first) skill it is; and how many
        agents the site knows (logged out too)."""
        out: dict[str, dict[str, int]] = {}
        for a in self.agents.values():
            cur = a.current()
            if cur is None or cur[2] == "logged_out" or not a.queues:
                continue
            c = out.setdefault(a.queues[0], {"logged_in": 0, "ready": 0})
            c["logged_in"] += 1
            c["ready"] += cur[2] == "ready"
        return out, len(self.agents)

    def agent_counts(self, now: int) -> tuple[dict[str, StateCounts], list[str]]:
        """Per queue its logged-in agents by state (an agent once in each of its skills); every skill."""
        by_queue: dict[str, list[Mapping[str, object]]] = {}
        for a in self.agents.values():
            cur = a.current()  # (ts, id, state, reason): a count reads only the state and reason
            state_reason = {"state": cur[2], "reason": cur[3]} if cur else {"state": "logged_out", "reason": None}
            for q in dict.fromkeys(a.queues):
                by_queue.setdefault(q, []).append(state_reason)
        return {q: state_counts(rows) for q, rows in by_queue.items()}, list(by_queue)

    def agents_in(
        self, now: int, states: Collection[str], older_than: Optional[StateAges] = None, also: Collection[str] = ()
    ) -> dict[str, AgentNow]:
        """The logged-in agents in one of ``states``; with ``older_than``, only those in their state
        longer than its bar (the not-ready reason's own, else the state's), and those in ``also``."""
        rows: dict[str, AgentNow] = {}
        for name, a in self.agents.items():
            cur = a.current()  # (ts, id, state, reason)
            state = cur[2] if cur else "logged_out"
            if state == "logged_out" or state not in states:
                continue  # only the rows of the agents asked for are built (docs/measurements.md)
            r = self._agent_now(name, now)
            if older_than is not None and name not in also:
                bar = older_than.get(state)
                if bar is None:
                    continue
                base, by_reason = bar
                t = r["time_in_state_s"]
                if t is not None and t <= by_reason.get(r["reason"], base):
                    continue
            rows[name] = r
        return rows

    def staffing(self) -> dict[str, str]:
        """Each counter staffed by a logged-in agent, and that agent's state (the later agent wins)."""
        out: dict[str, str] = {}
        for a in self.agents.values():
            cur = a.current()
            if a.counter and cur is not None and cur[2] != "logged_out":
                out[a.counter] = cur[2]
        return out

    def keep_live(self, bucket_ms: int, minutes: Sequence[int], states: Collection[str]) -> None:
        """The specification reads the floor by scanning it, always: nothing to keep."""

    def agent_rows(
        self, now: int, date: str, agent_days: dict[str, dict[str, list[int]]], occupancy: Optional[dict[str, int]] = None
    ) -> dict[str, AgentRow]:
        """Every agent with a state or with contacts handled today.

        ``occupancy``, when given, gets every agent's ms per state today added
        in (the site's occupancy, from the same totals as the rows).
        """
        rows: dict[str, AgentRow] = {}
        handled_today = agent_days.get(date, {})
        cal = self.cal
        for name in sorted(set(self.agents) | set(handled_today)):
            a = self._sealed_agent(name)
            if a is not None:
                totals = a.day_total(now, cal, date)
                f = a.figures_with(now, totals)
                if occupancy is not None:
                    for label, ms in totals.items():
                        occupancy[label] = occupancy.get(label, 0) + ms
            else:
                f = _no_state()
            h = handled_today.get(name)
            f["handled"] = h[0] if h else 0
            f["aht_s"] = h[1] / h[0] / 1000.0 if h and h[0] else None
            f["label"] = self._agent_label(name)
            rows[name] = cast(AgentRow, f)
        return rows


def _served_order(w: tuple[int, int]) -> tuple[int, int]:
    return (-w[1], w[0])


def _by_answered(s: tuple[int, int]) -> tuple[int, int]:
    return (s[1], s[0])


def _event_time(ev) -> int:
    """The event's time in epoch ms, written back on the event (an RFC 3339 time is converted once)."""
    if not isinstance(ev.ts, int):
        ev.ts = E.ts_to_ms(ev.ts)
    return ev.ts


def _expiry_order(c: Contact) -> tuple[int, int, str]:
    return (c.last_ts, c.kind, c.cid)


def _wait_s(legs: list[Leg], now: int) -> float:
    """The longest wait of ``legs`` at ``now``, s (0 when none, or none offered before now)."""
    if not legs:
        return 0.0
    return max(0, now - min(leg.offered for leg in legs)) / 1000.0


def fold_agent_leg(leg: Leg, cal: DayCalendar, table: dict) -> None:
    """Add a handled leg to ``table`` (interval of its handling's end -> (agent, queue) ->
    [handled, handle ms, talk ms, wrap-up ms]). Talk runs from the answer to the talk's end
    (holds included: the core counts holds, not their length), wrap-up from there to the
    handling's end; a ticket's service is all talk."""
    if leg.handle_end is None or leg.answered is None or leg.agent is None:
        return
    talk_end = leg.talk_end if leg.talk_end is not None else leg.handle_end
    rows = table.setdefault(cal.interval_start(leg.handle_end), {})
    r = rows.setdefault((leg.agent, leg.queue), [0, 0, 0, 0])
    r[0] += 1
    r[1] += leg.handle_end - leg.answered
    r[2] += talk_end - leg.answered
    r[3] += leg.handle_end - talk_end


def stats_at(by_queue: dict[str, QueueStats], q: str, variant: str) -> QueueStats:
    """Queue ``q``'s stats in ``by_queue``, created empty when new."""
    st = by_queue.get(q)
    if st is None:
        st = by_queue[q] = QueueStats(variant)
    return st


def _no_state() -> dict:
    # An agent known only from the contacts it answered (a log without agent states).
    return {"state": "logged_out", "reason": None, "since": None, "time_in_state_s": None,
            "queues": [], "counter": None, "occupancy_pct": None, "state_s": {}}


def state_counts(rows: Iterable[Mapping[str, object]]) -> StateCounts:
    """Agents by state (logged-in only) with not-ready reasons."""
    out: dict[str, Any] = {"ready": 0, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 0, "not_ready_reasons": {}}
    for r in rows:
        st = r["state"]
        if st == "logged_out":
            continue
        out["logged_in"] += 1
        out[cast(str, st)] += 1
        if st == "not_ready":
            reason = r["reason"] or "unspecified"
            out["not_ready_reasons"][reason] = out["not_ready_reasons"].get(reason, 0) + 1
    return cast(StateCounts, out)


__all__ = ["Limits", "SiteCore", "SLIDING_MIN", "state_counts", "occupancy_pct", "INTERVAL_MS"]

