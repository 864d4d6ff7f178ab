"""Incremental alert snapshots: what ``Floor.alert_snapshot`` returns, without rescanning the site.

The alert driver evaluates every site every 30 s of event time. A full alert
snapshot rescans the site's last hour of contacts and every agent it has
seen: on a 150,000-call day that is ~11,000 contacts and ~1,600 agents, 1,750
times for the busiest site, and it was most of a worker's time. Between two
evaluations only the contacts and agents that events folded in between
applied to can change (a contact's legs and an agent's timeline change only
when one of its own events is folded; sealing, housekeeping and watermarks
never change them, they only drop what is too old to count), so a view keeps:

* per leg, what it adds to the sliding windows (on the leg itself: no lookup),
  filed in buckets of ``bucket_ms`` event time by the instant it counts at
  (offered; handling ended), and per bucket and queue the sums; a window is
  the sum of its buckets (windows and the evaluation instants are whole
  buckets);
* the legs that were waiting when last filed (the waiting figures);
* per agent, its state row without the time in state; per queue, the
  logged-in agents by state; per skill, how many agents have it.

The site tracks its changes for the view (``SiteCore.change_owner``): the
contacts and agents an applied event changed, each listed once until the
view takes the list. At each snapshot the view refreshes those and
assembles the snapshot as ``Floor.alert_snapshot`` assembles it (that full
rescan stays the reference: tests/alerts/test_view.py holds the two equal on a
busy day, boundary by boundary). A view primes itself from the whole site the
first time it is asked, so it can start on a floor that already holds state;
a site has one view taking its changes at a time (a later one takes over, and
the earlier one refuses to go on).

Pure like the core: no I/O, no clock.
"""

from __future__ import annotations

import itertools
from typing import Any, Final, Iterable, Optional, cast

from stream.fold.agent import AgentTimeline
from stream.alerts.rules import AGENT_RULES
from stream.fold.contact import Contact, Leg
from stream.fold.floor import Floor, _counters, _labels, _NOBODY_WAITING, _queue_names
from stream.fold.interface import TrackedSiteFold, WaitingRow
from stream.fold.site import SiteCore, add_waiting, state_counts, waiting_rows
from stream.fold.stats import QueueStats

__all__ = ["AlertViews", "NativeAlertView", "SiteAlertView", "WINDOWS_MIN"]

# The windows the rules and detectors read (as Floor.alert_snapshot).
WINDOWS_MIN = (5, 15)
_MINUTE: Final = 60_000

# The agent states some agent rule watches: the rows a ``watched_only`` snapshot holds.
_WATCHED = frozenset(AGENT_RULES)

# What one record of a leg counts in its bucket (with its time in ms, where it has one).
_WAITING: Final = 0
_TRANSFERRED: Final = 1
_ABANDONED: Final = 2
_ABANDONED_SHORT: Final = 3
_ANSWERED: Final = 4
_ANSWERED_WITHIN: Final = 5
_HANDLED: Final = 6


