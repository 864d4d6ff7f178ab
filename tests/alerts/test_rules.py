"""Each threshold rule on small hand-made event sequences, through the event-time driver."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts.hysteresis import step
from stream.alerts.config import DETECTORS, RULES
from tests.alert_helpers import driver, kinds, only
from tests.helpers import Seq, at

T0 = at("09:00:00")
S = 1000


def test_longest_wait_raises_after_min_duration_and_resolves_itself():
    drv = driver(only("longest_wait", **{"raise": 60, "clear": 30, "for_s": 30, "severity": "critical"}))
    seq = Seq("s1")
    seq.offer(T0, "c1", "q")
    out = drv.feed(seq.events)
    # 09:01:00 the wait is exactly 60 s (not above); 09:01:30 it is 90 s: pending;
    # 09:02:00 it has held 30 s: raised.
    out += drv.tick(T0 + 61 * S)
    assert out == []
    out += drv.tick(T0 + 90 * S)
    assert out == []
    out += drv.tick(T0 + 120 * S)
    assert kinds(out) == [("raised", "longest_wait")]
    a = out[0]
    assert a["at_ms"] == T0 + 120 * S and a["since_ms"] == T0 + 90 * S
    assert a["severity"] == "critical" and a["value"] == 120.0 and a["threshold"] == 60
    assert a["id"] == f"s1/q/longest_wait@{T0 + 120 * S}" and a["dedup_key"] == a["id"] + "#raised"
    assert a["message"]["en"] == "VIP queue: longest wait 2:00 (alerts above 1:00) for 30 s"
    assert a["message"]["zh-CN"] == "VIP队列：最长等待 2:00（告警线：超过 1:00）已 30 秒"
    json.dumps(a)  # plain JSON
    seq2 = Seq("s1")
    seq2.answer(T0 + 130 * S, "c1", "a1")
    seq2.offer(T0 + 200 * S, "c9", "q")  # moves the clock past the next boundaries
    out = drv.feed(seq2.events)
    assert kinds(out) == [("resolved", "longest_wait")]
    assert out[0]["at_ms"] == T0 + 150 * S and out[0]["id"] == a["id"] and out[0]["state"] == "resolved"


def test_short_excursion_under_min_duration_does_not_raise():
    drv = driver(only("longest_wait", **{"raise": 60, "clear": 30, "for_s": 120}))
    seq = Seq("s1")
    seq.offer(T0, "c1", "q")
    seq.answer(T0 + 150 * S, "c1")  # above 60 s from 09:01:30 to 09:02:30 only: 60 s < 120 s
    seq.offer(T0 + 600 * S, "c2", "q")
    assert drv.feed(seq.events) == []


def _two_waiters(clear: float) -> list[dict]:
    """A at 0 s, B at 70 s; A answered at 95 s so the longest wait drops to B's and climbs again."""
    drv = driver(only("longest_wait", **{"raise": 60, "clear": clear, "for_s": 0}))
    seq = Seq("s1")
    seq.offer(T0, "a", "q")
    seq.offer(T0 + 70 * S, "b", "q")
    seq.answer(T0 + 95 * S, "a")
    out = drv.feed(seq.events)
    return out + drv.tick(T0 + 200 * S)


def test_hysteresis_no_flapping_between_the_levels():
    # With a clear level of 30 s, B's 50 s at 09:02:00 keeps the alert raised: one alert.
    assert kinds(_two_waiters(30)) == [("raised", "longest_wait")]
    # Without hysteresis (clear = raise) the same floor flaps: raised, resolved, raised.
    assert kinds(_two_waiters(60)) == [("raised", "longest_wait"), ("resolved", "longest_wait"), ("raised", "longest_wait")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 200)), max_size=60), st.integers(0, 90))
