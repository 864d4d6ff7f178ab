"""Incremental alert snapshots: what ``Floor.alert_snapshot`` returns, without rescanning the site.

The alert driver evaluates every site every 30 s of event time. A full alert
snapshot rescans the site's last hour of contacts and every agent it has
seen: on a 150,000-call day that is ~11,000 contacts and ~1,600 agents, 1,750
times for the busiest site, and it was most of a worker's time. Between two
evaluations only the contacts and agents named by the events folded in
between can change (a contact's legs and an agent's timeline change only
when one of its own events is folded; sealing, housekeeping and watermarks
never change them, they only drop what is too old to count), so a view keeps:

* per contact, what its legs add to the sliding windows, filed in buckets of
  ``bucket_ms`` event time by the instant they count at (offered; handling
  ended), and per bucket and queue the sums; a window is the sum of its
  buckets (windows and the evaluation instants are whole buckets);
* per agent, its state row without the time in state; per skill, how many
  agents have it.

The driver names what its events touched (``touch``) and asks for the
snapshot (``snapshot``); touched contacts and agents are refreshed and the
snapshot is assembled as ``Floor.alert_snapshot`` assembles it (that full
rescan stays the reference: tests/test_alert_view.py holds the two equal on a
busy day, boundary by boundary). A view primes itself from the whole site the
first time it is asked, so it can start on a floor that already holds state.
Everything folded into the floor after that must be touched: the driver that
owns the view owns the floor.

Pure like the core: no I/O, no clock.
"""

from __future__ import annotations

from typing import Iterable, Optional

from stream import events as E
from stream.alerts.rules import AGENT_RULES
from stream.contact import Contact
from stream.core import Floor, _counters, _labels, _NOBODY_WAITING, _queue_names
from stream.site import SiteCore
from stream.stats import QueueStats

__all__ = ["AlertViews", "SiteAlertView", "WINDOWS_MIN"]

# The windows the rules and detectors read (as Floor.alert_snapshot).
WINDOWS_MIN = (5, 15)
_MINUTE = 60_000

# Event class -> which book of the site it names: "call", "ticket" or "agent".
_NAMES: dict[type, str] = {}
for _cls in E.EVENT_TYPES.values():
    _fields: tuple[str, ...] = getattr(_cls, "__struct_fields__")
    _NAMES[_cls] = "call" if "call" in _fields else "ticket" if "ticket" in _fields else "agent"
del _cls, _fields


# The agent states some agent rule watches: the rows a ``watched_only`` snapshot holds.
_WATCHED = frozenset(AGENT_RULES)

# What one record of a leg counts in its bucket (with its time in ms, where it has one).
_WAITING, _TRANSFERRED, _ABANDONED, _ABANDONED_SHORT, _ANSWERED, _ANSWERED_WITHIN, _HANDLED = range(7)


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


# A leg's contribution: (bucket, queue, what it counts, its wait or handle time in ms).
_Record = tuple[int, str, int, int]


def _latest(recs: list[_Record]) -> int:
    """The latest bucket of a contact's records (most have one or two: no generator for them)."""
    return max(recs[0][0], recs[-1][0]) if len(recs) < 3 else max(r[0] for r in recs)


class _Book:
    """The records filed for one kind of contact (calls or tickets), by id, until they are all dead.

    A contact is forgotten when the bucket of its latest record dies (touched
    again later, it starts afresh: its dead records are never filed), found
    through ``expiry`` rather than by rescanning every contact kept.
    """

    def __init__(self) -> None:
        # id -> records
        self.recs: dict[str, list[_Record]] = {}
        # bucket -> ids whose latest record was in it when filed (some have moved on since)
        self.expiry: dict[int, list[str]] = {}

    def keep(self, cid: str, new: list[_Record], dead: int) -> None:
        """``new`` is what contact ``cid`` has filed now."""
        latest = _latest(new)
        if latest <= dead:
            # Every record dead (a late contact): nothing of it is in a bucket.
            self.recs.pop(cid, None)
            return
        self.recs[cid] = new
        ids = self.expiry.get(latest)
        if ids is None:
            self.expiry[latest] = [cid]
        else:
            ids.append(cid)

    def forget(self, ks: list[int], dead: int) -> None:
        """Buckets ``ks`` died (all buckets up to ``dead`` are dead): forget the contacts they ended."""
        recs, expiry = self.recs, self.expiry
        for k in ks:
            ids = expiry.pop(k, None)
            if ids is None:
                continue
            for cid in ids:
                was = recs.get(cid)
                if was is not None and _latest(was) <= dead:
                    del recs[cid]