class _Bucket:
    """One queue's sums over one bucket of event time, and its waits (for the largest).

    The sums are what QueueStats counts, minus the largest wait; as plain int
    fields, compiled they are C integers (a list would box every one).
    """

    __slots__ = ("offered", "answered", "abandoned", "short", "transferred", "within", "wait_sum", "handled", "handle_sum",
                 "waits", "maxw")

    def __init__(self) -> None:
        self.offered = 0
        self.answered = 0
        self.abandoned = 0
        self.short = 0
        self.transferred = 0
        self.within = 0
        self.wait_sum = 0
        self.handled = 0
        self.handle_sum = 0
        # wait ms -> how many answered/abandoned legs waited that long
        self.waits: dict[int, int] = {}
        # The largest wait, or None when a removal may have taken it (recomputed on read).
        self.maxw: Optional[int] = -1

    def add(self, what: int, ms: int, sign: int) -> None:
        """Count (``sign`` 1) or uncount (-1) one record: ``what`` it is, and its wait or handle time."""
        if what == _HANDLED:
            self.handled += sign
            self.handle_sum += sign * ms
            return
        self.offered += sign
        if what == _WAITING:
            return
        if what == _TRANSFERRED:
            self.transferred += sign
            return
        if what >= _ANSWERED:
            self.answered += sign
            self.wait_sum += sign * ms
            if what == _ANSWERED_WITHIN:
                self.within += sign
        else:
            self.abandoned += sign
            if what == _ABANDONED_SHORT:
                self.short += sign
        # An answered or abandoned leg's wait: the bucket's largest is kept.
        waits = self.waits
        if sign > 0:
            waits[ms] = waits.get(ms, 0) + 1
            if self.maxw is not None and ms > self.maxw:
                self.maxw = ms
        else:
            n = waits[ms] - 1
            if n:
                waits[ms] = n
            else:
                del waits[ms]
                if ms == self.maxw:
                    self.maxw = None

    def merge(self, b: "_Bucket") -> None:
        """Add bucket ``b``'s sums to these (the largest wait apart)."""
        self.offered += b.offered
        self.answered += b.answered
        self.abandoned += b.abandoned
        self.short += b.short
        self.transferred += b.transferred
        self.within += b.within
        self.wait_sum += b.wait_sum
        self.handled += b.handled
        self.handle_sum += b.handle_sum

    def max_wait(self) -> int:
        if self.maxw is None:
            # As QueueStats: -1 until a wait is larger (a negative wait never counts).
            self.maxw = max(self.waits, default=-1) if self.waits else -1
            if self.maxw < -1:
                self.maxw = -1
        return self.maxw


# A leg has no handled record (vhk): below any bucket.
_NO_RECORD: Final = -(2**62)
# Each view stamps the legs it files (Leg.vgen), so a second view on the same
# site (a driver started over) never mistakes another's records for its own.
_gens: Final = itertools.count(1)


class _Counts:
    """One queue's logged-in agents by state (what core.state_counts counts), as C integers."""

    __slots__ = ("ready", "busy", "wrap_up", "not_ready", "logged_in", "reasons")

    def __init__(self) -> None:
        self.ready = 0
        self.busy = 0
        self.wrap_up = 0
        self.not_ready = 0
        self.logged_in = 0
        # not-ready reason -> agents
        self.reasons: dict[str, int] = {}

    def add(self, state: str, reason: Optional[str], sign: int) -> None:
        """Count one logged-in agent into (``sign`` 1) or out of (-1) ``state``."""
        if state == "busy":
            self.busy += sign
        elif state == "ready":
            self.ready += sign
        elif state == "wrap_up":
            self.wrap_up += sign
        elif state == "not_ready":
            self.not_ready += sign
            r = reason or "unspecified"
            reasons = self.reasons
            n = reasons.get(r, 0) + sign
            if n:
                reasons[r] = n
            else:
                del reasons[r]

    def as_dict(self) -> dict:
        return {
            "ready": self.ready,
            "busy": self.busy,
            "wrap_up": self.wrap_up,
            "not_ready": self.not_ready,
            "logged_in": self.logged_in,
            "not_ready_reasons": dict(self.reasons),
        }


class _AgentRow:
    """What the view last read of one agent, and where it counted it."""

    __slots__ = ("state", "reason", "since", "queues", "counter", "distinct", "row", "counts")

    def __init__(
        self,
        state: str,
        reason: Optional[str],
        since: Optional[int],
        queues: tuple,
        counter: Optional[str],
        distinct: tuple,
        row: Optional[dict],
        counts: list[_Counts],
    ) -> None:
        self.state = state
        self.reason = reason
        self.since = since
        self.queues = queues
        self.counter = counter
        # Its skills, each once (an agent in a queue counts once in it).
        self.distinct = distinct
        # Its snapshot row, None when logged out; the counts of its distinct queues (logged in).
        self.row = row
        self.counts = counts


