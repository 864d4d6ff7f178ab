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
  its legs are added to the day and interval totals, once (they wait in a list
  until figures are asked for, then go in together). Open contacts are added
  on the fly whenever figures are asked for.
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
from typing import Any, Final, Iterable, Mapping, Optional, Sequence, cast

from stream.contracts import events as E
from stream.fold.agent import AgentTimeline, occupancy_pct
from stream.fold.calendar import INTERVAL_MS, DayCalendar
from stream.contracts.floor_config import FloorConfig
from stream.fold.contact import CALL, CONTRA_TEXT, RANK as _RANK, STEP as _STEP, TICKET, Contact, Leg
from stream.fold.interface import AgentNow, AgentRow, StateCounts, WaitingRow
from stream.fold.stats import QueueStats

SLIDING_MIN: Final = (5, 15, 60)
_HOUR: Final = 3_600_000
_HOUSEKEEP_EVERY: Final = 60_000
# Before the first event: older than any event, so the hot path needs no None checks.
_NEVER: Final = -(2**62)
# An agent's transitions are sealed (folded into its day totals) once this many
# have piled up, rather than every agent on every housekeeping pass.
_AGENT_SEAL_AT: Final = 64
# Whether this module runs compiled (setup.py) or interpreted.
COMPILED: Final = not __file__.endswith(".py")
# Sealed legs wait in a list and are folded into the totals when figures are
# asked for, and at the latest when this many wait, so memory stays bounded
# when no one asks for figures for a long time.
_FOLD_AT_MOST: Final = 50_000
_FAR: Final = 2**62
# Seen ids expire in blocks of this many (a power of two): one time per block,
# not one per event.
_ID_BLOCK: Final = 256
_ID_BLOCK_MASK: Final = _ID_BLOCK - 1

# A call's events name it in ``call`` (a ticket's in ``ticket``): events.py says which is which.
_CALL_CLASSES = frozenset(cls for cls in E.EVENT_TYPES.values() if "call" in getattr(cls, "__struct_fields__"))
# Events that may open a leg (in order; a replay may open legs too).
_LEG_CLASSES = frozenset({E.CallOffered, E.TicketIssued, E.CallTransferred, E.TicketTransferred})
# Contact event class -> (CALL or TICKET, causal rank, state-machine step, may open a leg):
# one dict lookup per event.
_CONTACT_KIND: Final[dict[type, tuple[int, int, int, bool]]] = {
    cls: (CALL if cls in _CALL_CLASSES else TICKET, _RANK[cls], _STEP[cls], cls in _LEG_CLASSES) for cls in _RANK
}
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop
_AgentState: Final = E.AgentState
# Reasons of the wrong-clock quarantine (see "Wrong clocks"), and how far on in a
# batch the site's next event is looked for.
AHEAD_OF_MESSAGE: Final = "ahead: more than max_ahead_s past its message's time"
AHEAD_ALONE: Final = "ahead: more than max_ahead_s past the site's clock, and its next event is not"
AHEAD_LOOK: Final = 256
_CallOffered: Final = E.CallOffered
_TicketIssued: Final = E.TicketIssued


