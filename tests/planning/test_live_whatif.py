"""What-if from a live state (stream.planning.live): against the plan checker on a flat day, and with a backlog."""

from __future__ import annotations

import time

import numpy as np
import pytest

from stream.contracts import events as E
from stream.contracts.floor_config import FloorConfig
from stream.planning import staffing
from stream.planning.actuals import Log
from stream.planning.check import check_plan
from stream.planning.live import LiveQueue, ahead

HOUR = 3_600_000
Q15 = 900_000


def flat_day(rate_per_15: float, aht_s: float, hours: int, seed: int) -> list:
    """An M/M/c day's contacts as events: Poisson arrivals from 00:00, exponential handle times, all answered at once
    (the plan checker re-serves them with the plan's agents; only arrivals and handle times matter)."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate_per_15 * 4 * hours)
    ts = np.sort(rng.uniform(0, hours * HOUR, n)).astype(int)
    evs = []
    for i, t in enumerate(ts):
        h = int(rng.exponential(aht_s * 1000))
        evs += [E.CallOffered(id=f"o{i}", ts=int(t), site="s", call=f"c{i}", queue="q"),
                E.CallAnswered(id=f"a{i}", ts=int(t), site="s", call=f"c{i}"),
                E.CallEnded(id=f"e{i}", ts=int(t) + h, site="s", call=f"c{i}")]
    evs.sort(key=lambda e: e.ts)
    return evs


def test_flat_day_agrees_with_the_plan_checker_and_erlang_c():
    """Same arrivals, same agents: the live what-if (from an empty floor) and the plan checker give the same SL."""
    rate, aht, agents, hours = 60.0, 180.0, 15, 4
    cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "queues": {"q": {"sl_t_s": 20}}}}})
    sls = []
    for seed in range(3):
        log = Log(flat_day(rate, aht, hours, seed), cfg)
        plan = [{"site": "s", "queue": "q", "start": f"1970-01-01T{h:02d}:{m:02d}:00+00:00", "offered": rate, "aht_s": aht,
                 "agents": agents} for h in range(hours) for m in (0, 15, 30, 45)]
        sls.append(check_plan(log, plan, seed=seed)["days"][0]["queues"]["q"]["sl_pct"])
    checked = float(np.mean(sls))
    fc = [(i * Q15, rate, aht) for i in range(hours * 4)]
    live = ahead(LiveQueue(now_ms=0, ready=0), fc, extra=agents, sl_t_s=20, patience_s=None, horizon_ms=hours * HOUR, runs=12)
    erlang = 100 * staffing.service_level(agents, staffing.traffic(rate, 15, aht), aht, 20)
    assert abs(live["sl_pct"] - checked) < 4.0, (live, checked)
    assert abs(live["sl_pct"] - erlang) < 4.0, (live, erlang)
    assert live["abandoned"] == 0  # infinite patience


def backlog() -> LiveQueue:
    """Ten minutes of trouble: 40 waiting (the oldest 9:40), 12 agents busy, none ready."""
    now = 10 * HOUR
    waiting = [(now - 580_000 + i * 14_500, 0) for i in range(40)]
    return LiveQueue(now_ms=now, waiting=waiting, busy_since=[now - 60_000 * i for i in range(12)], ready=0)


def test_more_agents_on_a_backlog_is_monotone():
    q = backlog()
    fc = [(q.now_ms - q.now_ms % Q15 + i * Q15, 45.0, 200.0) for i in range(5)]
    res = [ahead(q, fc, extra=k, sl_t_s=20, patience_s=240.0, seed=3) for k in (-4, -2, 0, 2, 4, 8)]
    waits = [r["longest_wait_s"] for r in res]
    sls = [r["sl_pct"] for r in res]
    abandons = [r["abandoned"] for r in res]
    assert waits == sorted(waits, reverse=True) and waits[0] > waits[-1]
    assert sls == sorted(sls) and sls[-1] > sls[0]
    assert abandons == sorted(abandons, reverse=True) and abandons[0] > abandons[-1]
    # Every run counts the 40 waiting now beside the arrivals, whatever the agents.
    assert len({r["offered"] for r in res}) == 1 and res[0]["offered"] > 40


def test_the_backlog_is_served_first():
    """With no arrivals at all, the contacts waiting now still count, and more agents clear them sooner."""
    q = backlog()
    none = [(q.now_ms, 0.0, 200.0)]
    a, b = (ahead(q, none, extra=k, sl_t_s=20, patience_s=None) for k in (0, 10))
    assert a["offered"] == b["offered"] == 40 and a["answered"] == b["answered"] == 40
    assert a["sl_pct"] == b["sl_pct"] == 0.0  # every one of them has waited past 20 s already
    assert a["longest_wait_s"] == b["longest_wait_s"] == 0  # nobody arrives from now on


def test_fewer_agents_than_there_are():
    q = backlog()
    fc = [(q.now_ms, 30.0, 200.0)]
    r = ahead(q, fc, extra=-50, sl_t_s=20, patience_s=120.0)
    assert r["answered"] == 0 and r["abandoned"] == r["offered"]  # nobody left to answer: all hang up


def test_same_seed_same_answer():
    q = backlog()
    fc = [(q.now_ms, 30.0, 200.0)]
    assert ahead(q, fc, extra=2, sl_t_s=20, patience_s=120.0, seed=9) == ahead(q, fc, extra=2, sl_t_s=20, patience_s=120.0, seed=9)
    with pytest.raises(ValueError, match="runs"):
        ahead(q, fc, sl_t_s=20, patience_s=None, runs=0)


def test_a_big_queue_answers_within_a_second():
    now = 10 * HOUR
    q = LiveQueue(now_ms=now, waiting=[(now - 1000 * i, 0) for i in range(60)], busy_since=[now] * 80, ready=3)
    fc = [(now + i * Q15, 300.0, 240.0) for i in range(5)]
    t0 = time.perf_counter()
    ahead(q, fc, extra=0, sl_t_s=20, patience_s=200.0)
    ahead(q, fc, extra=5, sl_t_s=20, patience_s=200.0)
    assert time.perf_counter() - t0 < 1.0