def test_hysteresis_properties(values, for_s):
    """Raises happen past the raise level, resolves at or under clear, and they alternate."""
    state, events = None, []
    for i, v in enumerate(values):
        state, ev = step(state, v, raise_at=100, clear_at=50, for_s=for_s, repeat_s=0, lower_is_worse=False, now=i * 30_000)
        if ev == "raised":
            assert v is not None and v > 100
        if ev == "resolved":
            assert v is None or v <= 50
        if ev:
            events.append(ev)
    assert all(a != b for a, b in zip(events, events[1:]))
    assert not events or events[0] == "raised"


def test_repeat_interval_and_ack_stops_repeats():
    drv = driver(only("longest_wait", **{"raise": 60, "clear": 30, "for_s": 0, "repeat_s": 120}))
    seq = Seq("s1")
    seq.offer(T0, "c1", "q")
    drv.feed(seq.events)
    out = drv.tick(T0 + 90 * S)  # raised at 09:01:30
    assert kinds(out) == [("raised", "longest_wait")]
    out = drv.tick(T0 + 330 * S)  # repeats at 09:03:30 and 09:05:30
    assert kinds(out) == [("repeated", "longest_wait")] * 2
    assert [c["at_ms"] for c in out] == [T0 + 210 * S, T0 + 330 * S]
    assert out[0]["message"]["en"].startswith("Still: VIP queue: longest wait 3:30")
    assert out[0]["dedup_key"] != out[1]["dedup_key"]
    aid = out[0]["id"]
    current = drv.engine.alerts("s1")
    assert [(c["id"], c["state"]) for c in current] == [(aid, "raised")] and drv.engine.alerts("other") == []
    ack = drv.engine.ack(aid, "duty-manager-7", T0 + 340 * S)
    assert ack["change"] == "acknowledged" and ack["state"] == "acknowledged"
    assert ack["acked_by"] == "duty-manager-7" and ack["acked_ms"] == T0 + 340 * S
    assert drv.engine.ack(aid, "someone-else", T0 + 341 * S) is None  # already acknowledged
    assert drv.engine.ack("s1/q/longest_wait@1", "x", T0) is None  # unknown
    assert drv.tick(T0 + 900 * S) == []  # acknowledged: no more repeats
    assert drv.engine.alerts()[0]["state"] == "acknowledged"
    seq2 = Seq("s1")
    seq2.answer(T0 + 901 * S, "c1")
    seq2.offer(T0 + 960 * S, "c2", "q")
    out = drv.feed(seq2.events)
    assert kinds(out) == [("resolved", "longest_wait")]
    assert out[0]["acked_by"] == "duty-manager-7" and out[0]["state"] == "resolved"


def test_vip_wait():
    drv = driver(only("vip_wait", **{"raise": 30, "clear": 10, "for_s": 0}))
    seq = Seq("s1")
    seq.offer(T0, "n1", "q")  # not a VIP: never counts
    seq.offer(T0 + 10 * S, "v1", "q", vip=True)
    out = drv.feed(seq.events) + drv.tick(T0 + 60 * S)
    assert kinds(out) == [("raised", "vip_wait")]
    assert out[0]["at_ms"] == T0 + 60 * S and out[0]["value"] == 50.0
    assert out[0]["message"]["en"] == "VIP queue: VIP waiting 0:50 (alerts above 0:30)"
    assert "VIP客户已等待 0:50" in out[0]["message"]["zh-CN"]


def test_no_agent_ready_hotline():
    drv = driver(only("no_agent_ready", **{"raise": 0, "clear": 0, "for_s": 60}))
    seq = Seq("s1")
    seq.state(T0, "a1", "ready", queues=["q"])
    seq.offer(T0 + 5 * S, "c1", "q")  # waiting, but an agent is ready: no alert
    seq.state(T0 + 40 * S, "a1", "busy")
    out = drv.feed(seq.events) + drv.tick(T0 + 120 * S)
    # nobody ready from 09:00:40: pending at 09:01:00, raised at 09:02:00
    assert kinds(out) == [("raised", "no_agent_ready")]
    assert out[0]["at_ms"] == T0 + 120 * S
    assert out[0]["message"]["en"] == "VIP queue: 1 waiting, no agent ready for 1 min"
    seq2 = Seq("s1")
    seq2.state(T0 + 130 * S, "a1", "ready")
    seq2.offer(T0 + 200 * S, "c2", "q")
    out = drv.feed(seq2.events)
    assert kinds(out) == [("resolved", "no_agent_ready")]


