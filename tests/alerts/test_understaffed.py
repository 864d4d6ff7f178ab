"""The ``understaffed`` rule: agents short (needed now − logged in), with hysteresis and a minimum duration.

By the engine on hand-made snapshots (the levels and durations exactly), and
end to end through the event-time driver with the worker's advisor on a real
fold (``stream.runtime.advisor``: no history, so the need comes from the last
15 minutes' arrivals).
"""

from __future__ import annotations

from stream.alerts.engine import AlertEngine
from stream.alerts.driver import AlertDriver
from stream.alerts.rules import queue_value
from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.planning import staffing
from stream.runtime.advisor import Advisor
from tests.alert_helpers import FLOOR, kinds, only
from tests.helpers import Seq, at

T0 = at("09:00:00")
S = 1000
EMPTY = {"offered": 0, "answered": 0, "abandoned": 0, "short_abandoned": 0, "handled": 0, "aht_s": None, "sl_pct": None,
         "abandon_pct": None}


def snap(short, need: int = 10, hall: bool = False) -> dict:
    """A site's alert snapshot with queue q ``short`` agents short (None: no advice at all)."""
    q = {"name": {"en": "VIP queue", "zh": "VIP队列"}, "waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0,
         "longest_vip_wait_s": 0.0, "agents": {"ready": 0, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 0},
         "sliding": {"5m": dict(EMPTY), "15m": dict(EMPTY)}}
    if short is not None:
        q["advice"] = {"need_now": need, "have": need - short}
    return {"site": "s1", "kind": "hall" if hall else "hotline", "timezone": "UTC", "queues": {"q": q}, "agents": {}}


