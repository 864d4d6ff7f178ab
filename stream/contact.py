"""One contact (a call or a hall ticket) as a state machine over its own events.

A contact's state is a pure function of the *set* of its events: they are
applied in ``(ts, rank, id)`` order, where rank is the causal order of kinds
(offered before answered before ended). Events that arrive in that order are
applied incrementally; one that arrives out of order makes the contact replay
its few events from scratch. That is what lets the core give the same figures
for any arrival order within the lateness bound.

A transfer ends the current *leg* and offers the contact anew to the target
queue: every leg counts in its own queue.

>>> from stream.events import CallOffered, CallAnswered, CallEnded
>>> c = Contact(CALL)
>>> c.add(CallAnswered(id="2", ts=9_000, site="s", call="c", agent="a7"))
>>> c.add(CallOffered(id="1", ts=1_000, site="s", call="c", queue="general"))  # late: replays
>>> c.add(CallEnded(id="3", ts=99_000, site="s", call="c"))
>>> leg = c.legs[0]
>>> (leg.queue, leg.answered - leg.offered, leg.handle_end - leg.answered, c.done)
('general', 8000, 90000, True)
"""

from __future__ import annotations

from typing import Optional

from stream import events as E

CALL = 0
TICKET = 1

# Causal order of kinds at the same millisecond.
RANK: dict[type, int] = {
    E.CallOffered: 0,
    E.TicketIssued: 0,
    E.CallAnswered: 1,
    E.TicketCalled: 1,
    E.CallAbandoned: 1,
    E.TicketAbandoned: 1,
    E.CallHeld: 2,
    E.CallResumed: 3,
    E.CallEnded: 4,
    E.CallTransferred: 4,
    E.TicketNoShow: 4,
    E.TicketTransferred: 4,
    E.TicketCompleted: 5,
    E.WrapUpEnded: 6,
}


class Leg:
    """The part of a contact spent in one queue."""

    __slots__ = (
        "queue",
        "offered",
        "priority",
        "vip",
        "answered",
        "agent",
        "counter",
        "abandoned",
        "transferred",
        "talk_end",
        "wrap",
        "handle_end",
        "holds",
    )

    def __init__(self, queue: str, offered: int, priority: int, vip: bool) -> None:
        self.queue = queue
        self.offered = offered
        self.priority = priority
        self.vip = vip
        self.answered: Optional[int] = None
        self.agent: Optional[str] = None
        self.counter: Optional[str] = None
        self.abandoned: Optional[int] = None
        self.transferred: Optional[int] = None  # left the queue unanswered, to another queue
        self.talk_end: Optional[int] = None
        self.wrap = False  # wrap-up pending after talk
        self.handle_end: Optional[int] = None
        self.holds = 0

    @property
    def waiting(self) -> bool:
        return self.answered is None and self.abandoned is None and self.transferred is None

    @property
    def done(self) -> bool:
        return (
            self.abandoned is not None
            or self.transferred is not None
            or (self.answered is not None and self.handle_end is not None)
        )


