"""The staffing plan: per interval and balanced over the day, halls' counters, shrinkage and the occupancy cap."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

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


# Two queues the same people answer (``pools``), and the same queues staffed apart.
POOLED = FloorConfig.from_dict({"sites": {"hot": {"queues": {"a": {}, "b": {}}, "pools": {"floor": ["a", "b"]}}}})
APART = FloorConfig.from_dict({"sites": {"hot": {"queues": {"a": {}, "b": {}}}}})


def two_queues(a=(30.0, 200.0), b=(10.0, 400.0), load=(1.0,)) -> list[dict]:
    out = []
    for i, k in enumerate(load):
        start = (T0 + timedelta(minutes=15 * i)).isoformat()
        out += [{"site": "hot", "queue": "a", "start": start, "offered": a[0] * k, "aht_s": a[1]},
                {"site": "hot", "queue": "b", "start": start, "offered": b[0] * k, "aht_s": b[1]}]
    return out


def test_a_pool_is_one_erlang_a_on_the_summed_load_split_by_workload() -> None:
    pat = {("hot", "a"): 100.0, ("hot", "b"): 300.0}
    got = plan(two_queues(), POOLED, patience=pat)
    # By hand: 40 calls, AHT (30·200 + 10·400) / 40 = 250 s, patience (30·100 + 10·300) / 40 = 150 s.
    n = erlang_a.required_agents(calls=40.0, interval_min=15, aht_s=250.0, patience_s=150.0, target_s=20,
                                 sl_goal=0.8, short_abandon_s=5)
    assert sum(r["agents"] for r in got) == n
    # Workloads 6000 and 4000 call-seconds: 0.6 n and 0.4 n, the larger remainder rounded up.
    qa = 0.6 * n
    want_a = int(qa) + (1 if qa - int(qa) > 0.5 else 0)
    assert [r["agents"] for r in got] == [want_a, n - want_a]
    assert [r["pool"] for r in got] == ["floor", "floor"] and [r["queue"] for r in got] == ["a", "b"]
    apart = plan(two_queues(), APART, patience=pat)
    assert "pool" not in apart[0] and sum(r["agents"] for r in apart) > n  # each queue alone needs its own slack


@pytest.mark.parametrize("over", ["interval", "day"])
def test_a_pool_over_the_day_or_interval_sums_to_the_pools_agents(over) -> None:
    load = [k / 30 for k in LOAD]
    pat = {("hot", "a"): 120.0, ("hot", "b"): 120.0}
    rows = two_queues(load=load)
    got = plan(rows, POOLED, patience=pat, over=over, shrinkage=0.2)
    one = [{"site": "hot", "queue": "floor", "start": rows[2 * i]["start"], "offered": rows[2 * i]["offered"] + rows[2 * i + 1]["offered"],
            "aht_s": (rows[2 * i]["offered"] * 200 + rows[2 * i + 1]["offered"] * 400) / (rows[2 * i]["offered"] + rows[2 * i + 1]["offered"])}
           for i in range(len(load))]
    alone = plan(one, CFG_ONE, patience={("hot", "floor"): 120.0}, over=over, shrinkage=0.2)
    assert [got[2 * i]["agents"] + got[2 * i + 1]["agents"] for i in range(len(load))] == [r["agents"] for r in alone]
    # The busier queue by workload (a: 3 × b's calls at half b's AHT) takes the larger share in every interval.
    assert all(got[2 * i]["agents"] >= got[2 * i + 1]["agents"] for i in range(len(load)))


CFG_ONE = FloorConfig.from_dict({"sites": {"hot": {"queues": {"floor": {}}}}})


@pytest.mark.parametrize("over", ["interval", "day"])
def test_a_one_queue_pool_plans_as_the_queue_alone(over) -> None:
    solo = FloorConfig.from_dict({"sites": {"hot": {"queues": {"q": {"short_abandon_s": 0}}, "pools": {"p": ["q"]}}}})
    pat = {("hot", "q"): 90.0}
    pooled = plan(rows(), solo, patience=pat, over=over, shrinkage=0.1)
    alone = plan(rows(), CFG, patience=pat, over=over, shrinkage=0.1)
    assert [r["agents"] for r in pooled] == [r["agents"] for r in alone]
    assert {r["pool"] for r in pooled} == {"p"}


FEB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anonbank" / "february.txt"


@pytest.mark.skipif(not FEB.is_file(), reason="../shared/data/anonbank/february.txt is absent (a fresh clone has no ../shared)")
def test_february_without_pools_plans_as_before_pools_and_pooled_rows_sum_to_the_pool() -> None:
    """14 February's intraday plan (hourly re-plans, recovering the day) on the bank's config with its pool
    removed: the very rows main made before pools existed (their SHA-256, taken from that tree). Pooled, the
    six queues' rows carry the pool."""
    import hashlib
    import json
    from datetime import date

    from bench.bench_plan import METHODS, apart, day_ahead_plans
    from stream.planning.actuals import read_log

    log = read_log(FEB, "anonbank")
    day = date(1999, 2, 14)
    rows = day_ahead_plans(apart(log), day, day, "A", "day", **METHODS["intraday"])
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    assert digest.startswith("5c124b52b61d76e9")
    pooled = day_ahead_plans(log, day, day, "A", "day", **METHODS["intraday"])
    assert {r["pool"] for r in pooled} == {"phones"} and len(pooled) == len(rows)
    # One group needs less slack than six: fewer agent-hours than the queues apart.
    assert sum(r["agents"] for r in pooled) < sum(r["agents"] for r in rows)
