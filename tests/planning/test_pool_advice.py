"""Staffing advice for pools (stream.planning.advice.pool_advice, the advisor on a pooled site).

A pool's need is one Erlang A over its members' loads, computed here by hand
(offered summed, handle time, patience and target weighted by offered); its
agents are the distinct agents whose primary skill is a member. Each test
fails with pooling removed (members advised apart, or agents counted on each
skill).
"""

from __future__ import annotations

import numpy as np
import pytest

from stream.contracts import events as E
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.planning import erlang_a, staffing
from stream.planning.advice import DayLoad, pool_advice, queue_advice
from stream.runtime.advisor import Advisor

NINE = 36 * 900_000  # 09:00 UTC on 1970-01-01


def cfg(pools=True) -> FloorConfig:
    site = {"timezone": "UTC", "queues": {"a": {"sl_target_pct": 80, "sl_t_s": 20}, "b": {"sl_target_pct": 90, "sl_t_s": 20},
                                          "c": {"sl_target_pct": 80, "sl_t_s": 20}}}
    if pools:
        site["pools"] = {"floor": ["a", "b"]}
    return FloorConfig.from_dict({"sites": {"s": site}})


def live(logged_in, ready, offered=0, handled=0, aht=None) -> dict:
    return {"agents": {"logged_in": logged_in, "ready": ready},
            "sliding": {"15m": {"offered": offered, "handled": handled, "aht_s": aht}}}


def test_a_two_queue_pool_is_one_erlang_a_by_hand():
    days = {"a": DayLoad(np.full(96, 60.0), np.full(96, 200.0)), "b": DayLoad(np.full(96, 20.0), np.full(96, 400.0))}
    lives = {"a": live(9, 1), "b": live(4, 2)}
    adv = pool_advice(cfg(), "s", "floor", days, {}, NINE, lives, patience={"a": 120.0, "b": 300.0})
    # By hand: 80 calls, AHT (60·200 + 20·400)/80 = 250 s, patience (60·120 + 20·300)/80 = 165 s, target
    # (60·80 + 20·90)/80 = 82.5 %, T 20 s.
    want = erlang_a.required_agents(calls=80.0, interval_min=15, aht_s=250.0, patience_s=165.0, target_s=20, sl_goal=0.825)
    assert (adv["offered_now"], adv["aht_s"], adv["patience_s"]) == (80.0, 250.0, 165.0)
    assert adv["need_now"] == want
    assert [r["need"] for r in adv["next"]] == [want] * 4
    assert (adv["pool"], adv["queues"], adv["have"], adv["ready"], adv["basis"]) == ("floor", ["a", "b"], 13, 3, "forecast")
    # Pooled, fewer agents than the members staffed apart (the reason to pool).
    apart = sum(queue_advice(cfg(False), "s", q, days[q], None, NINE, lives[q], patience_s=p)["need_now"]
                for q, p in (("a", 120.0), ("b", 300.0)))
    assert want < apart
    # Each member keeps its own load (no need of its own: its agents are the pool's).
    assert adv["members"]["a"]["offered_now"] == 60.0 and adv["members"]["b"]["aht_s"] == 400.0
    assert [r["offered"] for r in adv["members"]["b"]["next"]] == [20.0] * 4


def test_pool_reshapes_each_member_by_its_own_day_then_sums():
    days = {"a": DayLoad(np.full(96, 40.0), np.full(96, 180.0)), "b": DayLoad(np.full(96, 40.0), np.full(96, 180.0))}
    busy = np.full(96, 40.0)
    busy[40:48] = 120.0  # b: 10:00-12:00 three times its forecast
    noon = NINE + 3 * 3_600_000
    adv = pool_advice(cfg(), "s", "floor", days, {"a": np.full(96, 40.0), "b": busy}, noon, {"a": live(5, 0), "b": live(5, 0)})
    b = queue_advice(cfg(False), "s", "b", days["b"], busy, noon, live(5, 0))
    assert adv["members"]["a"]["offered_now"] == 40.0
    assert adv["members"]["b"]["offered_now"] == b["offered_now"] > 40.0
    assert adv["offered_now"] == pytest.approx(40.0 + b["offered_now"])


def test_a_member_without_history_puts_the_pool_on_the_last_15_minutes():
    days = {"a": DayLoad(np.full(96, 60.0), np.full(96, 200.0)), "b": None}
    adv = pool_advice(cfg(), "s", "floor", days, {}, NINE, {"a": live(5, 1, 50, 40, 200.0), "b": live(2, 0, 30, 20, 300.0)})
    assert adv["basis"] == "live" and adv["next"] == []
    want = staffing.required_agents(staffing.traffic(80.0, 15, 237.5), 237.5, 20, 0.8375)
    assert adv["need_now"] == want and adv["offered_now"] == 80.0


def test_unknown_agents_in_a_member_leave_the_pool_unknown():
    days = {q: DayLoad(np.full(96, 30.0), np.full(96, 180.0)) for q in "ab"}
    adv = pool_advice(cfg(), "s", "floor", days, {}, NINE, {"a": live(5, 1), "b": {"agents": {"logged_in": None, "ready": None}}})
    assert adv["have"] is None and adv["need_now"] is not None


