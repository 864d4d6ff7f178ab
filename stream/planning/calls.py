"""The contacts of a log, one record each: what the what-if simulation replays and patience is estimated from.

Events of one contact (``call_offered`` → ``call_answered`` → ``call_ended``
[→ ``wrap_up_ended``], or → ``call_abandoned``; tickets: ``ticket_issued`` →
``ticket_called`` → ``ticket_completed``, or → ``ticket_abandoned`` /
``ticket_no_show``) become one ``Contact``: when it was offered, how long it
waited, whether it was abandoned, and its handle time (talk + wrap-up; at a
counter, called to completed), as ``metrics.md`` defines them. Contacts
still open at the end of the log, or transferred, are left out (a transfer's
legs belong to two queues; the simulation keeps to one).

``patience`` estimates a queue's mean patience as Brown et al. (2005) do for
the Anonymous Bank: with exponential patience, abandons are the events and
every waiting second (abandoned or answered, the latter censored) is
exposure, so mean patience = total wait ÷ abandons.

>>> from stream.contracts.events import CallOffered, CallAnswered, CallEnded, CallAbandoned
>>> evs = [CallOffered(id="1", ts=0, site="s", call="a", queue="q"),
...        CallAnswered(id="2", ts=30_000, site="s", call="a"),
...        CallEnded(id="3", ts=210_000, site="s", call="a"),
...        CallOffered(id="4", ts=1_000, site="s", call="b", queue="q"),
...        CallAbandoned(id="5", ts=91_000, site="s", call="b")]
>>> cs = contacts(evs)
>>> [(c.wait_ms, c.abandoned, c.handle_ms) for c in cs]
[(30000, False, 180000), (90000, True, None)]
>>> patience(cs)[("s", "q")]
120.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

__all__ = ["Contact", "contacts", "patience"]


@dataclass
class Contact:
    site: str
    queue: str
    id: str
    offered_ms: int
    priority: int = 0
    wait_ms: Optional[int] = None
    abandoned: bool = False
    handle_ms: Optional[int] = None
    _answered_ms: Optional[int] = None
    _talk_end_ms: Optional[int] = None
    _wrap: bool = False
    _dropped: bool = False


_OFFER = {"call_offered": "call", "ticket_issued": "ticket"}
_ANSWER = {"call_answered", "ticket_called"}
_ABANDON = {"call_abandoned", "ticket_abandoned", "ticket_no_show"}
_END = {"call_ended", "ticket_completed"}
_DROP = {"call_transferred", "ticket_transferred"}


def contacts(events: Iterable) -> list[Contact]:
    """One ``Contact`` per offered contact that ended (answered and handled, or abandoned), by offered time."""
    book: dict[tuple[str, str], Contact] = {}
    for ev in events:
        k = ev.kind
        ref = getattr(ev, "call", None) or getattr(ev, "ticket", None)
        if ref is None:
            continue
        key = (ev.site, ref)
        if k in _OFFER:
            if key not in book:
                book[key] = Contact(ev.site, ev.queue, ref, ev.ts, 2 if ev.vip else ev.priority)
            continue
        c = book.get(key)
        if c is None or c._dropped:
            continue
        if k in _ANSWER and c._answered_ms is None and not c.abandoned:
            c._answered_ms = ev.ts
            c.wait_ms = max(0, ev.ts - c.offered_ms)
        elif k in _ABANDON and c._answered_ms is None:
            c.abandoned = True
            c.wait_ms = max(0, ev.ts - c.offered_ms)
        elif k in _END and c._answered_ms is not None and c._talk_end_ms is None:
            c._talk_end_ms = ev.ts
            c._wrap = bool(getattr(ev, "wrap_up", False))
            if not c._wrap:
                c.handle_ms = max(0, ev.ts - c._answered_ms)
        elif k == "wrap_up_ended" and c._wrap and c.handle_ms is None and c._answered_ms is not None:
            c.handle_ms = max(0, ev.ts - c._answered_ms)
        elif k in _DROP:
            c._dropped = True
    out = [c for c in book.values() if not c._dropped and (c.abandoned or c.handle_ms is not None)]
    out.sort(key=lambda c: (c.offered_ms, c.site, c.id))
    return out


def patience(cs: Iterable[Contact]) -> dict[tuple[str, str], Optional[float]]:
    """Mean patience in seconds per (site, queue): total wait ÷ abandons (None: no abandon seen)."""
    wait: dict[tuple[str, str], int] = {}
    ab: dict[tuple[str, str], int] = {}
    for c in cs:
        k = (c.site, c.queue)
        wait[k] = wait.get(k, 0) + (c.wait_ms or 0)
        ab[k] = ab.get(k, 0) + int(c.abandoned)
    return {k: (wait[k] / ab[k] / 1000.0 if ab[k] else None) for k in wait}
