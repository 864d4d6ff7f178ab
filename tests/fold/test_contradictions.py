"""A contact whose events contradict each other in time is rejected whole, with why (issue 19, item 7).

Before: a call answered or abandoned before it was offered counted as offered,
neither answered nor abandoned, and showed as waiting until it expired 24 h
later; a call whose talk ended before it was answered stayed "in talk" as long.
Now, once the watermark has passed its events, each of its events is rejected
with the contradiction as the reason (dead-lettered, so it can be fixed and fed
again), it counts nowhere and waits nowhere. Both cores, any arrival order
within the lateness bound.
"""

from __future__ import annotations

import pytest

from stream.fold.floor import Floor, native_available
from tests.helpers import Seq, at

T0 = at("09:00:00")
BEFORE_OFFER = "contact contradicts itself (answered, abandoned or ended before offered)"
BEFORE_ANSWER = "contact contradicts itself (talk or service ended before answered)"
CORES = [False] + ([True] if native_available() else [])


def _fold(s: Seq, native: bool, order=None) -> Floor:
    f = Floor(native=native)
    f.apply_many(order(s.events) if order else sorted(s.events, key=lambda e: e.ts))
    return f


def _moves_on(s: Seq, t: int) -> None:
    # Another call 2 minutes later: the watermark (60 s bound) passes what came before.
    s.offer(t, "later")


@pytest.mark.parametrize("native", CORES)
@pytest.mark.parametrize("first", ["answer", "abandon"])
def test_answered_or_abandoned_before_offered(native, first) -> None:
    s = Seq()
    (s.answer if first == "answer" else s.abandon)(T0, "c1")
    s.offer(T0 + 5_000, "c1")
    _moves_on(s, T0 + 130_000)
    f = _fold(s, native)
    q = f.snapshot("s1")["queues"]["q"]
    assert q["waiting"] == 1  # only "later": c1 waits nowhere
    assert q["day"]["offered"] == 1
    kind = "call_answered" if first == "answer" else "call_abandoned"
    assert f.rejected_summary()["reasons"] == {f"{kind}: {BEFORE_OFFER}": 1, f"call_offered: {BEFORE_OFFER}": 1}
    dead = f.drain_dead()
    assert sorted(ev.kind for ev, _ in dead) == sorted([kind, "call_offered"])


def _ended_before_answered(s: Seq) -> tuple[str, list[str]]:
    s.offer(T0, "c1"), s.end(T0 + 3_000, "c1"), s.answer(T0 + 9_000, "c1")
    return "q", ["call_offered", "call_ended", "call_answered"]


def _served_before_called(s: Seq) -> tuple[str, list[str]]:
    s.issue(T0, "t1"), s.complete(T0 + 2_000, "t1"), s.call_ticket(T0 + 4_000, "t1")
    return "h", ["ticket_issued", "ticket_completed", "ticket_called"]


@pytest.mark.parametrize("native", CORES)
@pytest.mark.parametrize("events", [_ended_before_answered, _served_before_called])
def test_ended_or_served_before_answered(native, events) -> None:
    s = Seq()
    queue, kinds = events(s)
    s.issue(T0 + 130_000, "t2") if queue == "h" else _moves_on(s, T0 + 130_000)
    f = _fold(s, native)
    q = f.snapshot("s1")["queues"][queue]
    assert q["waiting"] == 1 and q["day"]["offered"] == 1 and q["day"]["answered"] == 0  # only the later contact
    assert f.rejected_summary()["reasons"] == {f"{k}: {BEFORE_ANSWER}": 1 for k in kinds}


@pytest.mark.parametrize("native", CORES)
def test_any_arrival_order_within_the_bound_gives_the_same(native) -> None:
    s = Seq()
    s.answer(T0, "c1")
    s.offer(T0 + 5_000, "c1")
    s.end(T0 + 50_000, "c1")
    _moves_on(s, T0 + 200_000)
    a = _fold(s, native)
    b = _fold(s, native, order=lambda evs: [evs[1], evs[2], evs[0], evs[3]])
    assert a.report() == b.report()
    assert a.rejected_summary() == b.rejected_summary()
    assert a.rejected_summary()["count"] == 3


@pytest.mark.parametrize("native", CORES)
def test_an_earlier_offer_in_time_explains_it(native) -> None:
    """Not a contradiction once the offer before the answer arrives (within the bound): the late one is the duplicate offer."""
    s = Seq()
    s.answer(T0 + 2_000, "c1")
    s.offer(T0 + 5_000, "c1")
    s.offer(T0, "c1")
    s.end(T0 + 60_000, "c1")
    _moves_on(s, T0 + 200_000)
    f = _fold(s, native)
    assert f.snapshot("s1")["queues"]["q"]["day"]["answered"] == 1
    assert f.rejected_summary()["reasons"] == {"call_offered: contact already offered": 1}


@pytest.mark.parametrize("native", CORES)
def test_consistent_contacts_are_untouched(native) -> None:
    s = Seq()
    s.offer(T0, "c1"), s.answer(T0 + 4_000, "c1"), s.hold(T0 + 6_000, "c1"), s.resume(T0 + 7_000, "c1")
    s.end(T0 + 60_000, "c1", wrap_up=True), s.wrap_end(T0 + 70_000, "c1")
    s.offer(T0, "c2"), s.abandon(T0 + 3_000, "c2")
    s.offer(T0, "c3"), s.abandon(T0, "c3")  # the same ms: the offer ranks first
    _moves_on(s, T0 + 300_000)
    f = _fold(s, native)
    d = f.snapshot("s1")["queues"]["q"]["day"]
    assert (d["offered"], d["answered"], d["abandoned"]) == (4, 1, 2)
    assert f.rejected_summary()["count"] == 0