def run(engine: AlertEngine, shorts: list, step_s: int = 30, start: int = T0) -> list[tuple[int, str]]:
    """Evaluate a snapshot every ``step_s`` with the shorts given; (seconds from start, change) of each change."""
    out = []
    for i, s in enumerate(shorts):
        t = start + i * step_s * S
        for ch in engine.evaluate("s1", t, snap(s)):
            out.append(((t - start) // S, ch["change"]))
    return out


RULE = only("understaffed", **{"raise": 2, "clear": 0, "for_s": 300})


def test_rule_value():
    assert queue_value("understaffed", snap(3), "q", RULE.rule("s1", "q", "understaffed")) == 3.0
    assert queue_value("understaffed", snap(-4), "q", RULE.rule("s1", "q", "understaffed")) == -4.0
    assert queue_value("understaffed", snap(None), "q", RULE.rule("s1", "q", "understaffed")) is None
    no_need = snap(0)
    no_need["queues"]["q"]["advice"]["need_now"] = None  # no handle time known yet
    assert queue_value("understaffed", no_need, "q", RULE.rule("s1", "q", "understaffed")) is None


def test_raises_only_after_the_minimum_duration_and_clears_at_the_clear_level():
    e = AlertEngine(RULE)
    # 3 short from 0 s: pending; raised once it has held 300 s; 1 short (between the levels): still raised;
    # 0 short: resolved.
    shorts = [3] * 11 + [1] * 5 + [0]
    assert run(e, shorts) == [(300, "raised"), (480, "resolved")]


def test_a_short_excursion_does_not_raise():
    e = AlertEngine(RULE)
    assert run(e, [3] * 9 + [0] + [3] * 5) == []  # 270 s over, then staffed: the pending condition is dropped


def test_pending_survives_a_dip_between_the_levels():
    e = AlertEngine(RULE)
    # Over the raise level at 0 s, 1 short (not past clear) 60..240 s, over again: raised at 300 s, since 0 s.
    shorts = [3, 3, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3]
    changes = []
    for i, s in enumerate(shorts):
        changes += e.evaluate("s1", T0 + i * 30 * S, snap(s))
    assert kinds(changes) == [("raised", "understaffed")]
    a = changes[0]
    assert a["at_ms"] == T0 + 300 * S and a["since_ms"] == T0
    assert a["value"] == 3.0 and a["threshold"] == 2 and a["target"] == 10
    assert a["message"]["en"] == "VIP queue: 3 agents short (need 10, have 7) for 5 min"
    assert a["message"]["zh-CN"] == "VIP队列：缺 3 名坐席（需 10，在岗 7） 已 5 分钟"


def test_no_advice_no_alert():
    e = AlertEngine(RULE)
    assert run(e, [None] * 30) == []
    e2 = AlertEngine(RULE)
    # Raised, then the advice goes away (a worker without it): unknown counts as clear.
    assert run(e2, [5] * 11 + [None]) == [(300, "raised"), (330, "resolved")]


def test_hall_message_says_counters():
    e = AlertEngine(only("understaffed", **{"raise": 0, "clear": 0, "for_s": 0}))
    ch = e.evaluate("s1", T0, snap(2, need=6, hall=True))
    assert ch[0]["message"]["en"] == "VIP queue: 2 counters short (need 6, have 4)"
    assert ch[0]["message"]["zh-CN"] == "VIP队列：缺 2 个窗口（需 6，在岗 4）"


def advised(for_s: int) -> tuple[Floor, Advisor, AlertDriver]:
    """A floor, the worker's advisor (no history) and a driver whose only rule is understaffed (raise 0)."""
    cfg = FloorConfig.from_dict(FLOOR)
    floor = Floor(cfg)
    advisor = Advisor(cfg)
    engine = AlertEngine(only("understaffed", **{"raise": 0, "clear": 0, "for_s": for_s}))
    return floor, advisor, AlertDriver(floor, engine, annotate=advisor.annotate)


def calls(seq: Seq, agent) -> None:
    """09:00-09:30, one call every 30 s, each answered at once (by ``agent(i)``) and 2 minutes long."""
    for i in range(60):
        t = T0 + i * 30 * S
        seq.offer(t, f"c{i}", "q")
        seq.answer(t + S, f"c{i}", agent(i))
        seq.end(t + S + 120 * S, f"c{i}")


def test_end_to_end_through_the_driver_with_the_advisor():
    """30 calls every 15 minutes of 2 minutes each for one agent: short until ten more log in."""
    floor, advisor, drv = advised(600)
    seq = Seq("s1")
    seq.state(T0 - 3_600_000, "a1", "ready", queues=["q"])
    calls(seq, lambda i: "a1")
    for j in range(10):  # 09:20: ten more agents of the queue log in
        seq.state(T0 + 20 * 60 * S, f"b{j}", "ready", queues=["q"])
    evs = sorted(seq.events, key=lambda e: e.ts)
    out = drv.feed(evs) + drv.tick(T0 + 40 * 60 * S)
    assert kinds(out) == [("raised", "understaffed"), ("resolved", "understaffed")]
    raised, resolved = out
    # Short from the first evaluation with a handle time (the first call ended at 09:02:01), raised 10 min later.
    assert T0 + 12 * 60 * S <= raised["at_ms"] <= T0 + 13 * 60 * S
    assert resolved["at_ms"] == T0 + 20 * 60 * S  # the boundary they logged in at (events at a boundary count)
    # The need is Erlang C's for the last 15 minutes' calls (all since 09:00 then) at their handle time,
    # against the one agent.
    offered = (raised["at_ms"] - T0) // (30 * S) + 1
    need = staffing.required_agents(staffing.traffic(offered, 15, 120.0), 120.0, 20, 0.8)
    assert raised["target"] == need and raised["value"] == need - 1


def test_a_floor_without_agent_states_is_never_understaffed():
    """A call log without agent states (the Anonymous Bank's): who is there is unknown, not nobody."""
    floor, advisor, drv = advised(0)
    seq = Seq("s1")
    calls(seq, lambda i: f"x{i % 5}")  # agents named on the calls, but no agent_state ever
    out = drv.feed(sorted(seq.events, key=lambda e: e.ts)) + drv.tick(T0 + 40 * 60 * S)
    assert out == []
    adv = advisor.site_advice(floor, "s1", floor.snapshot("s1"))["q"]
    assert adv["have"] is None and adv["ready"] is None and adv["need_now"] >= 1


def pooled_snap(short: int, pooled: bool = True, need: int = 12) -> dict:
    """Queues q and r of pool "floor" (and z alone), each carrying the pool's advice ``short`` agents short;
    with ``pooled`` False, the same figures as each queue's own advice (what pooling removed gives)."""
    s = snap(None)
    base = s["queues"]["q"]
    s["queues"] = {k: {**base, "name": {"en": en, "zh": zh}} for k, en, zh in
                   (("q", "Regular", "普通"), ("r", "Trading", "交易"), ("z", "Loans", "贷款"))}
    adv = {"need_now": need, "have": need - short}
    if pooled:
        adv.update(pool="floor", queues=["q", "r"])
    s["queues"]["q"]["advice"] = dict(adv)
    s["queues"]["r"]["advice"] = dict(adv)
    s["queues"]["z"]["advice"] = {"need_now": 3, "have": 3}
    return s


def test_a_pool_raises_one_alert_naming_the_pool_and_its_queues():
    e = AlertEngine(only("understaffed", **{"raise": 2, "clear": 0, "for_s": 60}))
    out = []
    for i, short in enumerate([3, 3, 3, 3, 0]):
        out += e.evaluate("s1", T0 + i * 30 * S, pooled_snap(short))
    assert kinds(out) == [("raised", "understaffed"), ("resolved", "understaffed")]
    raised = out[0]
    assert (raised["key"], raised["queue"], raised["queues"]) == ("s1/floor/understaffed", "floor", ["q", "r"])
    assert raised["message"]["en"] == "Pool floor (Regular, Trading): 3 agents short (need 12, have 9) for 1 min"
    assert raised["message"]["zh-CN"] == "坐席组 floor（普通、交易）：缺 3 名坐席（需 12，在岗 9） 已 1 分钟"



def test_a_pool_alert_survives_a_checkpoint():
    import json

    e = AlertEngine(only("understaffed", **{"raise": 2, "clear": 0, "for_s": 0}))
    assert kinds(e.evaluate("s1", T0, pooled_snap(3))) == [("raised", "understaffed")]
    e2 = AlertEngine.from_dict(json.loads(json.dumps(e.to_dict())), e.config)
    resolved = e2.evaluate("s1", T0 + 30 * S, pooled_snap(0))
    assert [(c["change"], c["queue"], c["queues"]) for c in resolved] == [("resolved", "floor", ["q", "r"])]


def test_without_the_pool_each_queue_raises_its_own():
    e = AlertEngine(only("understaffed", **{"raise": 2, "clear": 0, "for_s": 0}))
    out = e.evaluate("s1", T0, pooled_snap(3, pooled=False))
    assert sorted(c["queue"] for c in out) == ["q", "r"] and all("queues" not in c for c in out)


def test_a_pool_end_to_end_through_the_driver_with_the_advisor():
    """Queues q and r pooled: calls on both, one agent of q; ten agents whose primary skill is r log in at
    09:20 and staff the pool (q's calls too). One alert for the pool, raised and resolved; none per queue."""
    import copy

    spec = copy.deepcopy(FLOOR)
    spec["sites"]["s1"]["queues"]["r"] = {"name": {"en": "Trading", "zh": "交易"}}
    spec["sites"]["s1"]["pools"] = {"floor": ["q", "r"]}
    cfg = FloorConfig.from_dict(spec)
    floor, advisor = Floor(cfg), Advisor(cfg)
    drv = AlertDriver(floor, AlertEngine(only("understaffed", **{"raise": 0, "clear": 0, "for_s": 600})), annotate=advisor.annotate)
    seq = Seq("s1")
    seq.state(T0 - 3_600_000, "a1", "ready", queues=["q", "r"])
    for i in range(60):
        t = T0 + i * 30 * S
        seq.offer(t, f"c{i}", "qr"[i % 2])
        seq.answer(t + S, f"c{i}", "a1")
        seq.end(t + S + 120 * S, f"c{i}")
    for j in range(10):
        seq.state(T0 + 20 * 60 * S, f"b{j}", "ready", queues=["r", "q"])
    out = drv.feed(sorted(seq.events, key=lambda e: e.ts)) + drv.tick(T0 + 40 * 60 * S)
    assert kinds(out) == [("raised", "understaffed"), ("resolved", "understaffed")]
    assert [(c["queue"], c["queues"]) for c in out] == [("floor", ["q", "r"])] * 2
    assert out[0]["message"]["en"].startswith("Pool floor (VIP queue, Trading): ")
    assert out[1]["at_ms"] == T0 + 20 * 60 * S  # r's agents count for the pool