class Limits:
    """Bounds on what a site core keeps (event time, ms)."""

    __slots__ = ("lateness", "dedup_horizon", "max_open", "keep_days", "keep_interval_days", "dead_letters", "max_ahead",
                 "agent_intervals")

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
    """Folds one site's events into its queue, agent and counter figures."""

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

        self.seen: set[str] = set()
        # Ids in arrival order, for expiry, in blocks of _ID_BLOCK: the latest
        # event time of each full block, the first block still kept, and the
        # latest time in the block being filled.
        self._seen_ids: list[Optional[str]] = []
        self._block_max: list[int] = []
        self._block_k = 0
        self._cur_max = _NEVER
        self.calls: dict[str, Contact] = {}
        self.tickets: dict[str, Contact] = {}
        self.open: set[Contact] = set()
        # Contacts to look at once the watermark passes a time: (time, push
        # order, CALL or TICKET, id). Pushed mostly in time order (a contact is
        # done at its latest event), so entries go to a list read from
        # ``_due_head`` while their times do not decrease, and to a heap
        # otherwise; they come out in (time, push order) either way.
        self._due: list[tuple[int, int, int, str]] = []
        self._due_head = 0
        self._due_last = _NEVER  # time of _due's last entry
        self._heap: list[tuple[int, int, int, str]] = []
        self._seq = 0  # tie-breaker, in push order
        self._next_due = _FAR  # the earliest time in _due or _heap
        self._sealed_q: deque = deque()
        self.agents: dict[str, AgentTimeline] = {}
        # Change tracking, for the alert view (off until one takes it): the contacts
        # and agents an applied event changed since the view last took these
        # lists, each once (its ``vmark``). Appending costs the hot loop one flag
        # test; the view then refreshes only those, without looking them up.
        self.changed_contacts: list[Contact] = []
        self.changed_agents: list[AgentTimeline] = []
        self.change_owner: object = None  # the view taking those lists; None: no tracking
        self._next_housekeeping = _NEVER
        # No open contact can expire while (watermark - max_open) is at or below this.
        self._expiry_floor = _NEVER

        # Sealed totals: date -> queue -> stats; interval start -> queue -> stats;
        # date -> agent -> [handled, handle ms].
        self.days: dict[str, dict[str, QueueStats]] = {}
        self.intervals: dict[int, dict[str, QueueStats]] = {}
        self.agent_days: dict[str, dict[str, list[int]]] = {}
        # Under Limits.agent_intervals: interval start (where the handling ended) ->
        # (agent, queue) -> [handled, handle ms, talk ms, wrap-up ms]; else None.
        self.agent_ivals: Optional[dict[int, dict[tuple[str, str], list[int]]]] = {} if limits.agent_intervals else None
        # Legs of sealed contacts not yet in those totals (see _fold_sealed), and
        # the earliest offered time among them.
        self._unfolded: list[Leg] = []
        self._unfolded_min = _FAR
        # Every queue this site has had contacts in, so a wall keeps its tiles after midnight.
        self.queues_seen: set[str] = set()

        self.events = 0
        self.duplicates = 0
        self.rejected: dict[str, int] = {}
        self.dead: list[tuple[object, str]] = []
        self.dead_dropped = 0

    # -- parameters -----------------------------------------------------------

    def qparams(self, queue: str) -> tuple[int, int, str]:
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
        it evaluates the site there first), duplicate or not.

        This is the hot loop of a replay (a million events a day): the site's
        state is held in local variables, written back before any call that
        reads them (``_catch_up``) and at the end.
        """
        # Typed locals: compiled (mypyc, see setup.py) they become C values and
        # direct calls; interpreted, a local load is still the cheapest.
        seen: set[str] = self.seen
        seen_ids: list[Optional[str]] = self._seen_ids
        block_max: list[int] = self._block_max
        cur_max: int = self._cur_max
        queues_seen: set[str] = self.queues_seen
        open_set: set[Contact] = self.open
        calls: dict[str, Contact] = self.calls
        tickets: dict[str, Contact] = self.tickets
        agents: dict[str, AgentTimeline] = self.agents
        contact_kind: dict[type, tuple[int, int, int, bool]] = _CONTACT_KIND
        cal = self.cal
        lateness: int = self.lateness
        clock: int = self._clock
        wm: int = self.watermark
        next_hk: int = self._next_housekeeping
        site: str = self.site
        track: bool = self.change_owner is not None
        changed_contacts: list[Contact] = self.changed_contacts
        changed_agents: list[AgentTimeline] = self.changed_agents
        # Past this an event is judged first (_ahead): the reference's bound, or
        # the clock's while it follows the events.
        max_ahead: int = self.limits.max_ahead
        ref = self.reference
        follow = ref is None
        ahead_at: int = (_FAR if clock == _NEVER else clock + max_ahead) if ref is None else ref + max_ahead
        n_events = 0
        i = start
        n = len(evs)
        try:
            while i < n:
                ev = evs[i]
                if same_site:
                    s: str = ev.site
                    if s != site:
                        break
                raw_ts = ev.ts
                if isinstance(raw_ts, int):
                    ts: int = raw_ts
                else:
                    ts = E.ts_to_ms(raw_ts)
                    ev.ts = ts
                if ts > ahead_at and self._ahead(evs, i, ts, same_site):
                    i += 1
                    continue
                if ts > until:
                    break
                i += 1
                eid: str = ev.id
                n_seen = len(seen)
                seen.add(eid)
                if len(seen) == n_seen:
                    self.duplicates += 1
                    continue
                seen_ids.append(eid)
                if ts > cur_max:
                    cur_max = ts
                if not len(seen_ids) & _ID_BLOCK_MASK:
                    block_max.append(cur_max)
                    cur_max = _NEVER
                if ts < wm:
                    self._reject(ev, "late: older than the lateness bound")
                    continue
                n_events += 1
                if ts > clock:
                    clock = ts
                    if follow:
                        ahead_at = ts + max_ahead
                    wm = ts - lateness
                    if wm >= next_hk or self._next_due < wm:
                        # Something to seal or housekeeping due: the slow path.
                        self._clock = clock
                        self._catch_up(wm)
                        next_hk = self._next_housekeeping
                cls = type(ev)
                if cls is _AgentState:
                    name: str = ev.agent
                    a = agents.get(name)
                    if a is None:
                        a = agents[name] = AgentTimeline(name)
                        if self.agent_ivals is not None:
                            a.ivals = {}
                    a.add_at(ev, ts, eid)
                    if track and not a.vmark:
                        a.vmark = True
                        changed_agents.append(a)
                    if len(a.trans) > _AGENT_SEAL_AT:
                        a.seal(wm, cal)
                    continue
                kind, rank, step, opens_leg = contact_kind[cls]
                if kind == CALL:
                    book = calls
                    cid: str = ev.call
                else:
                    book = tickets
                    cid = ev.ticket
                c = book.get(cid)
                if c is None:
                    if cls is _CallOffered or cls is _TicketIssued:
                        # A new contact's offer (Contact.add of its first event, in line).
                        q = ev.queue
                        c = book[cid] = Contact.opened_by_offer(kind, cid, ev, eid, Leg(q, ts, ev.priority, ev.vip))
                        open_set.add(c)
                        if track:
                            c.vmark = True
                            changed_contacts.append(c)
                        if q not in queues_seen:
                            queues_seen.add(q)
                    else:
                        self._contact_first(ev, book, cid, kind)
                    continue
                if c.sealed:
                    self._reject(ev, f"{ev.kind}: contact already closed")
                    continue
                if c.add_ranked(ev, ts, eid, rank, step) or opens_leg:
                    # Replayed, or a transfer: the contact may be in a queue not seen yet.
                    self._saw_queues(c)
                if track and not c.vmark:
                    c.vmark = True
                    changed_contacts.append(c)
                if c.done or c.contra:
                    self._push_due(c.last_ts, kind, cid)
        finally:
            self.events += n_events
            self._cur_max = cur_max
            self._clock = clock
            self.watermark = wm
        return i

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

    def _contact_first(self, ev, book: dict, cid: str, kind: int) -> None:
        c = book[cid] = Contact(kind, cid)
        self.open.add(c)
        c.add(ev)
        self._changed(c)
        if c.legs:
            self._saw_queues(c)
        else:
            # An event before its contact's offer: wait for the offer until the watermark passes.
            self._push_due(c.last_ts, kind, cid)

    def _changed(self, c: Contact) -> None:
        """List ``c`` as changed for the tracking view, if any (the hot loop does this in line)."""
        if self.change_owner is not None and not c.vmark:
            c.vmark = True
            self.changed_contacts.append(c)

    def _push_due(self, t: int, kind: int, cid: str) -> None:
        """Look at contact ``cid`` again once the watermark passes ``t``."""
        self._seq += 1
        entry = (t, self._seq, kind, cid)
        if t >= self._due_last or self._due_head == len(self._due):
            self._due.append(entry)
            self._due_last = t
        else:
            _heappush(self._heap, entry)
        if t < self._next_due:
            self._next_due = t

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
        """Set the watermark to ``wm``: seal what it passed, housekeep when due."""
        self.watermark = wm
        due = self._due
        heap = self._heap
        while True:
            h = self._due_head
            if h < len(due) and (not heap or due[h] < heap[0]):
                if due[h][0] >= wm:
                    break
                _, _, kind, cid = due[h]
                self._due_head = h + 1
            elif heap and heap[0][0] < wm:
                _, _, kind, cid = _heappop(heap)
            else:
                break
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
        h = self._due_head
        if h > 4096 and h * 2 > len(due):
            del due[:h]
            self._due_head = h = 0
        if h < len(due):
            nxt = due[h][0]
            if heap and heap[0][0] < nxt:
                nxt = heap[0][0]
        else:
            nxt = heap[0][0] if heap else _FAR
        self._next_due = nxt
        if wm >= self._next_housekeeping:
            self._housekeep(wm)

    def _seal(self, c: Contact, kind: int, cid: str) -> None:
        c.sealed = True
        self.open.discard(c)
        # A sealed contact never changes again, so its legs can wait to be
        # folded into the totals (_fold_sealed) until figures are asked for.
        legs = c.legs
        unfolded = self._unfolded
        unfolded.extend(legs)
        if legs[0].offered < self._unfolded_min:  # the first leg is offered first
            self._unfolded_min = legs[0].offered
        if len(unfolded) >= _FOLD_AT_MOST:
            self._fold_sealed()
        if c.anomalies:
            for reason, ev in c.anomalies:
                self._reject(ev, reason)
        self._sealed_q.append((c.last_ts, kind, cid))
        # The events are no longer needed once sealed; the legs keep the figures.
        c.events = []

    def _drop(self, c: Contact, book: dict, cid: str, reason: str) -> None:
        self.open.discard(c)
        del book[cid]
        c.dropped = True
        self._changed(c)
        for ev in c.events:
            self._reject(ev, f"{ev.kind}: {reason}")

    def _reject(self, ev, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if len(self.dead) < self.limits.dead_letters:
            self.dead.append((ev, reason))
        else:
            self.dead_dropped += 1

    def _fold_sealed(self) -> None:
        """Fold the legs of sealed contacts into the day, interval and agent totals."""
        legs = self._unfolded
        if not legs:
            return
        self._unfolded = []
        self._unfolded_min = _FAR
        days, intervals, agent_days = self.days, self.intervals, self.agent_days
        for leg in legs:
            self._fold_leg(leg, days, intervals, agent_days)
        ai = self.agent_ivals
        if ai is not None:
            cal = self.cal
            for leg in legs:
                fold_agent_leg(leg, cal, ai)

    def _fold_leg(
        self,
        leg: Leg,
        days: dict[str, dict[str, QueueStats]],
        intervals: dict[int, dict[str, QueueStats]],
        agent_days: Optional[dict[str, dict[str, list[int]]]],
    ) -> None:
        # This runs for every leg sealed (and for every open leg of every snapshot).
        q = leg.queue
        t_ms, short_ms, variant = self.qparams(q)
        cal = self.cal
        offered = leg.offered
        d, i0 = cal.date_interval(offered)
        ds = stats_at(days, d, q, variant)
        ist = stats_at(intervals, i0, q, variant)
        ds.offered += 1
        ist.offered += 1
        answered = leg.answered
        if answered is not None:
            w = answered - offered
            ds.add_answered(w, t_ms)
            ist.add_answered(w, t_ms)
            he = leg.handle_end
            if he is not None:
                ht = he - answered
                ds.add_handled(ht)
                # Intervals take handle time when the handling ended (metrics.md: AHT).
                stats_at(intervals, cal.interval_start(he), q, variant).add_handled(ht)
                agent = leg.agent
                if agent_days is not None and agent is not None:
                    ad = agent_days.get(d)
                    if ad is None:
                        ad = agent_days[d] = {}
                    row = ad.get(agent)
                    if row is None:
                        ad[agent] = [1, ht]
                    else:
                        row[0] += 1
                        row[1] += ht
        elif leg.abandoned is not None:
            w = leg.abandoned - offered
            ds.add_abandoned(w, short_ms)
            ist.add_abandoned(w, short_ms)
        elif leg.transferred is not None:
            ds.transferred += 1
            ist.transferred += 1

    def _housekeep(self, wm: int) -> None:
        self._next_housekeeping = wm + _HOUSEKEEP_EVERY
        lim = self.limits
        # Agents are sealed as their transitions pile up (``_on_agent``), not here.
        # Contacts leave memory an hour after the watermark passed them (sliding windows).
        sq = self._sealed_q
        horizon = wm - _HOUR
        while sq and sq[0][0] < horizon:
            _, kind, cid = sq.popleft()
            book = self.calls if kind == CALL else self.tickets
            c = book.get(cid)
            if c is not None and c.sealed and c.last_ts < horizon:
                del book[cid]
        # Forget ids older than the dedup horizon, a block at a time, oldest
        # arrivals first, up to the first block with an id still inside it (so
        # an id is kept at least the horizon, a little longer with its block).
        cutoff = wm - lim.dedup_horizon
        block_max = self._block_max
        j0 = j = self._block_k
        nb = len(block_max)
        while j < nb and block_max[j] < cutoff:
            j += 1
        if j > j0:
            ids = self._seen_ids
            lo, hi = j0 * _ID_BLOCK, j * _ID_BLOCK
            gone = ids[lo:hi]
            # The list lets go of these ids here too (same length: nothing moves), so
            # they are freed right after leaving the set, while still in cache.
            ids[lo:hi] = [None] * (hi - lo)
            self.seen.difference_update(gone)
            del gone
            if j > 256 and j * 2 > nb:
                del ids[: j * _ID_BLOCK]
                del block_max[:j]
                j = 0
            self._block_k = j
        stale = wm - lim.max_open
        if stale > self._expiry_floor:
            # Oldest first (then calls before tickets, by id): the dead letters kept under
            # their cap must not depend on the set's order in memory.
            for c in sorted([c for c in self.open if c.last_ts < stale], key=_expiry_order):
                self._drop(c, self.calls if c.kind == CALL else self.tickets, c.cid, "contact never ended (expired)")
            # Until the next scan can drop something, skip it: a contact open now
            # keeps its last_ts (it only grows); one opened later starts at or
            # after this watermark.
            self._expiry_floor = min((c.last_ts for c in self.open), default=wm)
            if wm < self._expiry_floor:
                self._expiry_floor = wm
        if lim.keep_days is not None or lim.keep_interval_days is not None:
            self._trim(wm)

    def _trim(self, wm: int) -> None:
        start, _ = self.cal.day_bounds(wm)
        lim = self.limits
        if self._unfolded:
            # Fold waiting legs first if any could land in what is cut below.
            oldest = self._unfolded_min
            if (lim.keep_interval_days is not None and oldest < start - lim.keep_interval_days * 24 * _HOUR + INTERVAL_MS) or (
                lim.keep_days is not None and oldest < start - lim.keep_days * 24 * _HOUR
            ):
                self._fold_sealed()
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

    def _open_legs(self) -> Iterable[Leg]:
        for c in self.open:
            yield from c.legs

    def totals(self, dates: Optional[set[str]] = None) -> tuple[dict, dict, dict]:
        """Day, interval and agent-day totals, sealed plus open contacts.

        ``dates`` limits the copy to those local dates (the snapshot needs only today).
        """
        self._fold_sealed()
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
        for leg in self._open_legs():
            if leg.offered is not None:
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
        self._fold_sealed()
        handled = {k: {ak: list(r) for ak, r in v.items()} for k, v in self.agent_ivals.items() if lo <= k < hi}
        opened: dict = {}
        for leg in self._open_legs():
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
        """Per window ("5m", "15m", "60m", or those of ``minutes``, ascending), per queue:
        contacts offered in the last N minutes.

        AHT counts contacts whose handling ended in the window. ``percentiles=False``
        leaves the wait histograms empty (the alert rules never read them).
        """
        # The windows are nested, so each leg is counted once, in the ring
        # between two window starts where it falls, and a window is the sum of
        # its rings (the sums merge exactly; so do maxima and histograms).
        starts = [now - m * 60_000 for m in minutes]
        rings: list[dict[str, QueueStats]] = [{} for _ in starts]
        oldest = starts[-1]
        for book in (self.calls, self.tickets):
            for c in book.values():
                if c.last_ts < oldest:
                    continue
                for leg in c.legs:
                    self._fold_sliding(leg, starts, rings, now, percentiles)
        out: dict[str, dict[str, QueueStats]] = {}
        acc: dict[str, QueueStats] = {}
        for m, ring in zip(minutes, rings):
            for q, st in ring.items():
                a = acc.get(q)
                if a is None:
                    acc[q] = st
                else:
                    a.merge(st)
            out[f"{m}m"] = {q: st.copy() for q, st in acc.items()}
        return out

    def _fold_sliding(
        self, leg: Leg, starts: list[int], rings: list[dict[str, QueueStats]], now: int, percentiles: bool
    ) -> None:
        q = leg.queue
        t_ms, short_ms, variant = self.qparams(q)
        offered = leg.offered
        answered = leg.answered
        if offered <= now:
            qs = _ring_stats(rings, starts, offered, q, variant)
            if qs is not None:
                qs.offered += 1
                if answered is not None and answered <= now:
                    qs.add_answered(answered - offered, t_ms, percentiles)
                elif leg.abandoned is not None and leg.abandoned <= now:
                    qs.add_abandoned(leg.abandoned - offered, short_ms)
                elif leg.transferred is not None and leg.transferred <= now:
                    qs.transferred += 1
        he = leg.handle_end
        if answered is not None and he is not None and he <= now:
            qs = _ring_stats(rings, starts, he, q, variant)
            if qs is not None:
                qs.add_handled(he - answered)

    def waiting(self, now: int) -> dict[str, WaitingRow]:
        """Per queue: contacts waiting now, the oldest one's wait, VIPs waiting."""
        acc: dict[str, list[int]] = {}
        for c in self.open:
            for leg in c.legs:
                if leg.answered is None and leg.abandoned is None and leg.transferred is None:
                    add_waiting(acc, leg)
        return waiting_rows(acc, now)

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
        rows: dict[str, AgentNow] = {}
        for name in self.agents:
            a = self._sealed_agent(name)
            assert a is not None  # a name from self.agents
            f = a.state_now(now)
            rows[name] = cast(AgentNow, {"label": self._agent_label(name), **f})
        return rows

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


