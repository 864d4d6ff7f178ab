"""Small builders for hand-made event sequences in tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from stream.contracts import events as E

_ids = itertools.count(1)


def at(hhmmss: str, day: str = "2026-11-23", tz: str = "UTC") -> int:
    """Epoch ms of a local time of day."""
    h, m, s = (int(x) for x in hhmmss.split(":"))
    y, mo, d = (int(x) for x in day.split("-"))
    return int(datetime(y, mo, d, h, m, s, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


class Seq:
    """Builds events for one site with unique ids, in the order written."""

    def __init__(self, site: str = "s1") -> None:
        self.site = site
        self.events: list = []

    def _add(self, cls, ts: int, **kw):
        ev = cls(id=f"{self.site}-{next(_ids)}", ts=ts, site=self.site, **kw)
        self.events.append(ev)
        return ev

    # calls
    def offer(self, ts, call, queue="q", **kw):
        return self._add(E.CallOffered, ts, call=call, queue=queue, **kw)

    def answer(self, ts, call, agent=None):
        return self._add(E.CallAnswered, ts, call=call, agent=agent)

    def abandon(self, ts, call):
        return self._add(E.CallAbandoned, ts, call=call)

    def end(self, ts, call, wrap_up=False):
        return self._add(E.CallEnded, ts, call=call, wrap_up=wrap_up)

    def wrap_end(self, ts, call, agent=None):
        return self._add(E.WrapUpEnded, ts, call=call, agent=agent)

    def hold(self, ts, call):
        return self._add(E.CallHeld, ts, call=call)

    def resume(self, ts, call):
        return self._add(E.CallResumed, ts, call=call)

    def transfer(self, ts, call, to_queue, wrap_up=False):
        return self._add(E.CallTransferred, ts, call=call, to_queue=to_queue, wrap_up=wrap_up)

    # tickets
    def issue(self, ts, ticket, queue="h", **kw):
        return self._add(E.TicketIssued, ts, ticket=ticket, queue=queue, **kw)

    def call_ticket(self, ts, ticket, counter="C1", agent=None):
        return self._add(E.TicketCalled, ts, ticket=ticket, counter=counter, agent=agent)

    def complete(self, ts, ticket):
        return self._add(E.TicketCompleted, ts, ticket=ticket)

    def no_show(self, ts, ticket):
        return self._add(E.TicketNoShow, ts, ticket=ticket)

    def leave(self, ts, ticket):
        return self._add(E.TicketAbandoned, ts, ticket=ticket)

    def ticket_transfer(self, ts, ticket, to_queue):
        return self._add(E.TicketTransferred, ts, ticket=ticket, to_queue=to_queue)

    # agents
    def state(self, ts, agent, state, **kw):
        return self._add(E.AgentState, ts, agent=agent, state=state, **kw)
