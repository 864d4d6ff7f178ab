"""The plan checker (what-if replay) against the M/M/c simulator and Erlang C on a flat day,
and the plan and flat-peak baseline it is compared with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from simulators import mmc
from stream.contracts.events import CallAbandoned
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.planning import staffing
from stream.planning.actuals import Log
from stream.planning.check import RUN_SEEDS, check_plan, flat_peak
from stream.planning.plan import plan

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def flat_plan(agents: int, hours: int, site: str = "mmc", queue: str = "mmc") -> list[dict]:
    return [
        {"site": site, "queue": queue, "start": (START + timedelta(minutes=15 * i)).isoformat(), "offered": 0,
         "aht_s": 180, "agents": agents}
        for i in range(hours * 4)
    ]


def test_flat_day_equals_the_mmc_simulation_and_erlang_c() -> None:
    """The mmc simulator serves its calls FIFO with N agents; replaying those calls against a
    flat plan of N agents must give the very same waits, and both sit on Erlang C."""
    n, rate, aht, hours = 18, 300.0, 180.0, 20
    evs = list(mmc.generate(calls_per_hour=rate, aht_s=aht, agents=n, hours=hours, seed=11, start=START))
    cfg = FloorConfig()
    own = Floor(cfg)
    own.apply_many(evs)
    own.flush()
    mmc_total = own.report()["total"]
    # A day longer than the arrivals: calls queued at the end are still served.
    res = check_plan(Log(evs, cfg), flat_plan(n, hours + 4))
    day = res["days"][0]["queues"]["mmc"]
    assert day["sl_pct"] == round(mmc_total["sl_pct"], 2)  # the same waits (the check rounds to 2 places)
    assert day["asa_s"] == pytest.approx(mmc_total["asa_s"], abs=0.01)
    assert day["abandon_pct"] == 0.0
    assert day["agent_hours"] == n * (hours + 4)
    a = staffing.traffic(rate, 60, aht)
    assert day["sl_pct"] / 100 == pytest.approx(staffing.service_level(n, a, aht, 20), abs=0.03)


def test_fewer_agents_in_the_plan_means_worse_service() -> None:
    evs = list(mmc.generate(calls_per_hour=360, aht_s=180, agents=20, hours=8, seed=2, start=START))
    log = Log(evs, FloorConfig())
    full = check_plan(log, flat_plan(20, 10))["days"][0]["queues"]["mmc"]
    thin = check_plan(log, flat_plan(19, 10))["days"][0]["queues"]["mmc"]
    assert thin["sl_pct"] < full["sl_pct"] and thin["asa_s"] > full["asa_s"]
    assert thin["agent_hours"] < full["agent_hours"]


def test_shrinkage_takes_agents_off_the_phones() -> None:
    evs = list(mmc.generate(calls_per_hour=360, aht_s=180, agents=20, hours=8, seed=2, start=START))
    log = Log(evs, FloorConfig())
    a = check_plan(log, flat_plan(25, 10), shrinkage=0.2)["days"][0]["queues"]["mmc"]
    b = check_plan(log, flat_plan(20, 10))["days"][0]["queues"]["mmc"]
    assert a["sl_pct"] == b["sl_pct"] and a["agent_hours"] == 25 * 10


def test_flat_peak_holds_the_peak_over_the_open_hours() -> None:
    rows = flat_plan(0, 4)
    for i, k in enumerate([0, 0, 3, 5, 8, 4, 2, 0, 0, 6, 1, 0, 0, 0, 0, 0]):
        rows[i]["agents"] = k
    flat = [r["agents"] for r in flat_peak(rows)]
    assert flat == [0, 0] + [8] * 9 + [0] * 5
    assert sum(flat) > sum(r["agents"] for r in rows)


def test_plan_meets_the_target_on_its_own_forecast() -> None:
    """Plan a flat forecast, then replay calls drawn from that very forecast: the service level lands near target."""
    rows = [{"site": "mmc", "queue": "mmc", "start": (START + timedelta(minutes=15 * i)).isoformat(), "offered": 90.0,
             "aht_s": 180.0} for i in range(40)]
    p = plan(rows, FloorConfig())
    assert {r["agents"] for r in p} == {staffing.required_agents(18.0, 180, 20, 0.8)}
    evs = list(mmc.generate(calls_per_hour=360, aht_s=180, agents=p[0]["agents"], hours=10, seed=4, start=START))
    got = check_plan(Log(evs, FloorConfig()), p + flat_plan(p[0]["agents"], 12)[40:])["days"][0]["queues"]["mmc"]
    assert 78 <= got["sl_pct"] <= 95


def test_bad_plans_are_refused_with_a_reason() -> None:
    log = Log([], FloorConfig())
    with pytest.raises(ValueError, match="no intervals"):
        check_plan(log, [])
    with pytest.raises(ValueError, match="interval 0: needs site"):
        check_plan(log, [{"queue": "q", "start": "2026-01-05T09:00:00+00:00", "agents": 1}])
    with pytest.raises(ValueError, match="without a UTC offset"):
        check_plan(log, [{"site": "s", "queue": "q", "start": "2026-01-05T09:00:00", "agents": 1}])
    with pytest.raises(ValueError, match="agents must be a number"):
        check_plan(log, [{"site": "s", "queue": "q", "start": "2026-01-05T09:00:00+00:00", "agents": -1}])


def _two_queue_day(hours: int) -> list:
    """Two queues of one site, Poisson calls (200/h and 100/h, 3-minute exponential handling), answered at once
    in the log (its own floor had agents to spare): the check decides the waits."""
    a = mmc.generate(calls_per_hour=200.0, aht_s=180.0, agents=60, hours=hours, seed=3, start=START, site="mmc", queue="a")
    b = mmc.generate(calls_per_hour=100.0, aht_s=180.0, agents=60, hours=hours, seed=4, start=START, site="mmc", queue="b")
    # The two runs number their calls alike: b's get their own ids.
    b = [msgspec.structs.replace(e, id=f"b{e.id}", call=f"b{e.call}") for e in b if e.kind != "agent_state"]
    return sorted([e for e in a if e.kind != "agent_state"] + b, key=lambda e: e.ts)


def test_a_pool_is_checked_as_one_group_on_erlang_c() -> None:
    """15 erlangs over two queues, 18 agents: pooled, the day sits on Erlang C for 18 agents on the summed
    load; the same 18 split 12 / 6 and staffed apart answer fewer within T."""
    hours = 20
    evs = _two_queue_day(hours)
    pooled = FloorConfig.from_dict({"sites": {"mmc": {"pools": {"phones": ["a", "b"]}}}})
    rows = flat_plan(12, hours + 4, queue="a") + flat_plan(6, hours + 4, queue="b")
    day = check_plan(Log(evs, pooled), rows)["days"][0]
    erlang_c = staffing.service_level(18, staffing.traffic(300.0, 60, 180.0), 180.0, 20)
    assert day["total"]["sl_pct"] / 100 == pytest.approx(erlang_c, abs=0.03)
    # Each queue is reported on its own calls (the core folds them by queue), and both wait alike in a pool.
    assert abs(day["queues"]["a"]["sl_pct"] - day["queues"]["b"]["sl_pct"]) < 4
    assert (day["queues"]["a"]["agent_hours"], day["queues"]["b"]["agent_hours"]) == (12 * (hours + 4), 6 * (hours + 4))
    apart = check_plan(Log(evs, FloorConfig()), rows)["days"][0]
    assert apart["total"]["sl_pct"] < day["total"]["sl_pct"] - 5
    assert apart["total"]["agent_hours"] == day["total"]["agent_hours"]


def test_a_pools_flat_peak_is_the_pools_peak_split_by_workload() -> None:
    cfg = FloorConfig.from_dict({"sites": {"s": {"pools": {"p": ["a", "b"]}}}})
    t = [(START + timedelta(minutes=15 * i)).isoformat() for i in range(4)]
    # a peaks at 09:15 (5), b at 09:30 (4): apart the peaks would be 5 + 4 = 9; the pool's is 7.
    a = [(0, 0.0), (5, 40.0), (3, 20.0), (0, 0.0)]
    b = [(0, 0.0), (1, 10.0), (4, 30.0), (1, 5.0)]
    rows = [{"site": "s", "queue": q, "start": t[i], "offered": o, "aht_s": 180.0, "agents": n}
            for q, load in (("a", a), ("b", b)) for i, (n, o) in enumerate(load)]
    got = flat_peak(rows, cfg)
    per = {(r["queue"], r["start"]): r["agents"] for r in got}
    assert [per[("a", s)] + per[("b", s)] for s in t] == [0, 7, 7, 7]
    # 09:15: workloads 40 : 10 calls -> 5.6 : 1.4; 09:30: 20 : 30 -> 2.8 : 4.2; 09:45: b alone.
    assert [per[("a", s)] for s in t[1:]] == [6, 3, 0] and [per[("b", s)] for s in t[1:]] == [1, 4, 7]
    alone = flat_peak(rows)
    assert sum(r["agents"] for r in alone) > sum(r["agents"] for r in got)


def _day_with_abandons(hours: int) -> list:
    """An M/M/c day answered at once, but every 8th caller hung up after 90 s: the queue has a patience, so an
    answered caller's patience beyond their wait is drawn, and a short plan's figures depend on the draw."""
    evs = [e for e in mmc.generate(calls_per_hour=300.0, aht_s=180.0, agents=60, hours=hours, seed=7, start=START)
           if e.kind != "agent_state"]
    offered = {e.call: e.ts for e in evs if e.kind == "call_offered"}
    gone = set(sorted(offered)[::8])
    out = [e for e in evs if e.kind == "call_offered" or e.call not in gone]
    out += [CallAbandoned(id=f"ab{c}", ts=offered[c] + 90_000, site="mmc", call=c) for c in gone]
    return sorted(out, key=lambda e: e.ts)


def test_runs_are_the_mean_of_single_runs_with_their_range() -> None:
    """``runs=3`` is three single checks (seeds ``seed + RUN_SEEDS·r``) averaged, with the service level's range;
    on a short-staffed day the draw moves the figure, and the range shows by how much."""
    hours = 8
    log = Log(_day_with_abandons(hours), FloorConfig())
    rows = flat_plan(13, hours + 2)  # 15 erlangs offered (less the abandons): the queue builds
    many = check_plan(log, rows, seed=5, runs=3)
    singles = [check_plan(log, rows, seed=5 + RUN_SEEDS * r)["days"][0] for r in range(3)]
    assert many["runs"] == 3
    for part in ("queues", "total"):
        got = many["days"][0][part]["mmc"] if part == "queues" else many["days"][0]["total"]
        each = [d[part]["mmc"] if part == "queues" else d["total"] for d in singles]
        sl = [e["sl_pct"] for e in each]
        assert min(sl) < max(sl), sl  # the draw matters here, so the mean is not one run's figure
        assert got["sl_pct"] == pytest.approx(sum(sl) / 3, abs=0.01)
        assert got["sl_pct_range"] == [min(sl), max(sl)]
        for key in ("asa_s", "abandon_pct"):
            assert got[key] == pytest.approx(sum(e[key] for e in each) / 3, abs=0.01)
        assert "sl_pct_range" not in each[0]  # one run has no range to give
    # Plenty of agents: nobody waits in any run, and the range is a point.
    easy = check_plan(log, flat_plan(40, hours + 2), runs=4)["days"][0]["total"]
    assert easy["sl_pct_range"][0] == easy["sl_pct_range"][1] == easy["sl_pct"]


@pytest.mark.parametrize("runs", [0, -1, 1.5, True, "3"])
def test_runs_must_be_a_whole_number_from_one(runs) -> None:
    with pytest.raises(ValueError, match="runs must be a whole number >= 1"):
        check_plan(Log([], FloorConfig()), flat_plan(1, 1), runs=runs)