def test_hall_no_counter_open():
    drv = driver(only("no_agent_ready", **{"raise": 0, "clear": 0, "for_s": 0}))
    seq = Seq("h1")
    seq.state(T0, "k1", "ready", counter="C1", queues=["h"])
    seq.issue(T0 + 5 * S, "t1", "h")
    seq.state(T0 + 20 * S, "k1", "not_ready", reason="lunch")  # the only counter closes
    out = drv.feed(seq.events) + drv.tick(T0 + 60 * S)
    assert kinds(out) == [("raised", "no_agent_ready")]
    assert out[0]["at_ms"] == T0 + 30 * S and out[0]["site"] == "h1"
    assert out[0]["message"]["en"] == "General services: 1 waiting, no counter open"
    assert out[0]["message"]["zh-CN"] == "普通业务：1 人等待，无开放窗口"
    seq2 = Seq("h1")
    seq2.state(T0 + 70 * S, "k1", "ready")
    seq2.call_ticket(T0 + 75 * S, "t1", "C1", "k1")
    seq2.issue(T0 + 100 * S, "t2", "h")
    assert kinds(drv.feed(seq2.events)) == [("resolved", "no_agent_ready")]


def test_agent_not_ready_by_reason_and_wrap_up():
    cfg = only("agent_not_ready", **{"raise": 600, "clear": 0, "by_reason": {"lunch": 3600}})
    drv = driver(cfg)
    seq = Seq("s1")
    seq.state(T0, "a1", "not_ready", reason="break", queues=["q"])
    seq.state(T0, "a2", "not_ready", reason="lunch", queues=["q"])
    out = drv.feed(seq.events) + drv.tick(T0 + 40 * 60 * S)
    # a1's break raises just after 10 min; a2's lunch is allowed an hour.
    assert kinds(out) == [("raised", "agent_not_ready")]
    assert out[0]["agent"] == "a1" and out[0]["at_ms"] == T0 + 630 * S
    assert out[0]["key"] == "s1/q/agent_not_ready/a1"
    assert out[0]["message"]["en"] == "Agent a1 (VIP queue): not ready (break) for 10:30 (alerts above 10:00)"
    seq2 = Seq("s1")
    seq2.state(T0 + 41 * 60 * S, "a1", "ready")
    seq2.offer(T0 + 42 * 60 * S, "c1", "q")
    assert kinds(drv.feed(seq2.events)) == [("resolved", "agent_not_ready")]

    drv = driver(only("agent_wrap_up", **{"raise": 120}))
    seq = Seq("s1")
    seq.state(T0, "a3", "wrap_up", queues=["q"])
    out = drv.feed(seq.events) + drv.tick(T0 + 300 * S)
    assert kinds(out) == [("raised", "agent_wrap_up")] and out[0]["at_ms"] == T0 + 150 * S


