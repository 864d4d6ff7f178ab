"""The what-if engine on a pool: one group of agents for several queues' contacts, each contact keeping its
own queue and its own queue's patience."""

from __future__ import annotations

from stream.planning.calls import Contact
from stream.planning.whatif import simulate


def _contacts() -> list[Contact]:
    # Six callers of two queues, all answered in the log after 1 s, 60 s handling, one every 10 s.
    return [Contact("s", "ab"[i % 2], f"c{i}", i * 10_000, wait_ms=1_000, handle_ms=60_000) for i in range(6)]


def test_a_pools_contacts_keep_their_queue_and_their_queues_patience() -> None:
    # Nobody on the phones for the first 10 minutes: a's callers have no patience limit, b's 1 ms on average.
    evs = simulate(_contacts(), [(0, 0), (600_000, 2)], patience_s={"a": None, "b": 0.001}, seed=7, site="s", group="p")
    queue = {e.call: e.queue for e in evs if e.kind == "call_offered"}
    assert queue == {f"c{i}": "ab"[i % 2] for i in range(6)}
    gone = {e.call for e in evs if e.kind == "call_abandoned"}
    answered = {e.call for e in evs if e.kind == "call_answered"}
    assert gone == {"c1", "c3", "c5"} and answered == {"c0", "c2", "c4"}
    assert all(e.id.startswith("whatif:s:p:") for e in evs)


def test_a_pool_serves_any_queue_with_any_agent_first_come_first_served() -> None:
    # One agent for both queues: each caller waits for the one before, whatever its queue.
    evs = simulate(_contacts(), [(0, 1)], patience_s={"a": None, "b": None}, seed=1, site="s", group="p")
    at = [e.ts for e in evs if e.kind == "call_answered"]
    assert at == [60_000 * i for i in range(6)]


def test_same_seed_same_events_and_one_queue_as_before() -> None:
    cs = _contacts()
    one = [c for c in cs if c.queue == "a"]
    kw = dict(seed=5, site="s")
    assert simulate(cs, [(0, 1)], patience_s={"a": 30.0, "b": 90.0}, group="p", **kw) == \
        simulate(cs, [(0, 1)], patience_s={"a": 30.0, "b": 90.0}, group="p", **kw)
    # A single queue's patience given per queue or alone: the same events (the same draws).
    assert simulate(one, [(0, 1)], patience_s={"a": 30.0}, **kw) == simulate(one, [(0, 1)], patience_s=30.0, **kw)