class SiteAlertView:
    """The alert snapshot of one site, kept up to date from what the driver touched."""

    def __init__(self, sc: SiteCore, bucket_ms: int = 30_000, windows_min: Iterable[int] = WINDOWS_MIN) -> None:
        self.sc = sc
        self.g = bucket_ms
        self.windows = tuple(sorted(windows_min))
        if any(m * _MINUTE % bucket_ms for m in self.windows):
            raise ValueError("the windows must be whole buckets")
        self.nb = {m: m * _MINUTE // bucket_ms for m in self.windows}
        self.primed = False
        self.calls: set[str] = set()
        self.tickets: set[str] = set()
        self.agents: set[str] = set()
        # bucket -> queue -> sums
        self.buckets: dict[int, dict[str, _Bucket]] = {}
        # Buckets at or below this can never be in a window again (the clock only grows).
        self.dead = -(2**62)
        # What the calls' and the tickets' legs have filed.
        self.call_book = _Book()
        self.ticket_book = _Book()
        # agent -> ((state, reason, since, queues, counter), distinct queues, its row or None when logged out)
        self.rows: dict[str, tuple] = {}
        # skill -> agents having it (logged out or not: Floor._queue_names counts them all)
        self.skills: dict[str, int] = {}
        # queue -> its logged-in agents by state (as core.state_counts)
        self.counts: dict[str, dict] = {}
        # The logged-in agents' rows by name, sorted; rebuilt when someone logs in or out.
        self.active: dict[str, dict] = {}
        self._sorted: Optional[dict[str, dict]] = None
        # The logged-in agents in a state an agent rule watches (the same rows), in no order.
        self.watched: dict[str, dict] = {}
        # Logged-in agents at a counter (halls), and the site's agent order for them.
        self.countered: set[str] = set()
        self._pos: dict[str, int] = {}

    # -- input ------------------------------------------------------------------

    def touch(self, evs: Iterable) -> None:
        """These events were (or are about to be) folded into the site."""
        names = _NAMES
        calls, tickets, agents = self.calls.add, self.tickets.add, self.agents.add
        for ev in evs:
            book = names[ev.__class__]
            if book == "call":
                calls(ev.call)
            elif book == "ticket":
                tickets(ev.ticket)
            else:
                agents(ev.agent)

    # -- refresh ----------------------------------------------------------------

    def _prime(self) -> None:
        sc = self.sc
        self.calls.update(sc.calls)
        self.tickets.update(sc.tickets)
        self.agents.update(sc.agents)
        self.primed = True

    def _records(self, c: Contact) -> list[_Record]:
        """What contact ``c``'s legs add to the windows (everything in it is at or before the clock)."""
        sc, g = self.sc, self.g
        out: list[_Record] = []
        for leg in c.legs:
            off = leg.offered
            if off is None:
                continue
            q = leg.queue
            t_ms, short_ms, _ = sc.qparams(q)
            ans = leg.answered
            if ans is not None:
                w = ans - off
                out.append((-(-off // g), q, _ANSWERED_WITHIN if w <= t_ms else _ANSWERED, w))
                he = leg.handle_end
                if he is not None:
                    out.append((-(-he // g), q, _HANDLED, he - ans))
            elif leg.abandoned is not None:
                w = leg.abandoned - off
                out.append((-(-off // g), q, _ABANDONED_SHORT if w < short_ms else _ABANDONED, w))
            elif leg.transferred is not None:
                out.append((-(-off // g), q, _TRANSFERRED, 0))
            else:
                out.append((-(-off // g), q, _WAITING, 0))
        return out

    def _file(self, recs: list[_Record], sign: int) -> None:
        buckets, dead = self.buckets, self.dead
        for k, q, what, ms in recs:
            if k <= dead:
                continue
            bq = buckets.get(k)
            if bq is None:
                bq = buckets[k] = {}
            b = bq.get(q)
            if b is None:
                b = bq[q] = _Bucket()
            b.add(what, ms, sign)

    def _refresh_contacts(self, book: _Book, contacts: dict[str, Contact], touched: set[str]) -> None:
        recs, dead = book.recs, self.dead
        for cid in touched:
            was = recs.get(cid)
            c = contacts.get(cid)
            new = self._records(c) if c is not None and c.legs else None
            if was is not None:
                if new is not None:
                    # Records common to the start of both stay filed (exact for any two
                    # lists). A contact's legs only grow, so that is usually most of
                    # them: an answered call that now has its handling too.
                    n = len(was)
                    i = 0
                    while i < n and i < len(new) and was[i] == new[i]:
                        i += 1
                    if i == n == len(new):
                        continue  # an event that moved nothing in the windows (a hold, a talk end)
                    if i:
                        self._file(was[i:], -1)
                        self._file(new[i:], +1)
                        book.keep(cid, new, dead)
                        continue
                del recs[cid]
                self._file(was, -1)
            if new:
                self._file(new, +1)
                book.keep(cid, new, dead)
        touched.clear()

    def _refresh_agents(self) -> None:
        sc = self.sc
        agents = sc.agents
        rows, skills, active, watched = self.rows, self.skills, self.active, self.watched
        for name in self.agents:
            a = agents.get(name)
            new = None
            if a is not None:
                # What AgentTimeline.state_now reads, minus the time in state (set at each snapshot).
                # No sealing here: state_since walks back only to the last change,
                # and the core seals an agent's transitions as they pile up.
                # The latest transition (an agent.Transition): read its two fields, not
                # current()'s tuple of four.
                trans = a.trans
                if trans:
                    e = trans[-1]
                    state, reason = e.state, e.reason
                else:
                    state, reason = "logged_out", None
                new = (state, reason, a.state_since(), a.queues, a.counter)
            old = rows.get(name)
            if old is not None:
                prev = old[0]
                if prev == new:
                    continue  # an event that changed nothing we show (a duplicate, a late one)
                row = old[2]
                if (
                    row is not None
                    and new is not None
                    and new[0] != "logged_out"
                    and prev[3] == new[3]
                    and prev[4] == new[4]
                ):
                    # The common change: a logged-in agent's state, same skills and counter.
                    distinct = old[1]
                    state, reason, since = new[0], new[1], new[2]
                    self._move(distinct, prev[0], prev[1], state, reason)
                    row["state"] = state
                    row["reason"] = reason
                    row["since"] = since
                    rows[name] = (new, distinct, row)
                    if state in _WATCHED:
                        watched[name] = row
                    elif prev[0] in _WATCHED:
                        del watched[name]
                    continue
            row = None
            if old is not None:
                (state0, reason0, _, queues0, _), distinct0, row = old
                for q in distinct0:
                    n = skills[q] - 1
                    if n:
                        skills[q] = n
                    else:
                        del skills[q]
                if row is not None:
                    self._count(distinct0, state0, reason0, -1)
                    self.countered.discard(name)
                    if state0 in _WATCHED:
                        del watched[name]
                del rows[name]
            if new is None:
                if row is not None:
                    del active[name]
                    self._sorted = None
                continue
            state, reason, since, queues, counter = new
            distinct = tuple(dict.fromkeys(queues))
            for q in distinct:
                skills[q] = skills.get(q, 0) + 1
            if state == "logged_out":
                if row is not None:
                    del active[name]
                    self._sorted = None
                rows[name] = (new, distinct, None)
                continue
            fresh = {
                "label": sc._agent_label(name),
                "state": state,
                "reason": reason,
                "since": since,
                "time_in_state_s": None,  # set at each snapshot
                "queues": list(queues),
                "counter": counter,
            }
            if row is None:
                row = active[name] = fresh
                self._sorted = None
            else:
                row.update(fresh)  # the same dict stays in the sorted one
            rows[name] = (new, distinct, row)
            if state in _WATCHED:
                watched[name] = row
            self._count(distinct, state, reason, +1)
            if counter:
                self.countered.add(name)
        self.agents.clear()

    def _count(self, queues: tuple, state: str, reason: Optional[str], sign: int) -> None:
        """Add (or take away) one logged-in agent to its queues' state counts."""
        counts = self.counts
        for q in queues:
            c = counts.get(q)
            if c is None:
                c = counts[q] = {"ready": 0, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 0, "not_ready_reasons": {}}
            c["logged_in"] += sign
            c[state] += sign
            if state == "not_ready":
                r = reason or "unspecified"
                nr = c["not_ready_reasons"]
                n = nr.get(r, 0) + sign
                if n:
                    nr[r] = n
                else:
                    del nr[r]

    def _move(self, queues: tuple, state0: str, reason0: Optional[str], state: str, reason: Optional[str]) -> None:
        """One logged-in agent goes from one state (and reason) to another: ``_count`` out and in, in one pass."""
        counts = self.counts
        for q in queues:
            c = counts[q]  # counted in when the agent logged in
            c[state0] -= 1
            c[state] += 1
            if state0 == "not_ready":
                r = reason0 or "unspecified"
                nr = c["not_ready_reasons"]
                n = nr[r] - 1
                if n:
                    nr[r] = n
                else:
                    del nr[r]
            if state == "not_ready":
                r = reason or "unspecified"
                nr = c["not_ready_reasons"]
                nr[r] = nr.get(r, 0) + 1

    def _counter_rows(self) -> dict[str, dict]:
        """The logged-in agents at a counter, in the site's agent order (a counter's last one wins)."""
        agents = self.sc.agents
        if len(self._pos) != len(agents):
            self._pos = {name: i for i, name in enumerate(agents)}
        pos, active = self._pos, self.active
        return {name: active[name] for name in sorted(self.countered, key=pos.__getitem__)}

    def _advance(self, k_now: int) -> None:
        """Forget buckets no window can reach any more."""
        dead = k_now - max(self.nb.values())
        if dead <= self.dead:
            return
        buckets = self.buckets
        if dead - self.dead > len(buckets) + len(self.call_book.expiry) + len(self.ticket_book.expiry):
            # A long jump (a quiet night walked in 5-minute steps): only the buckets there are.
            ks = [k for k in buckets if k <= dead]
            for k in ks:
                del buckets[k]
            calls = [k for k in self.call_book.expiry if k <= dead]
            tickets = [k for k in self.ticket_book.expiry if k <= dead]
        else:
            ks = list(range(self.dead + 1, dead + 1))
            for k in ks:
                buckets.pop(k, None)
            calls = tickets = ks
        self.dead = dead
        self.call_book.forget(calls, dead)
        self.ticket_book.forget(tickets, dead)

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

    def snapshot(self, watched_only: bool = False) -> dict:
        """``Floor.alert_snapshot(site)``, from what changed since the last call.

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
        self._refresh_agents()
        g = self.g
        if now % g:
            # Not at a bucket edge (never so for the driver): the windows the slow way.
            sliding = sc.sliding(now, self.windows, percentiles=False)
        else:
            k_now = now // g
            self._advance(k_now)
            self._refresh_contacts(self.call_book, sc.calls, self.calls)
            self._refresh_contacts(self.ticket_book, sc.tickets, self.tickets)
            sliding = self._window_stats(k_now)
        return self._assemble(now, sliding, watched_only)

    def _assemble(self, now: int, sliding: dict[str, dict[str, QueueStats]], watched_only: bool) -> dict:
        sc = self.sc
        cfg = sc.cfg
        waiting = sc.waiting(now)
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
                "agents": {**c, "not_ready_reasons": dict(c["not_ready_reasons"])} if c is not None else
                {"ready": 0, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 0, "not_ready_reasons": {}},
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


class AlertViews:
    """The views of every site of one floor (one per alert driver)."""

    def __init__(self, floor: Floor, bucket_ms: int = 30_000) -> None:
        self.floor = floor
        self.bucket_ms = bucket_ms
        self.views: dict[str, SiteAlertView] = {}

    def view(self, site: str) -> SiteAlertView:
        v = self.views.get(site)
        if v is None:
            v = self.views[site] = SiteAlertView(self.floor.site(site), self.bucket_ms)
        return v

    def touch(self, evs: Iterable) -> None:
        """Events of any sites, folded or about to be (see the module docstring)."""
        # One pass (what SiteAlertView.touch does, per event's site): a run is
        # mostly of one site (the publisher batches by site).
        names = _NAMES
        site = ""
        v = None
        for ev in evs:
            s = ev.site
            if v is None or s != site:
                v = self.view(s)
                site = s
            book = names[ev.__class__]
            if book == "call":
                v.calls.add(ev.call)
            elif book == "ticket":
                v.tickets.add(ev.ticket)
            else:
                v.agents.add(ev.agent)

    def snapshot(self, site: str, watched_only: bool = False) -> dict:
        return self.view(site).snapshot(watched_only)