def test_agent_levels_below_the_site_level_and_held_agents_are_never_skipped():
    """The engine skips agents under the site's lowest agent level; a queue's own lower level,
    a reason's, and a condition held while the time in state starts again must all still count."""
    from stream.alerts.config import AlertsConfig
    from stream.alerts.rules import agent_floor

    rules = {r: {"enabled": r in ("agent_not_ready", "agent_wrap_up")} for r in RULES}
    rules["agent_not_ready"].update({"raise": 900, "clear": 0, "for_s": 0, "by_reason": {"coaching": 300}})
    rules["agent_wrap_up"].update({"raise": 900, "clear": 0, "for_s": 120})
    cfg = AlertsConfig.from_dict({
        "defaults": {"rules": rules, "anomaly": {d: {"enabled": False} for d in DETECTORS}},
        "sites": {"s1": {"queues": {"q2": {"rules": {"agent_wrap_up": {"raise": 60}}}}}},
    })
    assert agent_floor(cfg, "s1") == 60 and agent_floor(cfg, "other") == 300
    drv = driver(cfg)
    seq = Seq("s1")
    seq.state(T0, "a1", "wrap_up", queues=["q2"])  # the queue's level: 60 s
    seq.state(T0, "a2", "not_ready", reason="coaching", queues=["q"])  # the reason's: 300 s
    seq.state(T0, "a3", "not_ready", reason="break", queues=["q"])  # the site's: 900 s, not reached
    out = drv.feed(seq.events) + drv.tick(T0 + 240 * S)
    # a1 goes past 60 s at 90 s and is pending 120 s: raised at 210 s.
    assert [(c["change"], c["agent"], c["at_ms"]) for c in out] == [("raised", "a1", T0 + 210 * S)]
    seq2 = Seq("s1")
    # Still in wrap-up but a new run of it (a new call's): 0 s again, far under every level,
    # yet the raised alert must carry on, not be forgotten nor resolved.
    seq2.state(T0 + 245 * S, "a1", "busy", queues=["q2"])
    seq2.state(T0 + 250 * S, "a1", "wrap_up", queues=["q2"])
    out = drv.feed(seq2.events) + drv.tick(T0 + 330 * S)
    assert [(c["change"], c["agent"], c["at_ms"]) for c in out] == [("raised", "a2", T0 + 330 * S)]
    seq3 = Seq("s1")
    seq3.state(T0 + 335 * S, "a1", "ready", queues=["q2"])
    out = drv.feed(seq3.events) + drv.tick(T0 + 360 * S)
    assert [(c["change"], c["agent"]) for c in out] == [("resolved", "a1")]


def _calls(seq: Seq, n: int, *, wait_s: int, abandon: bool = False) -> None:
    for i in range(n):
        t = T0 + i * 10 * S
        seq.offer(t, f"c{i}", "q")
        if abandon:
            seq.abandon(t + wait_s * S, f"c{i}")
        else:
            seq.answer(t + wait_s * S, f"c{i}")


def test_service_level_below_target_needs_volume():
    drv = driver(only("service_level", **{"raise": 60, "clear": 70, "for_s": 0, "min_offered": 20}))
    seq = Seq("s1")
    _calls(seq, 19, wait_s=30)  # every call answered after T: SL 0 %, but only 19 offered
    assert drv.feed(seq.events) + drv.tick(T0 + 200 * S) == []
    drv = driver(only("service_level", **{"raise": 60, "clear": 70, "for_s": 0, "min_offered": 20}))
    seq = Seq("s1")
    _calls(seq, 20, wait_s=30)
    out = drv.feed(seq.events) + drv.tick(T0 + 230 * S)
    assert kinds(out) == [("raised", "service_level")]
    assert out[0]["value"] == 0.0 and "alerts below 60.0%" in out[0]["message"]["en"]
    # 15 minutes later the window is empty: no verdict, so it resolves by itself.
    assert kinds(drv.tick(T0 + 20 * 60 * S)) == [("resolved", "service_level")]


def test_abandon_rate_above():
    drv = driver(only("abandon_rate", **{"raise": 20, "clear": 10, "for_s": 0, "min_offered": 10}))
    seq = Seq("s1")
    _calls(seq, 12, wait_s=30, abandon=True)
    out = drv.feed(seq.events) + drv.tick(T0 + 200 * S)
    assert kinds(out) == [("raised", "abandon_rate")]
    # Raised at the first boundary with 10 contacts offered: 10 of 11 abandoned (one still waits).
    assert out[0]["at_ms"] == T0 + 120 * S and round(out[0]["value"], 1) == 90.9
    assert out[0]["message"]["en"] == "VIP queue: abandon rate (15 min) 90.9% (alerts above 20.0%)"


