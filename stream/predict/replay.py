"""Predictions at each offered contact of a replayed log, beside what then happened.

Events are folded in file order; right before each ``call_offered`` /
``ticket_issued`` the fold's state is read (``view.site_views`` at the arrival's
time, the sliding windows as of the first arrival of that minute) and every
predictor given predicts; nothing after the arrival is read. The contact's
outcome (answered, abandoned, transferred, open) and actual wait come from its
later events. ``floorwatch ewt`` prints these; ``bench ewt`` scores them.

>>> from stream.contracts.events import CallOffered, CallAnswered
>>> from stream.fold.floor import Floor
>>> from stream.predict.ewt import EWT
>>> evs = [CallOffered(id="1", ts=0, site="s", call="a", queue="q"),
...        CallAnswered(id="2", ts=12_000, site="s", call="a", agent="x")]
>>> [r] = predict_replay(evs, Floor(native=False), [EWT()])
>>> r["id"], r["outcome"], r["actual_wait_s"], r["predicted"]["EWT"].wait_s
('a', 'answered', 12.0, 0.0)
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from stream.contracts import events as E
from stream.fold.floor import Floor
from stream.predict.view import SLIDING, QueueView, site_views

__all__ = ["predict_replay", "offered_class"]

_ARRIVALS = (E.CallOffered, E.TicketIssued)
_ANSWERED = (E.CallAnswered, E.TicketCalled)
_ABANDONED = (E.CallAbandoned, E.TicketAbandoned, E.TicketNoShow)
_TRANSFERRED = (E.CallTransferred, E.TicketTransferred)


def offered_class(ev: Any) -> int:
    """An arrival's class, as the fold orders the waiting (``SiteFold.queue_now``)."""
    return ev.priority if ev.priority > 0 else (1 if ev.vip else 0)


def _ms(ev: Any) -> int:
    ts = ev.ts
    return ts if isinstance(ts, int) else E.ts_to_ms(ts)


def _empty(now: int) -> QueueView:
    return QueueView(now, [], [], None, None, 0, 0, 0, 0.0)


def predict_replay(events: Iterable, floor: Floor, predictors: Sequence[Any]) -> list[dict]:
    """One record per offered contact, in arrival order: ``id, site, queue, at`` (epoch ms),
    ``predicted`` (predictor name -> its prediction, as made at the arrival), ``outcome`` and
    ``actual_wait_s`` (None while open)."""
    records: list[dict] = []
    by_contact: dict[tuple[str, str], dict] = {}
    pending: list = []
    minute: dict[str, tuple[int, dict]] = {}  # site -> (minute, its sliding windows then)
    for ev in events:
        cls = type(ev)
        if cls in _ARRIVALS:
            key = (ev.site, ev.call if cls is E.CallOffered else "t:" + ev.ticket)
            if key in by_contact:
                pending.append(ev)  # a repeated offer: the fold judges it; not a new contact
                continue
            if pending:
                floor.apply_many(pending)
                pending = []
            now = _ms(ev)
            view = _view(floor, ev.site, ev.queue, now, minute)
            ahead = view.ahead_of(offered_class(ev))
            rec = {
                "id": ev.call if cls is E.CallOffered else ev.ticket,
                "site": ev.site,
                "queue": ev.queue,
                "at": now,
                "predicted": {p.name: p.predict(view, ahead) for p in predictors},
                "outcome": "open",
                "actual_wait_s": None,
            }
            records.append(rec)
            by_contact[key] = rec
        elif cls in _ANSWERED or cls in _ABANDONED or cls in _TRANSFERRED:
            key = (ev.site, ev.call if hasattr(ev, "call") else "t:" + ev.ticket)
            rec = by_contact.get(key)
            if rec is not None and rec["outcome"] == "open":
                rec["outcome"] = "answered" if cls in _ANSWERED else "abandoned" if cls in _ABANDONED else "transferred"
                rec["actual_wait_s"] = max(0, _ms(ev) - rec["at"]) / 1000.0
        pending.append(ev)
    if pending:
        floor.apply_many(pending)
    return records


def _view(floor: Floor, site: str, queue: str, now: int, minute: dict[str, tuple[int, dict]]) -> QueueView:
    if site not in floor.sites:
        return _empty(now)
    sc = floor.site(site)
    if sc.clock is None:
        return _empty(now)
    m = now // 60_000
    cached: Optional[tuple[int, dict]] = minute.get(site)
    if cached is None or cached[0] != m:
        cached = minute[site] = (m, sc.sliding(now, SLIDING, False))
    views = site_views(sc, now, cached[1])
    return views.get(queue) or _empty(now)