def _expiry_order(c: Contact) -> tuple[int, int, str]:
    return (c.last_ts, c.kind, c.cid)


def add_waiting(acc: dict[str, list[int]], leg: Leg) -> None:
    """Count waiting ``leg`` in ``acc``: queue -> [waiting, oldest offered, VIPs waiting, oldest VIP offered] (_FAR: none)."""
    q = leg.queue
    a = acc.get(q)
    if a is None:
        a = acc[q] = [0, _FAR, 0, _FAR]
    off = leg.offered
    a[0] += 1
    if off < a[1]:
        a[1] = off
    if leg.vip or leg.priority > 0:
        a[2] += 1
        if off < a[3]:
            a[3] = off


def waiting_rows(acc: dict[str, list[int]], now: int) -> dict[str, WaitingRow]:
    """The waiting figures per queue at ``now`` from what ``add_waiting`` counted."""
    out: dict[str, WaitingRow] = {}
    for q, (n, oldest, n_vip, vip_oldest) in acc.items():
        out[q] = {
            "waiting": n,
            "vip_waiting": n_vip,
            "longest_wait_s": max(0, now - oldest) / 1000.0,
            "longest_vip_wait_s": max(0, now - vip_oldest) / 1000.0 if vip_oldest != _FAR else 0.0,
        }
    return out