def fold_pooled(c: FloorConfig) -> tuple[Floor, dict]:
    """Agents of a, b and c, several with both pooled skills; calls on a and b: the fold and its snapshot."""
    f = Floor(c)
    skills = {"x1": ["a", "b"], "x2": ["a", "b"], "x3": ["b", "a"], "x4": ["b", "a", "c"], "x5": ["c", "a"], "x6": ["a"]}
    evs = [E.AgentState(id=f"st{n}", ts=NINE - 3_600_000, site="s", agent=n, state="ready" if n != "x6" else "not_ready",
                        queues=qs) for n, qs in skills.items()]
    for i in range(40):
        t, q = NINE + i * 20_000, "ab"[i % 2]
        evs += [E.CallOffered(id=f"o{i}", ts=t, site="s", call=f"k{i}", queue=q),
                E.CallAnswered(id=f"an{i}", ts=t + 1000, site="s", call=f"k{i}", agent=f"x{1 + i % 4}"),
                E.CallEnded(id=f"e{i}", ts=t + 1000 + 60_000, site="s", call=f"k{i}")]
    f.apply_many(sorted(evs, key=lambda e: e.ts))
    return f, f.snapshot("s")


def test_the_advisor_counts_each_agent_of_the_pool_once():
    c = cfg()
    f, snap = fold_pooled(c)
    out = Advisor(c).site_advice(f, "s", snap)
    a, b = out["a"], out["b"]
    # x1, x2, x6 (a first), x3, x4 (b first): five distinct agents; x5 is c's. Counted on every skill
    # they would be 5 on a and 4 on b, 9 in all.
    assert a["have"] == b["have"] == 5 and a["ready"] == 4
    assert a["pool"] == b["pool"] == "floor" and a["queues"] == ["a", "b"]
    assert a["need_now"] == b["need_now"] and a["member"]["offered_now"] == snap["queues"]["a"]["sliding"]["15m"]["offered"]
    m = {q: snap["queues"][q]["sliding"]["15m"] for q in "ab"}
    offered = m["a"]["offered"] + m["b"]["offered"]
    aht = (m["a"]["offered"] * m["a"]["aht_s"] + m["b"]["offered"] * m["b"]["aht_s"]) / offered
    target = (m["a"]["offered"] * 80 + m["b"]["offered"] * 90) / offered
    assert a["need_now"] == staffing.required_agents(staffing.traffic(offered, 15, round(aht, 1)), round(aht, 1), 20, target / 100)
    assert out["c"].get("pool") is None and out["c"]["have"] == 1  # a queue in no pool: advised alone


def test_without_pools_the_advisor_is_as_before():
    c = cfg(False)
    f, snap = fold_pooled(c)
    out = Advisor(c).site_advice(f, "s", snap)
    assert out["a"]["have"] == 3 and out["b"]["have"] == 2 and all("pool" not in v for v in out.values())
    for q in "ab":
        live_q = {"agents": f.site("s").primary_counts(snap["clock"])[0].get(q, {}), "sliding": snap["queues"][q]["sliding"]}
        assert out[q] == queue_advice(c, "s", q, None, None, snap["clock"], live_q)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(x=st.floats(0, 150), y=st.floats(0, 150), aht=st.floats(30, 600), pat=st.one_of(st.none(), st.floats(20, 900)),
       have=st.tuples(st.integers(0, 40), st.integers(0, 40)), minute=st.integers(0, 24 * 60 - 1))
def test_a_pool_of_like_queues_is_one_queue_with_their_calls(x, y, aht, pat, have, minute):
    """Two members with the same handle time, patience and target: the pool needs what one queue with both
    loads needs, and has both members' agents; a member with no calls leaves the other's need as it is."""
    c = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "pools": {"p": ["a", "b"]}, "queues": {
        "a": {"sl_target_pct": 85, "sl_t_s": 20}, "b": {"sl_target_pct": 85, "sl_t_s": 20}, "one": {"sl_target_pct": 85, "sl_t_s": 20}}}}})
    now = minute * 60_000
    days = {"a": DayLoad(np.full(96, x), np.full(96, aht)), "b": DayLoad(np.full(96, y), np.full(96, aht))}
    lives = {"a": live(have[0], 0), "b": live(have[1], 0)}
    adv = pool_advice(c, "s", "p", days, {}, now, lives, patience={"a": pat, "b": pat})
    one = queue_advice(c, "s", "one", DayLoad(np.full(96, round(x, 2) + round(y, 2)), np.full(96, aht)), None, now,
                       live(0, 0), patience_s=pat)
    assert adv["need_now"] == one["need_now"]
    assert [r["need"] for r in adv["next"]] == [r["need"] for r in one["next"]]
    assert adv["have"] == sum(have)
    alone = pool_advice(c, "s", "p", {**days, "b": DayLoad(np.zeros(96), np.full(96, np.nan))}, {}, now, lives,
                        patience={"a": pat, "b": None})
    assert alone["need_now"] == queue_advice(c, "s", "a", days["a"], None, now, lives["a"], patience_s=pat)["need_now"]
