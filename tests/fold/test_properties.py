"""Properties of the core: arrival order within the lateness bound, duplicates and
how the work is split never change a figure; deltas rebuild snapshots."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.fold.delta import apply_patch
from tests.helpers import Seq, at

LATENESS_MS = 60_000
T0 = at("09:00:00")
CFG = {"sites": {"s1": {"kind": "hotline"}, "h1": {"kind": "hall", "counters": ["C1", "C2"]}}}


@st.composite
def calls(draw, seq: Seq, n_max: int = 25):
    """A hotline's calls: answered (with hold/wrap), abandoned, transferred or still waiting."""
    for i in range(draw(st.integers(0, n_max))):
        cid = f"c{i}"
        t = T0 + draw(st.integers(0, 3 * 3_600_000))
        q = draw(st.sampled_from(["q1", "q2"]))
        seq.offer(t, cid, queue=q, vip=draw(st.booleans()))
        wait = draw(st.sampled_from([0, 1, 4_999, 5_000, 19_999, 20_000, 20_001])) if draw(st.booleans()) else draw(st.integers(0, 900_000))
        outcome = draw(st.sampled_from(["answered", "answered", "abandoned", "waiting", "transfer"]))
        agent = draw(st.sampled_from(["a1", "a2", "a3", None]))
        if outcome == "abandoned":
            seq.abandon(t + wait, cid)
        elif outcome == "transfer":
            seq.transfer(t + wait, cid, "q2" if q == "q1" else "q1")
            seq.answer(t + wait + draw(st.integers(0, 60_000)), cid, agent)
        elif outcome == "answered":
            ta = t + wait
            seq.answer(ta, cid, agent)
            talk = draw(st.integers(0, 600_000))
            if draw(st.booleans()):
                seq.hold(ta + talk // 3, cid), seq.resume(ta + talk // 2, cid)
            wrap = draw(st.booleans())
            if draw(st.integers(0, 4)):  # sometimes the call is still going at the end
                seq.end(ta + talk, cid, wrap_up=wrap)
                if wrap:
                    seq.wrap_end(ta + talk + draw(st.integers(0, 120_000)), cid, agent)


@st.composite
def tickets(draw, seq: Seq, n_max: int = 15):
    for i in range(draw(st.integers(0, n_max))):
        tid = f"t{i}"
        t = T0 + draw(st.integers(0, 3 * 3_600_000))
        seq.issue(t, tid, queue="h", vip=draw(st.booleans()))
        wait = draw(st.integers(0, 1_200_000))
        outcome = draw(st.sampled_from(["served", "no_show", "left", "waiting", "moved"]))
        if outcome == "left":
            seq.leave(t + wait, tid)
        elif outcome in ("served", "no_show", "moved"):
            seq.call_ticket(t + wait, tid, draw(st.sampled_from(["C1", "C2"])), "k1")
            end = t + wait + draw(st.integers(0, 900_000))
            if outcome == "served":
                seq.complete(end, tid)
            elif outcome == "no_show":
                seq.no_show(end, tid)
            else:
                seq.ticket_transfer(end, tid, "h2")


@st.composite
def agents(draw, seq: Seq, names=("a1", "a2", "a3")):
    for a in names[: draw(st.integers(0, len(names)))]:
        t = T0 - 600_000
        seq.state(t, a, "ready", queues=draw(st.sampled_from([["q1"], ["q2"], ["q1", "q2"]])))
        for _ in range(draw(st.integers(0, 12))):
            t += draw(st.integers(0, 1_200_000))
            state = draw(st.sampled_from(["ready", "busy", "wrap_up", "not_ready", "logged_out"]))
            reason = draw(st.sampled_from(["break", "lunch"])) if state == "not_ready" else None
            seq.state(t, a, state, reason=reason)


@st.composite
def floors(draw):
    s1, h1 = Seq("s1"), Seq("h1")
    draw(calls(s1))
    draw(agents(s1))
    draw(tickets(h1))
    # Stable sort: equal times keep each contact's causal order.
    return sorted(s1.events + h1.events, key=lambda e: e.ts)


def _figures(floor: Floor) -> dict:
    out = {"report": floor.report()}
    for site in sorted(floor.sites):
        snap = floor.snapshot(site)
        snap.pop("health")
        out[site] = snap
    return out


def _run(events, flush: bool = False) -> Floor:
    f = Floor(FloorConfig.from_dict(CFG))
    f.apply_many(events)
    if flush:
        f.flush()
    return f


def _shuffle_within_bound(events, rnd: random.Random) -> list:
    # Each event arrives up to L - 1 ms after its time: never late, often out of order.
    return [e for _, _, e in sorted((e.ts + rnd.randrange(LATENESS_MS), i, e) for i, e in enumerate(events))]


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(floors(), st.randoms(use_true_random=False))
def test_shuffling_within_the_lateness_bound_changes_nothing(events, rnd):
    shuffled = _shuffle_within_bound(events, rnd)
    a, b = _run(events), _run(shuffled)
    assert b.rejected_summary()["count"] == a.rejected_summary()["count"]
    assert _figures(b) == _figures(a)
    a.flush(), b.flush()
    assert _figures(b) == _figures(a)


@SETTINGS
@given(floors(), st.randoms(use_true_random=False))
def test_duplicated_events_change_nothing(events, rnd):
    noisy = list(events)
    for ev in rnd.sample(events, k=min(len(events), rnd.randrange(0, 20))):
        # A redelivery soon after the original (inside the dedup horizon).
        pos = next((i for i, e in enumerate(noisy) if e is ev), 0)
        noisy.insert(min(len(noisy), pos + 1 + rnd.randrange(0, 30)), ev)
    a, b = _run(events, flush=True), _run(_shuffle_within_bound(noisy, rnd), flush=True)
    assert _figures(b) == _figures(a)


@SETTINGS
@given(floors())
def test_sites_are_independent(events):
    together = _run(events, flush=True)
    for site in ("s1", "h1"):
        alone = _run([e for e in events if e.site == site], flush=True)
        if site in together.sites:
            a, b = alone.snapshot(site), together.snapshot(site)
            a.pop("health"), b.pop("health")
            assert a == b


@SETTINGS
@given(floors(), st.integers(1, 8))
def test_deltas_rebuild_every_snapshot(events, parts):
    f = Floor(FloorConfig.from_dict(CFG))
    mirror: dict = {}
    step = max(1, len(events) // parts)
    for i in range(0, max(1, len(events)), step):
        f.apply_many(events[i : i + step])
        snap, patch = f.changes("s1")
        mirror = apply_patch(mirror, patch)
        assert mirror == snap


@SETTINGS
@given(floors())
def test_counts_are_consistent(events):
    """Every offered leg is answered, abandoned, transferred or still waiting."""
    f = _run(events)
    for site in f.sites:
        snap = f.snapshot(site)
        for q in snap["queues"].values():
            d = q["day"]
            assert d["answered"] + d["abandoned"] + d["transferred"] + q["waiting"] == d["offered"]
            assert 0 <= d["short_abandoned"] <= d["abandoned"]
            if d["sl_pct"] is not None:
                assert 0.0 <= d["sl_pct"] <= 100.0
            if d["wait_p50_s"] is not None:
                assert d["wait_p50_s"] <= d["wait_p90_s"] <= d["max_wait_s"]
