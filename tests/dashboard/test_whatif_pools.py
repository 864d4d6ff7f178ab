"""The wall's what-if for a queue of a pool (``dashboard.ahead.pool_whatif``), pure: hand-made snapshots.

A pool's agents answer all its queues, so its what-if runs the members
together; these check that it does (the pooled answer against the queue
alone, and against Erlang C for the pool's combined load) and that a site
without pools answers byte for byte as before.
"""

from __future__ import annotations

import orjson
import pytest
from fastapi import HTTPException

from dashboard.ahead import pool_whatif, whatif
from stream.contracts.floor_config import FloorConfig
from stream.planning import erlang_a, pools

CLOCK = 10 * 3_600_000


def cfg(pooled: bool) -> FloorConfig:
    site = {"timezone": "UTC", "kind": "hotline", "queues": {"a": {"sl_t_s": 20}, "b": {"sl_t_s": 20}, "c": {"sl_t_s": 20}}}
    if pooled:
        site["pools"] = {"phones": ["a", "b"]}
    return FloorConfig.from_dict({"sites": {"s": site}})


def q(offered: float, aht: float) -> dict:
    return {"waiting": 0, "longest_wait_s": None, "sliding": {"15m": {"offered": offered, "aht_s": aht}}, "day": {}}


def raw(na: int, nb: int, oa: float, ob: float, *, busy_a: int = 0, busy_b: int = 0) -> dict:
    """Site s: queue a with ``na`` agents of its own (``busy_a`` of them on a call since now), b with ``nb``;
    ``oa``/``ob`` calls in the last 15 minutes at 90 s each (held for the hour: no forecast); c idle."""
    agents = {}
    for who, n, busy, skills in (("a", na, busy_a, ["a", "b"]), ("b", nb, busy_b, ["b", "a"])):
        for i in range(n):
            agents[f"{who}{i}"] = {"state": "busy" if i < busy else "ready", "since": CLOCK, "queues": skills}
    return {"clock": CLOCK, "kind": "hotline", "queues": {"a": q(oa, 90.0), "b": q(ob, 90.0), "c": q(0, 90.0)},
            "agents": agents}


def test_a_site_without_pools_answers_byte_for_byte_as_before():
    """The answer main's ``whatif`` gave for this snapshot (generated with main's dashboard/ahead.py before pools
    reached the what-if; the same seeds, the same bytes)."""
    r = raw(4, 23, 150, 90)
    r["queues"]["a"].update(waiting=3, longest_wait_s=40.0)
    r["agents"]["a0"].update(state="busy", since=CLOCK - 30_000)
    before = (b'{"site":"s","queue":"a","agents":3,"basis":"live","clock":36000000,"state":{"waiting":3,"ready":3,"busy":1,'
              b'"longest_wait_s":40.0,"waits":"spread"},"patience_s":null,"horizon_min":60,"now":{"sl_pct":0.3,'
              b'"longest_wait_s":9891.9,"abandoned":0.0,"answered":599.7,"offered":599.7,"runs":12},"with":{"sl_pct":1.0,'
              b'"longest_wait_s":4093.7,"abandoned":0.0,"answered":599.7,"offered":599.7,"runs":12}}')
    assert orjson.dumps(whatif(r, None, cfg(False), "s", "a", 3)) == before
    # A pool elsewhere on the site changes nothing for a queue in none (c), nor does no config at all.
    for config in (cfg(True), None):
        assert "pool" not in whatif(r, None, config, "s", "c", 2)
    assert whatif(r, None, None, "s", "a", 3) == orjson.loads(before)


def test_a_pooled_queue_answers_with_its_pool_and_differs_from_the_queue_alone():
    """Queue a has 4 agents of its own for 600 calls an hour at 90 s (10 Erlangs: hopeless alone); b has 23 for
    360. Alone, a's what-if is a disaster; pooled, the 27 agents carry both (24 Erlangs) near 80 %."""
    r = raw(4, 23, 150, 90)
    alone = whatif(r, None, cfg(False), "s", "a", 2)
    pooled = whatif(r, None, cfg(True), "s", "a", 2)
    assert "pool" not in alone and alone["state"]["ready"] == 4
    assert pooled["pool"] == "phones" and pooled["queues"] == ["a", "b"] and pooled["queue"] == "a"
    assert pooled["state"]["ready"] == 27 and pooled["agents"] == 2
    assert set(pooled["now"]["queues"]) == {"a", "b"} == set(pooled["with"]["queues"])
    assert alone["now"]["sl_pct"] < 5 and alone["with"]["sl_pct"] < 5
    assert pooled["now"]["queues"]["a"]["sl_pct"] > 60 and pooled["with"]["queues"]["a"]["sl_pct"] > pooled["now"]["queues"]["a"]["sl_pct"]
    # The pool's total is its members' contacts together.
    now = pooled["now"]
    assert now["offered"] == pytest.approx(now["queues"]["a"]["offered"] + now["queues"]["b"]["offered"], abs=0.15)
    assert now["offered"] > alone["now"]["offered"] + 300
    # The same answer asked by the pool's name (no member asked) and by its other member.
    by_name = pool_whatif(r, None, cfg(True), "s", "phones", 2)
    assert by_name["queue"] is None and {k: v for k, v in by_name.items() if k != "queue"} == \
        {k: v for k, v in pooled.items() if k != "queue"}
    assert whatif(r, None, cfg(True), "s", "b", 2)["with"] == pooled["with"]