class SiteAlertView:
    """The alert snapshot of one site, kept up to date from what the site says changed."""

    def __init__(self, sc: SiteCore, bucket_ms: int = 30_000, windows_min: Iterable[int] = WINDOWS_MIN) -> None:
        self.sc = sc
        self.g = bucket_ms
        self.gen: int = next(_gens)
        self.windows = tuple(sorted(windows_min))
        if any(m * _MINUTE % bucket_ms for m in self.windows):
            raise ValueError("the windows must be whole buckets")
        self.nb = {m: m * _MINUTE // bucket_ms for m in self.windows}
        self.span = max(self.nb.values())
        self.primed = False
        # bucket -> queue -> sums
        self.buckets: dict[int, dict[str, _Bucket]] = {}
        # Buckets at or below this can never be in a window again (the clock only grows).
        self.dead = -(2**62)
        # Legs that were waiting when last filed, with their contact: a superset
        # of the legs waiting now (checked at each snapshot; a handful, not the open contacts).
        self.waiters: dict[Leg, Contact] = {}
        # agent -> what the view last read of it
        self.rows: dict[str, _AgentRow] = {}
        # skill -> agents having it (logged out or not: Floor._queue_names counts them all)
        self.skills: dict[str, int] = {}
        # queue -> its logged-in agents by state (as core.state_counts)
        self.counts: dict[str, _Counts] = {}
        # The logged-in agents' rows by name, sorted; rebuilt when someone logs in or out.
        self.active: dict[str, dict] = {}
        self._sorted: Optional[dict[str, dict]] = None
        # The logged-in agents in a state an agent rule watches (the same rows), in no order.
        self.watched: dict[str, dict] = {}
        # Logged-in agents at a counter (halls), and the site's agent order for them.
        self.countered: set[str] = set()
        self._pos: dict[str, int] = {}

    # -- input ------------------------------------------------------------------

    def _prime(self) -> None:
        """Start tracking the site's changes, with everything it holds as changed."""
        sc = self.sc
        for c in sc.changed_contacts:
            c.vmark = False
        for a in sc.changed_agents:
            a.vmark = False
        contacts: list[Contact] = [*sc.calls.values(), *sc.tickets.values()]
        agents: list[AgentTimeline] = list(sc.agents.values())
        for c in contacts:
            c.vmark = True
        for a in agents:
            a.vmark = True
        sc.changed_contacts = contacts
        sc.changed_agents = agents
        sc.change_owner = self
        self.primed = True

    # -- contacts -----------------------------------------------------------------

    def _file(self, k: int, q: str, what: int, ms: int, sign: int) -> None:
        """Count (``sign`` 1) or uncount (-1) one record in bucket ``k`` of queue ``q``, if that bucket is alive."""
        if k <= self.dead:
            return
        buckets = self.buckets
        bq = buckets.get(k)
        if bq is None:
            bq = buckets[k] = {}
        b = bq.get(q)
        if b is None:
            b = bq[q] = _Bucket()
        b.add(what, ms, sign)

    def _unfile_leg(self, leg: Leg) -> None:
        """Take back what ``leg`` filed (a replay rebuilt its contact's legs, or the site dropped the contact)."""
        q = leg.queue
        self._file(leg.vk, q, leg.vwhat, leg.vms, -1)
        if leg.vhk != _NO_RECORD:
            self._file(leg.vhk, q, _HANDLED, leg.vhms, -1)
        leg.vgen = 0

    def _refresh_leg(self, leg: Leg, c: Contact) -> None:
        """File what ``leg`` adds to the windows now, in place of what it filed before.

        A leg has a main record (offered: waiting, answered within T or not,
        abandoned short or not, transferred; in the bucket of its offer) and,
        once handled, a handled record (in the bucket its handling ended).
        Everything in it is at or before the site's clock.
        """
        g = self.g
        off: int = leg.offered
        q = leg.queue
        k = -(-off // g)
        hk: int = _NO_RECORD
        hms = 0
        ms = 0
        ans = leg.answered
        if ans is not None:
            ms = ans - off
            what = _ANSWERED_WITHIN if ms <= self.sc.qparams(q)[0] else _ANSWERED
            he = leg.handle_end
            if he is not None:
                hk = -(-he // g)
                hms = he - ans
        else:
            ab = leg.abandoned
            if ab is not None:
                ms = ab - off
                what = _ABANDONED_SHORT if ms < self.sc.qparams(q)[1] else _ABANDONED
            elif leg.transferred is not None:
                what = _TRANSFERRED
            else:
                what = _WAITING
                self.waiters[leg] = c
        if leg.vgen == self.gen:
            if leg.vk != k or leg.vwhat != what or leg.vms != ms:
                self._file(leg.vk, q, leg.vwhat, leg.vms, -1)
                self._file(k, q, what, ms, 1)
            elif leg.vhk == hk and leg.vhms == hms:
                return  # an event that moved nothing in the windows (a hold, a talk end)
            if leg.vhk != hk or leg.vhms != hms:
                if leg.vhk != _NO_RECORD:
                    self._file(leg.vhk, q, _HANDLED, leg.vhms, -1)
                if hk != _NO_RECORD:
                    self._file(hk, q, _HANDLED, hms, 1)
        else:
            self._file(k, q, what, ms, 1)
            if hk != _NO_RECORD:
                self._file(hk, q, _HANDLED, hms, 1)
            leg.vgen = self.gen
        leg.vk = k
        leg.vwhat = what
        leg.vms = ms
        leg.vhk = hk
        leg.vhms = hms

    def _refresh_contacts(self) -> None:
        """Refile the legs of every contact changed since the last snapshot."""
        sc = self.sc
        changed = sc.changed_contacts
        if not changed:
            return
        sc.changed_contacts = []
        gen = self.gen
        for c in changed:
            c.vmark = False
            legs = c.legs
            old = c.vlegs
            if c.dropped:
                # The site let it go unfinished: what it filed goes too.
                for leg in legs if old is None or old is legs else [*old, *legs]:
                    if leg.vgen == gen:
                        self._unfile_leg(leg)
                continue
            if old is not legs:
                # A replay (an event out of order) rebuilt the legs: the old ones' records go.
                if old is not None:
                    for leg in old:
                        if leg.vgen == gen:
                            self._unfile_leg(leg)
                c.vlegs = legs
            for leg in legs:
                self._refresh_leg(leg, c)

    def _waiting(self, now: int) -> dict[str, WaitingRow]:
        """``SiteCore.waiting(now)`` from the legs known to wait (after ``_refresh_contacts``).

        A leg counts while it waits, is still one this view filed (not left
        behind by a replay) and its contact is open (not dropped); the others leave.
        """
        acc: dict[str, list[int]] = {}
        gone: list[Leg] = []
        open_set = self.sc.open
        gen = self.gen
        for leg, c in self.waiters.items():
            if leg.answered is None and leg.abandoned is None and leg.transferred is None and leg.vgen == gen and c in open_set:
                add_waiting(acc, leg)
            else:
                gone.append(leg)
        for leg in gone:
            del self.waiters[leg]
        return waiting_rows(acc, now)

    # -- agents -------------------------------------------------------------------

    def _refresh_agents(self) -> None:
        """Re-read every agent changed since the last snapshot."""
        sc = self.sc
        changed = sc.changed_agents
        if not changed:
            return
        sc.changed_agents = []
        for a in changed:
            a.vmark = False
            self._refresh_agent(a)

    def _refresh_agent(self, a: AgentTimeline) -> None:
        name = a.agent
        # What AgentTimeline.state_now reads, minus the time in state (set at each snapshot).
        # No sealing here: state_since walks back only to the last change,
        # and the core seals an agent's transitions as they pile up.
        trans = a.trans
        state: str
        reason: Optional[str]
        if trans:
            e = trans[-1]
            state = e.state
            reason = e.reason
        else:
            state, reason = "logged_out", None
        since = a.state_since()
        queues = a.queues
        counter = a.counter
        rows = self.rows
        skills = self.skills
        r = rows.get(name)
        row: Optional[dict] = None
        if r is not None:
            same_place = r.queues == queues and r.counter == counter
            if same_place and r.state == state and r.reason == reason and r.since == since:
                return  # an event that changed nothing we show (a duplicate, a late one)
            row = r.row
            if row is not None and same_place and state != "logged_out":
                # The common change: a logged-in agent's state, same skills and counter.
                for cnt in r.counts:
                    cnt.add(r.state, r.reason, -1)
                    cnt.add(state, reason, 1)
                if state in _WATCHED:
                    self.watched[name] = row
                elif r.state in _WATCHED:
                    del self.watched[name]
                row["state"] = state
                row["reason"] = reason
                row["since"] = since
                r.state = state
                r.reason = reason
                r.since = since
                return
            for q in r.distinct:
                n = skills[q] - 1
                if n:
                    skills[q] = n
                else:
                    del skills[q]
            if row is not None:
                for cnt in r.counts:
                    cnt.add(r.state, r.reason, -1)
                    cnt.logged_in -= 1
                self.countered.discard(name)
                if r.state in _WATCHED:
                    del self.watched[name]
        distinct = tuple(dict.fromkeys(queues))
        for q in distinct:
            skills[q] = skills.get(q, 0) + 1
        if state == "logged_out":
            if row is not None:
                del self.active[name]
                self._sorted = None
            rows[name] = _AgentRow(state, reason, since, queues, counter, distinct, None, [])
            return
        fresh = {
            "label": self.sc._agent_label(name),
            "state": state,
            "reason": reason,
            "since": since,
            "time_in_state_s": None,  # set at each snapshot
            "queues": list(queues),
            "counter": counter,
        }
        if row is None:
            row = self.active[name] = fresh
            self._sorted = None
        else:
            row.update(fresh)  # the same dict stays in the sorted one
        counts = [self._counts_of(q) for q in distinct]
        for cnt in counts:
            cnt.logged_in += 1
            cnt.add(state, reason, 1)
        rows[name] = _AgentRow(state, reason, since, queues, counter, distinct, row, counts)
        if state in _WATCHED:
            self.watched[name] = row
        if counter:
            self.countered.add(name)

    def _counts_of(self, q: str) -> _Counts:
        c = self.counts.get(q)
        if c is None:
            c = self.counts[q] = _Counts()
        return c

    def _counter_rows(self) -> dict[str, dict]:
        """The logged-in agents at a counter, in the site's agent order (a counter's last one wins)."""
        agents = self.sc.agents
        if len(self._pos) != len(agents):
            self._pos = {name: i for i, name in enumerate(agents)}
        pos, active = self._pos, self.active
        return {name: active[name] for name in sorted(self.countered, key=pos.__getitem__)}

    def _advance(self, k_now: int) -> None:
        """Forget buckets no window can reach any more."""
        dead = k_now - self.span
        if dead <= self.dead:
            return
        buckets = self.buckets
        if dead - self.dead > len(buckets):
            # A long jump (a quiet night walked in 5-minute steps): only the buckets there are.
            for k in [k for k in buckets if k <= dead]:
                del buckets[k]
        else:
            for k in range(self.dead + 1, dead + 1):
                buckets.pop(k, None)
        self.dead = dead

    # -- figures ----------------------------------------------------------------

    def _window_stats(self, k_now: int) -> dict[str, dict[str, QueueStats]]:
        """Per window ("5m", "15m"), per queue: the sums of its buckets, as QueueStats."""
        sc, buckets = self.sc, self.buckets
        out: dict[str, dict[str, QueueStats]] = {}
        # Walk back from the newest bucket; each window takes the running sums when it is complete.
        # queue -> the sums so far, and the largest wait
        sums: dict[str, _Bucket] = {}
        largest: dict[str, int] = {}
        k = k_now
        for m in self.windows:
            lo = k_now - self.nb[m]
            while k > lo:
                bq = buckets.get(k)
                if bq is not None:
                    for q, b in bq.items():
                        acc = sums.get(q)
                        if acc is None:
                            acc = sums[q] = _Bucket()
                            largest[q] = -1
                        acc.merge(b)
                        mw = b.max_wait()
                        if mw > largest[q]:
                            largest[q] = mw
                k -= 1
            win: dict[str, QueueStats] = {}
            for q, s in sums.items():
                st = win[q] = QueueStats(sc.qparams(q)[2])
                st.offered = s.offered
                st.answered = s.answered
                st.abandoned = s.abandoned
                st.short_abandoned = s.short
                st.transferred = s.transferred
                st.within = s.within
                st.wait_sum = s.wait_sum
                st.handled = s.handled
                st.handle_sum = s.handle_sum
                st.max_wait = largest[q]
            out[f"{m}m"] = win
        return out

    def snapshot(self, watched_only: bool = False, only: Optional[tuple] = None) -> dict:
        """``Floor.alert_snapshot(site)``, from what changed since the last call (``only`` is
        the native view's: this one gives every watched agent).

        The agent rows in it are the view's own and change at the next call:
        read it (as the engine does), don't keep it. ``watched_only``: only
        the agents in a state an agent rule watches (not ready, wrap-up), in
        no particular order: all the engine reads of the agents, and on a big
        floor most agents are in neither state (the driver's snapshot).
        """
        sc = self.sc
        now = sc.clock if sc.clock is not None else 0
        if not self.primed:
            self._prime()
        elif sc.change_owner is not self:
            raise RuntimeError(f"another alert view took over the changes of site {sc.site!r}")
        self._refresh_agents()
        g = self.g
        if now % g:
            # Not at a bucket edge (never so for the driver): the windows the slow way.
            sliding = sc.sliding(now, self.windows, percentiles=False)
            waiting = sc.waiting(now)
        else:
            k_now = now // g
            self._advance(k_now)
            self._refresh_contacts()
            sliding = self._window_stats(k_now)
            waiting = self._waiting(now)
        return self._assemble(now, sliding, waiting, watched_only)

    def _assemble(self, now: int, sliding: dict[str, dict[str, QueueStats]], waiting: dict[str, WaitingRow], watched_only: bool) -> dict:
        sc = self.sc
        cfg = sc.cfg
        if watched_only:
            agents = self.watched
        else:
            srt = self._sorted
            if srt is None:
                srt = self._sorted = dict(sorted(self.active.items()))
            agents = srt
        for row in agents.values():
            since = row["since"]
            row["time_in_state_s"] = (now - since) / 1000.0 if since is not None else None
        counts = self.counts
        names = _queue_names(sc, self.skills)
        queues = {}
        for q in names:
            variant = sc.qparams(q)[2]
            qc = cfg.queues.get(q)
            w = waiting.get(q) or _NOBODY_WAITING
            c = counts.get(q)
            queues[q] = {
                "name": _labels(qc.name if qc else None, q),
                **w,
                "agents": c.as_dict() if c is not None else state_counts(()),
                "sliding": {f"{m}m": (sliding[f"{m}m"].get(q) or QueueStats(variant)).figures(percentiles=False) for m in self.windows},
            }
        snap = {
            "site": sc.site,
            "kind": cfg.kind,
            "timezone": cfg.timezone,
            "clock": now,
            "date": sc.cal.date_of(now),
            "queues": queues,
            "agents": agents,
        }
        if cfg.kind == "hall" or cfg.counters:
            snap["counters"] = _counters(cfg.counters, self._counter_rows())
        return snap


class NativeAlertView:
    """The alert snapshot of a site folded by the native core, which keeps what this module's view
    keeps (the windows' buckets, the contacts that may wait, the agents by queue and state) as it
    folds, once the view asks it to (``track``). ``Floor.alert_snapshot`` stays the reference."""

    def __init__(self, floor: Floor, site: str, bucket_ms: int = 30_000) -> None:
        self.floor = floor
        self.site = site
        # The windows are Floor.alert_snapshot's (WINDOWS_MIN).
        if any(m * _MINUTE % bucket_ms for m in WINDOWS_MIN):
            raise ValueError("the windows must be whole buckets")
        cast(TrackedSiteFold, floor.site(site)).track(bucket_ms, _WATCHED)

    def snapshot(self, watched_only: bool = False, only: Optional[tuple] = None) -> dict:
        """``Floor.alert_snapshot(site)``; ``watched_only``: only the agents in a state an agent rule
        watches, in no order, rows the next call may change (the driver's snapshot). ``only``
        (with ``watched_only``; ``AlertEngine.agent_filter``'s floors and held agents): only the
        agents past their floor or held, the ones the engine reads."""
        if not watched_only:
            return self.floor.alert_snapshot(self.site)
        return self.floor.alert_snapshot(self.site, _WATCHED, only=only)


class AlertViews:
    """The views of every site of one floor (one per alert driver)."""

    def __init__(self, floor: Floor, bucket_ms: int = 30_000) -> None:
        self.floor = floor
        self.bucket_ms = bucket_ms
        self.views: dict[str, Any] = {}

    def view(self, site: str) -> Any:
        v = self.views.get(site)
        if v is None:
            if self.floor.native:
                v = self.views[site] = NativeAlertView(self.floor, site, self.bucket_ms)
            else:
                # The Python view reads the specification core's contacts and agents.
                v = self.views[site] = SiteAlertView(cast(SiteCore, self.floor.site(site)), self.bucket_ms)
        return v

    def snapshot(self, site: str, watched_only: bool = False) -> dict:
        return self.view(site).snapshot(watched_only)