def test_agent_floors_by_state_and_reason():
    """The lowest level an agent can meet, by its state and reason, over the site's queues: the engine
    reads no further than that for an agent under it (and holding nothing)."""
    from stream.alerts.config import AlertsConfig
    from stream.alerts.rules import agent_floor, agent_floors, agents_past

    rules = {r: {"enabled": r in ("agent_not_ready", "agent_wrap_up")} for r in RULES}
    rules["agent_not_ready"].update({"raise": 900, "clear": 0, "by_reason": {"lunch": 3600, "coaching": 300}})
    rules["agent_wrap_up"].update({"raise": 900, "clear": 0})
    cfg = AlertsConfig.from_dict({
        "defaults": {"rules": rules, "anomaly": {d: {"enabled": False} for d in DETECTORS}},
        "sites": {"s1": {"queues": {"q2": {"rules": {"agent_not_ready": {"raise": 600, "by_reason": {"lunch": 2400}}}},
                                   "q3": {"rules": {"agent_wrap_up": {"enabled": False}}}}}},
    })
    f = agent_floors(cfg, "s1")
    nr, wu = f.by_state["not_ready"], f.by_state["wrap_up"]
    # q2's own levels are lower for a break (600 < 900) and for lunch (2400 < 3600); coaching is q2's
    # site-level 600 there, but 300 at the site level.
    assert nr.base == 600 and nr.by_reason == {"lunch": 2400, "coaching": 300}
    assert wu.base == 900 and wu.by_reason == {}
    assert f.low == 300 == agent_floor(cfg, "s1")
    assert agent_floors(cfg, "other").by_state["not_ready"].by_reason == {"lunch": 3600, "coaching": 300}

    def row(state, t, reason=None):
        return {"label": None, "state": state, "reason": reason, "since": 0, "time_in_state_s": t, "queues": ["q"], "counter": None}

    agents = {
        "b": row("not_ready", 2000.0, "lunch"),  # under lunch's 2400: skipped
        "a": row("not_ready", 2500.0, "lunch"),  # past it
        "c": row("not_ready", 700.0, "break"),  # past the state's 600
        "d": row("not_ready", 400.0, "coaching"),  # past coaching's 300
        "e": row("wrap_up", 800.0),  # under 900
        "f": row("busy", 5000.0),  # a state no rule watches, even held
        "g": row("wrap_up", 10.0),  # held: always given
        "h": row("not_ready", None, "break"),  # no time: given, to fail where it always did
        "i": row("wrap_up", float("nan")),  # never past anything
    }
    assert agents_past(agents, f, {"f", "g"}) == ["a", "c", "d", "g", "h"]
    assert agents_past(agents, f, set()) == ["a", "c", "d", "h"]


def test_queue_value_by_name_and_by_code_agree():
    from stream.alerts.config import AlertsConfig
    from stream.alerts.rules import QUEUE_RULES, RULE_CODES, queue_value, rule_value

    cfg = AlertsConfig.from_dict({})
    w15 = {"offered": 30, "short_abandoned": 5, "abandoned": 9, "sl_pct": 55.0, "abandon_pct": 16.0}
    q = {"longest_wait_s": 320.5, "longest_vip_wait_s": 0.0, "waiting": 4, "agents": {"ready": 0}, "sliding": {"15m": w15}}
    for kind, counters in (("hotline", None), ("hall", {"open": 0}), ("hall", {"open": 2})):
        snap = {"kind": kind, "queues": {"q": q}, **({"counters": counters} if counters else {})}
        for rule in QUEUE_RULES:
            rc = cfg.rule("s", "q", rule)
            assert rule_value(RULE_CODES[rule], snap, q, max(rc.min_offered, 1)) == queue_value(rule, snap, "q", rc)
    import pytest

    with pytest.raises(ValueError):
        queue_value("agent_wrap_up", {"queues": {"q": q}}, "q", cfg.rule("s", "q", "agent_wrap_up"))
