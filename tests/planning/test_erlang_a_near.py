"""Erlang A's search from a nearby answer (``near``: the queue's last one) finds the agents the bisection finds.

The live advice solves each queue's need every minute and a plan interval after interval; a load
like the last one's is most often answered by the last answer, so the search steps out from it.
Wherever it starts, the answer is the least agents meeting the goal: the same as without ``near``.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from stream.contracts.floor_config import FloorConfig
from stream.planning import erlang_a, plan


def _count(monkeypatch) -> list[int]:
    calls = [0]
    real = erlang_a.solve

    def counted(**kw):
        calls[0] += 1
        return real(**kw)

    monkeypatch.setattr(erlang_a, "solve", counted)
    return calls


LOAD = dict(calls=120.0, interval_min=15, aht_s=180.0, patience_s=120.0, target_s=20.0, sl_goal=0.8, short_abandon_s=5.0)


def test_near_the_answer_two_evaluations_suffice(monkeypatch) -> None:
    n = erlang_a.required_agents(**LOAD)
    count = _count(monkeypatch)
    assert erlang_a.required_agents(**LOAD) == n and count[0] >= 5  # bisected from 0 under Erlang C's answer
    for near, most in ((n, 2), (n - 1, 2), (n + 1, 4), (n - 6, 6), (1, 9), (10_000, 9)):
        count[0] = 0
        assert erlang_a.required_agents(**LOAD, near=near) == n, near
        assert count[0] <= most, (near, count[0])


@settings(max_examples=60, deadline=None)
@given(calls=st.floats(min_value=0.5, max_value=400), aht=st.floats(min_value=30, max_value=900),
       patience=st.floats(min_value=10, max_value=1200), goal=st.floats(min_value=0.3, max_value=0.95),
       cap=st.one_of(st.none(), st.floats(min_value=0.6, max_value=0.98)), near=st.integers(-5, 200))
def test_property_the_same_agents_wherever_the_search_starts(calls, aht, patience, goal, cap, near) -> None:
    load = dict(calls=calls, interval_min=15, aht_s=aht, patience_s=patience, target_s=20.0, sl_goal=goal,
                short_abandon_s=5.0, max_occupancy=cap)
    assert erlang_a.required_agents(**load, near=near) == erlang_a.required_agents(**load)


def test_agents_needed_starts_from_the_queues_last_answer(monkeypatch) -> None:
    """A day of loads through ``agents_needed`` with one cache (as the live advice and a plan keep it): the same
    agents as solved one by one, in fewer Erlang A evaluations."""
    cfg = FloorConfig.from_dict({"sites": {"s": {"queues": {"q": {"sl_target_pct": 80}}}}})
    loads = [(60 + 1.5 * i + (i % 3) * 0.4, 170 + (i % 5) * 3.7) for i in range(40)]  # a morning rising minute by minute
    count = _count(monkeypatch)
    alone = [plan.agents_needed(cfg, "s", "q", off, aht, 150.0) for off, aht in loads]
    fresh, count[0] = count[0], 0
    cache: dict = {}
    together = [plan.agents_needed(cfg, "s", "q", off, aht, 150.0, cache=cache) for off, aht in loads]
    assert together == alone and count[0] < 0.6 * fresh, (count[0], fresh)