def fold_agent_leg(leg: Leg, cal: DayCalendar, table: dict) -> None:
    """Add a handled leg to ``table`` (interval of its handling's end -> (agent, queue) ->
    [handled, handle ms, talk ms, wrap-up ms]). Talk runs from the answer to the talk's end
    (holds included: the core counts holds, not their length), wrap-up from there to the
    handling's end; a ticket's service is all talk."""
    he = leg.handle_end
    answered = leg.answered
    agent = leg.agent
    if he is None or answered is None or agent is None:
        return
    te = leg.talk_end if leg.talk_end is not None else he
    k = cal.interval_start(he)
    rows = table.get(k)
    if rows is None:
        rows = table[k] = {}
    key = (agent, leg.queue)
    r = rows.get(key)
    if r is None:
        rows[key] = [1, he - answered, te - answered, he - te]
    else:
        r[0] += 1
        r[1] += he - answered
        r[2] += te - answered
        r[3] += he - te


def stats_at(table: dict[Any, dict[str, QueueStats]], key: Any, q: str, variant: str) -> QueueStats:
    """Queue ``q``'s stats under ``key`` (a date, an interval) of ``table``, created empty when new."""
    by_queue = table.get(key)
    if by_queue is None:
        by_queue = table[key] = {}
    st = by_queue.get(q)
    if st is None:
        st = by_queue[q] = QueueStats(variant)
    return st


def _ring_stats(
    rings: list[dict[str, QueueStats]], starts: list[int], t: int, q: str, variant: str
) -> Optional[QueueStats]:
    """Queue ``q``'s stats in the innermost ring whose start ``t`` is after; None: older than all."""
    i = 0
    n = len(starts)
    while i < n and t <= starts[i]:
        i += 1
    if i == n:
        return None
    ring = rings[i]
    qs = ring.get(q)
    if qs is None:
        qs = ring[q] = QueueStats(variant)
    return qs


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

