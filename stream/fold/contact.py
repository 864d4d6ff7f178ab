"""One contact (a call or a hall ticket) as a state machine over its own events.

A contact's state is a pure function of the *set* of its events: they are
applied in ``(ts, rank, id)`` order, where rank is the causal order of kinds
(offered before answered before ended). Events that arrive in that order are
applied incrementally; one that arrives out of order makes the contact replay
its few events from scratch. That is what lets the core give the same figures
for any arrival order within the lateness bound.

A transfer ends the current *leg* and offers the contact anew to the target
queue: every leg counts in its own queue.

A contact whose events contradict each other in time — answered, abandoned or
ended before it was offered, talk ended (or held, resumed, served) before it
was answered — is marked with why (``contra``); its site rejects it whole once
the watermark has passed its events (no event can still come to explain it).

>>> from stream.contracts.events import CallOffered, CallAnswered, CallEnded
>>> c = Contact(CALL)
>>> c.add(CallAnswered(id="2", ts=9_000, site="s", call="c", agent="a7"))
False
>>> c.add(CallOffered(id="1", ts=1_000, site="s", call="c", queue="general"))  # before the answer: replays
True
>>> c.add(CallEnded(id="3", ts=99_000, site="s", call="c"))
False
>>> leg = c.legs[0]
>>> (leg.queue, leg.answered - leg.offered, leg.handle_end - leg.answered, c.done)
('general', 8000, 90000, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Final, Optional

from stream.contracts import events as E

CALL: Final = 0
TICKET: Final = 1

# Causal order of kinds at the same millisecond.
RANK: Final[dict[type, int]] = {
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


@dataclass(eq=False)
class Leg:
    """The part of a contact spent in one queue: when it was offered, answered, abandoned or
    transferred, and when its handling (talk, then wrap-up) ended."""

    queue: str
    offered: int
    priority: int
    vip: bool
    answered: Optional[int] = None
    agent: Optional[str] = None
    counter: Optional[str] = None
    abandoned: Optional[int] = None
    transferred: Optional[int] = None  # left the queue unanswered, to another queue
    talk_end: Optional[int] = None
    wrap: bool = False  # wrap-up pending after talk
    handle_end: Optional[int] = None
    holds: int = 0

    @property
    def waiting(self) -> bool:
        return self.answered is None and self.abandoned is None and self.transferred is None

    @property
    def done(self) -> bool:
        return _leg_done(self)


class Contact:
    """A call or ticket: its events, its legs and whether it is finished."""

    def __init__(self, kind: int, cid: str = "") -> None:
        self.kind = kind
        self.cid = cid
        self.events: list = []
        self.legs: list[Leg] = []
        # The latest event applied, as its place in (ts, rank, id) order.
        self.last_ts = -1
        self.last_rank = -1
        self.last_id = ""
        self.anomalies: Optional[list[tuple[str, object]]] = None  # (reason, event)
        self.done = False
        self.sealed = False
        self.dropped = False  # dropped by its site unfinished (an orphan, or open too long): counts nowhere
        # Contradictions (see the module's docstring): an event came before any leg
        # (early), an event of the talk came before the answer of leg early_leg
        # (-1: none); contra is then why, once the offer or answer follows (CONTRA_*).
        self.early = False
        self.early_leg = -1
        self.contra = 0

    # -- folding ------------------------------------------------------------

    def add(self, ev) -> bool:
        """Add one (already de-duplicated) event, its ``ts`` in epoch ms.

        An event after the latest one in (ts, rank, id) order just applies; one
        before it makes the contact replay all its events in that order. True
        when it replayed.
        """
        self.events.append(ev)
        if _order(ev) > (self.last_ts, self.last_rank, self.last_id):
            self.last_ts, self.last_rank, self.last_id = _order(ev)
            RULES[type(ev)](self, ev)
            return False
        self._replay()
        return True

    def _replay(self) -> None:
        self.events.sort(key=_order)
        self.legs = []
        self.anomalies = None
        self.early = False
        self.early_leg = -1
        self.contra = 0
        for ev in self.events:
            RULES[type(ev)](self, ev)
        self.last_ts, self.last_rank, self.last_id = _order(self.events[-1])

    def _anomaly(self, reason: str, ev) -> None:
        if self.anomalies is None:
            self.anomalies = []
        self.anomalies.append((reason, ev))

    @property
    def offered(self) -> bool:
        return bool(self.legs)


def _order(ev) -> tuple:
    return (ev.ts, RANK[type(ev)], ev.id)


# -- the state machine, one function per kind of event ------------------------
#
# ``Contact.add`` runs the rule of the event's kind (``RULES``). Every rule
# keeps the same steps: an offer opens a leg; any other event needs a
# leg and an open contact (wrap-up may end after the contact is done); then the
# kind's rule; then ``done`` is recomputed from the legs.


def _leg_done(lg: Leg) -> bool:
    return (
        lg.abandoned is not None
        or lg.transferred is not None
        or (lg.answered is not None and lg.handle_end is not None)
    )


def _set_done(c: Contact) -> None:
    """The contact is done when every leg is."""
    for lg in c.legs:
        if not _leg_done(lg):
            c.done = False
            return
    c.done = True


# Why a contact contradicts itself (Contact.contra): the text after "<kind>: " in
# the reason each of its events is rejected with.
CONTRA_BEFORE_OFFER: Final = 1
CONTRA_BEFORE_ANSWER: Final = 2
CONTRA_TEXT: Final = {
    CONTRA_BEFORE_OFFER: "contact contradicts itself (answered, abandoned or ended before offered)",
    CONTRA_BEFORE_ANSWER: "contact contradicts itself (talk or service ended before answered)",
}


def _offered(c: Contact, ev) -> None:
    ts = ev.ts
    legs = c.legs
    if legs:
        c._anomaly(f"{ev.kind}: contact already offered", ev)
    else:
        legs.append(Leg(ev.queue, ts, ev.priority, ev.vip))
        if c.early and not c.contra:
            c.contra = CONTRA_BEFORE_OFFER
    c.done = False


def _no_leg(c: Contact, ev) -> None:
    c._anomaly(f"{ev.kind}: no offered event for this contact", ev)
    c.early = True


def _before_answer(c: Contact, leg: Leg) -> None:
    # An event of the talk (or service) on a leg not answered yet: a contradiction if the answer follows.
    if leg.answered is None and leg.abandoned is None and leg.transferred is None:
        c.early_leg = len(c.legs) - 1


def _open_leg(c: Contact, ev) -> Optional[Leg]:
    # The checks every non-offer event starts with; None: an anomaly was noted.
    legs = c.legs
    if not legs:
        _no_leg(c, ev)
        return None
    if c.done:
        c._anomaly(f"{ev.kind}: contact already closed", ev)
        return None
    return legs[-1]


def _answered(c: Contact, ev, ticket: bool) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is None and leg.abandoned is None and leg.transferred is None:
        leg.answered = ts
        leg.agent = ev.agent
        if ticket:
            leg.counter = ev.counter
        if c.early_leg == len(c.legs) - 1 and not c.contra:
            c.contra = CONTRA_BEFORE_ANSWER
    elif not (ticket and leg.answered is not None):
        # A ticket called again (a recall) keeps its first call; anything else is wrong.
        c._anomaly(f"{ev.kind}: contact not waiting", ev)
    _set_done(c)


def _abandoned(c: Contact, ev) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is None and leg.abandoned is None and leg.transferred is None:
        leg.abandoned = ts
    else:
        c._anomaly(f"{ev.kind}: contact not waiting", ev)
    _set_done(c)


def _call_ended(c: Contact, ev) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is not None and leg.talk_end is None:
        leg.talk_end = ts
        if ev.wrap_up:
            leg.wrap = True
        else:
            leg.handle_end = ts
    else:
        c._anomaly(f"{ev.kind}: call not in talk", ev)
        _before_answer(c, leg)
    _set_done(c)


def _wrap_up_ended(c: Contact, ev) -> None:
    ts = ev.ts
    legs = c.legs
    if not legs:
        _no_leg(c, ev)
        return
    # Wrap-up may end after the contact is done (it is not part of the wait):
    # it ends the latest leg with wrap-up pending (for this agent, when named).
    agent = ev.agent
    for lg in reversed(legs):
        if lg.wrap and lg.handle_end is None and (agent is None or lg.agent is None or lg.agent == agent):
            lg.handle_end = ts
            break
    else:
        c._anomaly(f"{ev.kind}: no wrap-up pending", ev)
    _set_done(c)


def _ticket_completed(c: Contact, ev) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is not None and leg.abandoned is None and leg.handle_end is None:
        leg.handle_end = ts
    else:
        c._anomaly(f"{ev.kind}: ticket not being served", ev)
        _before_answer(c, leg)
    _set_done(c)


def _ticket_no_show(c: Contact, ev) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.abandoned is None and leg.handle_end is None and leg.transferred is None:
        # Called and nobody came (or never called): an abandon at this moment.
        leg.answered = None
        leg.agent = None
        leg.abandoned = ts
    else:
        c._anomaly(f"{ev.kind}: ticket already closed", ev)
    _set_done(c)


def _held_resumed(c: Contact, ev, held: bool) -> None:
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is not None and leg.talk_end is None:
        if held:
            leg.holds += 1
    else:
        c._anomaly(f"{ev.kind}: call not in talk", ev)
        _before_answer(c, leg)
    _set_done(c)


def _transferred(c: Contact, ev, call: bool) -> None:
    ts = ev.ts
    leg = _open_leg(c, ev)
    if leg is None:
        return
    if leg.answered is None and leg.abandoned is None and leg.transferred is None:
        leg.transferred = ts
    elif leg.answered is not None and leg.handle_end is None and leg.talk_end is None:
        leg.talk_end = ts
        if call and ev.wrap_up:
            leg.wrap = True
        else:
            leg.handle_end = ts
    else:
        c._anomaly(f"{ev.kind}: contact cannot be transferred now", ev)
        return
    legs = c.legs
    legs.append(Leg(ev.to_queue, ts, leg.priority, leg.vip))
    _set_done(c)


# The rule each event kind runs.
RULES: Final[dict[type, Callable[[Contact, Any], None]]] = {
    E.CallOffered: _offered,
    E.TicketIssued: _offered,
    E.CallAnswered: lambda c, ev: _answered(c, ev, ticket=False),
    E.TicketCalled: lambda c, ev: _answered(c, ev, ticket=True),
    E.CallAbandoned: _abandoned,
    E.TicketAbandoned: _abandoned,
    E.CallEnded: _call_ended,
    E.WrapUpEnded: _wrap_up_ended,
    E.TicketCompleted: _ticket_completed,
    E.TicketNoShow: _ticket_no_show,
    E.CallHeld: lambda c, ev: _held_resumed(c, ev, held=True),
    E.CallResumed: lambda c, ev: _held_resumed(c, ev, held=False),
    E.CallTransferred: lambda c, ev: _transferred(c, ev, call=True),
    E.TicketTransferred: lambda c, ev: _transferred(c, ev, call=False),
}