def test_the_pool_against_erlang_c_for_its_combined_load():
    """27 agents, 24 busy now (about where Erlang C puts them), a: 150 and b: 90 calls per 15 minutes at 90 s,
    no abandons: one M/M/27 queue of 240 calls (``pools.combine``); over 100 runs of the hour the pool's service
    level is Erlang C's within 4 points, and each member's is the pool's (first come, whatever the queue)."""
    r = raw(4, 23, 150, 90, busy_a=4, busy_b=20)
    got = pool_whatif(r, None, cfg(True), "s", "phones", 0, runs=100)["now"]
    off, aht, pat, _ = pools.combine([(150.0, 90.0, None, 80.0), (90.0, 90.0, None, 80.0)])
    assert (off, aht, pat) == (240.0, 90.0, None)
    erl = erlang_a.solve(agents=27, calls=off, interval_min=15, aht_s=aht, patience_s=None, target_s=20)
    assert got["sl_pct"] == pytest.approx(100 * erl["service_level"], abs=4.0), (got, erl)
    assert got["queues"]["a"]["sl_pct"] == pytest.approx(got["queues"]["b"]["sl_pct"], abs=3.0)
    # One more agent: Erlang C's gain, in the same direction and about the size.
    more = pool_whatif(r, None, cfg(True), "s", "phones", 1, runs=100)["with"]
    erl1 = erlang_a.solve(agents=28, calls=off, interval_min=15, aht_s=aht, patience_s=None, target_s=20)
    assert more["sl_pct"] - got["sl_pct"] == pytest.approx(100 * (erl1["service_level"] - erl["service_level"]), abs=4.0)


def test_pool_bad_input_is_a_one_line_error():
    r = raw(2, 3, 10, 10)
    with pytest.raises(HTTPException) as e:
        pool_whatif(r, None, cfg(True), "s", "nope", 1)
    assert (e.value.status_code, e.value.detail) == (404, "no pool 'nope' at site 's'")
    with pytest.raises(HTTPException) as e:
        whatif(r, None, cfg(True), "s", "a", -6)
    assert (e.value.status_code, e.value.detail) == (400, "agents: -6 is more than the 5 agents on duty in pool 'phones'")
    assert whatif(r, None, cfg(True), "s", "a", -5)["with"]["answered"] < whatif(r, None, cfg(True), "s", "a", 0)["now"]["answered"]
    # Nobody handled anything yet in the pool: nothing to simulate, said once.
    for x in "ab":
        r["queues"][x]["sliding"]["15m"]["aht_s"] = None
    with pytest.raises(HTTPException) as e:
        whatif(r, None, cfg(True), "s", "b", 1)
    assert (e.value.status_code, e.value.detail) == (409, "no handle time known in pool 'phones' yet (nobody handled); nothing to simulate")


def test_a_member_nobody_handled_yet_takes_the_pools_handle_time():
    r = raw(3, 3, 20, 20)
    r["queues"]["b"]["sliding"]["15m"]["aht_s"] = None
    got = whatif(r, None, cfg(True), "s", "b", 0)
    assert got["queues"] == ["a", "b"] and got["now"]["queues"]["b"]["offered"] > 0


@pytest.mark.parametrize("pooled, queue", [(True, "a"), (False, "a"), (False, "c")])
def test_a_floor_that_reports_no_agent_states_is_not_simulated_with_nobody(pooled, queue) -> None:
    """The worker's advice says ``have: None`` where a feed has no agent states (the Anonymous Bank's log):
    who is on duty is unknown, so the what-if refuses (409, the words the wall knows) instead of running the
    queue (or pool) with no agent and every caller abandoning; with a count (0 included) it simulates."""
    unknown = {"queues": {k: {"need_now": 3, "have": None, "ready": None} for k in "abc"}}
    with pytest.raises(HTTPException) as err:
        whatif(raw(0, 0, 40, 20), unknown, cfg(pooled), "s", queue, 1)
    assert err.value.status_code == 409 and err.value.detail.startswith("agents on duty unknown at site 's'")
    if pooled:
        with pytest.raises(HTTPException):
            pool_whatif(raw(0, 0, 40, 20), unknown, cfg(True), "s", "phones", 1)
    counted = {"queues": {k: {"need_now": 3, "have": 0, "ready": 0} for k in "abc"}}
    got = whatif(raw(0, 0, 40, 20), counted, cfg(pooled), "s", queue, 1)
    assert got["agents"] == 1 and got["with"]["offered"] >= 0
