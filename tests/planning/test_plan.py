"""The staffing plan: per interval and balanced over the day, halls' counters, shrinkage and the occupancy cap."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from stream.contracts.floor_config import FloorConfig
from stream.planning import erlang_a, staffing
from stream.planning.plan import plan

CFG = FloorConfig.from_dict({"sites": {
    "hot": {"kind": "hotline", "queues": {"q": {"sl_target_pct": 80, "short_abandon_s": 0}}},
    "hall": {"kind": "hall", "queues": {"t": {"sl_t_s": 600, "sl_target_pct": 90}}},
}})
T0 = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
# A day with a morning peak: calls per 15 minutes.
LOAD = [5, 10, 20, 40, 60, 70, 60, 45, 30, 30, 35, 40, 30, 20, 10, 5]


def rows(site: str = "hot", queue: str = "q", aht: float = 240.0, load=LOAD) -> list[dict]:
    return [{"site": site, "queue": queue, "start": (T0 + timedelta(minutes=15 * i)).isoformat(), "offered": float(n),
             "aht_s": aht} for i, n in enumerate(load)]


def day_sl(p: list[dict], patience) -> float:
    got = sum(r["offered"] * erlang_a.solve(agents=r["agents"], calls=r["offered"], interval_min=15, aht_s=r["aht_s"],
                                            patience_s=patience, target_s=20)["service_level"] for r in p)
    return got / sum(r["offered"] for r in p)


@pytest.mark.parametrize("patience", [None, 180.0])
def test_per_interval_meets_the_target_everywhere(patience) -> None:
    p = plan(rows(), CFG, patience={("hot", "q"): patience})
    for r in p:
        sl = erlang_a.solve(agents=r["agents"], calls=r["offered"], interval_min=15, aht_s=240, patience_s=patience, target_s=20)
        assert sl["service_level"] >= 0.8
        if r["agents"] > 1:  # the least such: one fewer misses
            less = erlang_a.solve(agents=r["agents"] - 1, calls=r["offered"], interval_min=15, aht_s=240,
                                  patience_s=patience, target_s=20)
            assert less["service_level"] < 0.8


@pytest.mark.parametrize("patience", [None, 180.0])
def test_balanced_over_the_day_meets_it_with_fewer_agents(patience) -> None:
    per = plan(rows(), CFG, patience={("hot", "q"): patience})
    day = plan(rows(), CFG, patience={("hot", "q"): patience}, over="day")
    assert sum(r["agents"] for r in day) < sum(r["agents"] for r in per)
    assert day_sl(day, patience) >= 0.8
    # No interval falls apart: each keeps more agents than its traffic when callers wait forever.
    if patience is None:
        assert all(r["agents"] > staffing.traffic(r["offered"], 15, 240) for r in day)


def test_impatient_callers_need_fewer_agents_than_erlang_c() -> None:
    c = sum(r["agents"] for r in plan(rows(), CFG))
    a = sum(r["agents"] for r in plan(rows(), CFG, patience={("hot", "q"): 60.0}))
    assert a < c


def test_hall_counters_against_the_wait_target() -> None:
    """Tickets of 10 minutes, 90 % within 10 minutes: counters from Erlang C with T = 600 s."""
    p = plan(rows("hall", "t", aht=600.0, load=[12, 30, 45]), CFG, patience={("hall", "t"): 30.0})
    for r in p:
        a = staffing.traffic(r["offered"], 15, 600)
        assert r["agents"] == staffing.required_agents(a, 600, 600, 0.9)  # patience ignored: tickets wait in the hall


def test_shrinkage_and_occupancy_cap() -> None:
    base = plan(rows(), CFG)
    shrunk = plan(rows(), CFG, shrinkage=0.25)
    assert [s["agents"] for s in shrunk] == [-(-b["agents"] * 4 // 3) for b in base]
    capped = plan(rows(), CFG, max_occupancy=0.7)
    for r in capped:
        assert staffing.traffic(r["offered"], 15, 240) / r["agents"] <= 0.7 + 1e-9


def test_no_calls_no_agents_unknown_aht_unknown_agents() -> None:
    p = plan(rows(load=[0, 3]) + [{"site": "hot", "queue": "q", "start": "2026-03-02T12:00:00+00:00", "offered": 4.0,
                                   "aht_s": None}], CFG)
    assert [r["agents"] for r in p] == [0, staffing.required_agents(0.8, 240, 20, 0.8), None]
    with pytest.raises(ValueError, match="shrinkage"):
        plan(rows(), CFG, shrinkage=1.0)
    with pytest.raises(ValueError, match="over"):
        plan(rows(), CFG, over="week")