class Contact:
    """A call or ticket: its events, its legs and whether it is finished."""

    __slots__ = ("kind", "cid", "events", "legs", "last_ts", "last_rank", "last_id", "anomalies", "done", "sealed")

    def __init__(self, kind: int, cid: str = "") -> None:
        self.kind = kind
        self.cid = cid
        self.events: list = []
        self.legs: list[Leg] = []
        self.last_ts = -1
        self.last_rank = -1
        self.last_id = ""
        self.anomalies: Optional[list[tuple[str, object]]] = None  # (reason, event)
        self.done = False
        self.sealed = False

    # -- folding ------------------------------------------------------------

    def add(self, ev) -> None:
        """Add one (already de-duplicated) event."""
        ts = ev.ts
        rank = RANK[ev.__class__]
        if ts > self.last_ts or (
            ts == self.last_ts and (rank > self.last_rank or (rank == self.last_rank and ev.id > self.last_id))
        ):
            self.events.append(ev)
            self.last_ts, self.last_rank, self.last_id = ts, rank, ev.id
            self._apply(ev)
        else:
            self.events.append(ev)
            self._replay()

    def _replay(self) -> None:
        evs = self.events
        evs.sort(key=_order)
        self.legs = []
        self.anomalies = None
        for ev in evs:
            self._apply(ev)
        last = evs[-1]
        self.last_ts, self.last_rank, self.last_id = last.ts, RANK[last.__class__], last.id

    def _anomaly(self, reason: str, ev) -> None:
        a = self.anomalies
        if a is None:
            a = self.anomalies = []
        a.append((reason, ev))

    def _apply(self, ev) -> None:
        cls = ev.__class__
        legs = self.legs
        if cls is E.CallOffered or cls is E.TicketIssued:
            if legs:
                self._anomaly(f"{ev.kind}: contact already offered", ev)
            else:
                legs.append(Leg(ev.queue, ev.ts, ev.priority, ev.vip))
            self.done = False
            return
        if not legs:
            self._anomaly(f"{ev.kind}: no offered event for this contact", ev)
            return
        leg = legs[-1]
        ts = ev.ts
        if self.done and cls is not E.WrapUpEnded:
            self._anomaly(f"{ev.kind}: contact already closed", ev)
            return
        if cls is E.CallAnswered or cls is E.TicketCalled:
            if leg.waiting:
                leg.answered = ts
                leg.agent = ev.agent
                if cls is E.TicketCalled:
                    leg.counter = ev.counter
            elif not (cls is E.TicketCalled and leg.answered is not None):
                # A ticket called again (a recall) keeps its first call; anything else is wrong.
                self._anomaly(f"{ev.kind}: contact not waiting", ev)
        elif cls is E.CallAbandoned or cls is E.TicketAbandoned:
            if leg.waiting:
                leg.abandoned = ts
            else:
                self._anomaly(f"{ev.kind}: contact not waiting", ev)
        elif cls is E.CallEnded:
            if leg.answered is not None and leg.talk_end is None:
                leg.talk_end = ts
                if ev.wrap_up:
                    leg.wrap = True
                else:
                    leg.handle_end = ts
            else:
                self._anomaly(f"{ev.kind}: call not in talk", ev)
        elif cls is E.WrapUpEnded:
            for lg in reversed(legs):
                if lg.wrap and lg.handle_end is None and (ev.agent is None or lg.agent in (None, ev.agent)):
                    lg.handle_end = ts
                    break
            else:
                self._anomaly(f"{ev.kind}: no wrap-up pending", ev)
        elif cls is E.TicketCompleted:
            if leg.answered is not None and leg.abandoned is None and leg.handle_end is None:
                leg.handle_end = ts
            else:
                self._anomaly(f"{ev.kind}: ticket not being served", ev)
        elif cls is E.TicketNoShow:
            if leg.abandoned is None and leg.handle_end is None and leg.transferred is None:
                # Called and nobody came (or never called): an abandon at this moment.
                leg.answered = None
                leg.agent = None
                leg.abandoned = ts
            else:
                self._anomaly(f"{ev.kind}: ticket already closed", ev)
        elif cls is E.CallHeld or cls is E.CallResumed:
            if leg.answered is not None and leg.talk_end is None:
                if cls is E.CallHeld:
                    leg.holds += 1
            else:
                self._anomaly(f"{ev.kind}: call not in talk", ev)
        elif cls is E.CallTransferred or cls is E.TicketTransferred:
            if leg.waiting:
                leg.transferred = ts
            elif leg.answered is not None and leg.handle_end is None and leg.talk_end is None:
                leg.talk_end = ts
                if cls is E.CallTransferred and ev.wrap_up:
                    leg.wrap = True
                else:
                    leg.handle_end = ts
            else:
                self._anomaly(f"{ev.kind}: contact cannot be transferred now", ev)
                return
            legs.append(Leg(ev.to_queue, ts, leg.priority, leg.vip))
        self.done = all(lg.done for lg in legs) if len(legs) > 1 else leg.done

    @property
    def offered(self) -> bool:
        return bool(self.legs)


def _order(ev) -> tuple:
    return (ev.ts, RANK[ev.__class__], ev.id)
