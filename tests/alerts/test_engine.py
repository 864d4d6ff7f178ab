"""The engine as a fold: determinism under batching, state round trip, config errors, detectors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts.config import AlertsConfig, load_alerts
from stream.alerts.detectors import DriftCusum, PatienceDrop, RateSpike, SeasonalCusum
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.alerts.hysteresis import step
from stream.contracts.floor_config import ConfigError, FloorConfig
from stream.fold.floor import Floor
from tests.alert_helpers import FLOOR
from tests.helpers import Seq, at

T0 = at("08:00:00")

# Low levels so a small random floor raises, repeats and resolves a lot.
BUSY_RULES = AlertsConfig.from_dict(
    {
        "defaults": {
            "rules": {
                "longest_wait": {"raise": 40, "clear": 20, "for_s": 30, "repeat_s": 120},
                "service_level": {"raise": 70, "clear": 80, "for_s": 0, "min_offered": 3},
                "abandon_rate": {"raise": 20, "clear": 10, "for_s": 0, "min_offered": 3},
                "no_agent_ready": {"raise": 0, "clear": 0, "for_s": 30},
                "vip_wait": {"raise": 20, "clear": 5},
                "agent_not_ready": {"raise": 120},
                "agent_wrap_up": {"raise": 60},
            },
            "anomaly": {"arrival_surge": {"warmup_buckets": 3}, "aht_drift": {"warmup_buckets": 3}, "abandon_spike": {"warmup_buckets": 1}},
        }
    }
)


def random_floor(seed: int, calls: int = 150) -> list:
    """Two hours of a small random hotline: calls, answers, abandons, agents changing state."""
    rng = random.Random(seed)
    seq = Seq("s1")
    for a in ("a1", "a2", "a3"):
        seq.state(T0, a, "ready", queues=["q"])
    evs = []
    for i in range(calls):
        t = T0 + rng.randrange(0, 2 * 3600) * 1000
        s = Seq("s1")
        s.offer(t, f"c{i}", "q", vip=rng.random() < 0.1)
        w = rng.randrange(1, 120) * 1000
        if rng.random() < 0.2:
            s.abandon(t + w, f"c{i}")
        else:
            s.answer(t + w, f"c{i}", "a1")
            s.end(t + w + rng.randrange(30, 400) * 1000, f"c{i}")
        evs += s.events
    for k in range(20):
        s = Seq("s1")
        s.state(T0 + rng.randrange(0, 2 * 3600) * 1000, rng.choice(["a1", "a2", "a3"]), rng.choice(["ready", "busy", "wrap_up", "not_ready"]))
        evs += s.events
    evs.sort(key=lambda e: e.ts)
    return seq.events + evs


def run(events: list, batch: int, cfg: AlertsConfig = BUSY_RULES) -> list[dict]:
    drv = AlertDriver(Floor(FloorConfig.from_dict(FLOOR)), AlertEngine(cfg))
    out = []
    for i in range(0, len(events), batch):
        out += drv.feed(events[i : i + batch])
    return out


EVENTS = random_floor(1)
REFERENCE = run(EVENTS, len(EVENTS))


def test_the_random_floor_exercises_the_rules():
    changes = {c["change"] for c in REFERENCE}
    assert {"raised", "resolved", "repeated"} <= changes
    assert len({c["rule"] for c in REFERENCE}) >= 4


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 400))
def test_same_alerts_whatever_the_batching(batch):
    assert run(EVENTS, batch) == REFERENCE


def test_state_round_trips_and_a_restarted_worker_resumes():
    half = len(EVENTS) // 2
    floor = Floor(FloorConfig.from_dict(FLOOR))
    drv = AlertDriver(floor, AlertEngine(BUSY_RULES))
    out = drv.feed(EVENTS[:half])
    saved = json.loads(json.dumps({"engine": drv.engine.to_dict(), "driver": drv.to_dict()}))
    assert saved["engine"]["detectors"], "detectors have state by now"
    engine2 = AlertEngine.from_dict(saved["engine"], BUSY_RULES)
    assert engine2.to_dict() == saved["engine"]
    drv2 = AlertDriver(floor, engine2)  # the floor itself is the runtime's to restore
    drv2.restore(saved["driver"])
    out += drv2.feed(EVENTS[half:])
    assert out == REFERENCE


def test_state_version_is_checked():
    with pytest.raises(ValueError, match="version"):
        AlertEngine.from_dict({"version": 99, "active": {}, "detectors": {}}, BUSY_RULES)


def test_default_config_loads_and_resolves_levels():
    cfg = load_alerts()
    vip = cfg.rule("gd-hotline", "vip", "longest_wait")
    gen = cfg.rule("gd-hotline", "general", "longest_wait")
    assert vip.raise_ < gen.raise_ and vip.clear <= vip.raise_
    assert cfg.rule("hall-tianhe", "tianhe-general", "longest_wait").raise_ == 2400
    assert cfg.rule("nowhere", None, "service_level").clear >= cfg.rule("nowhere", None, "service_level").raise_


@pytest.mark.parametrize(
    "data, where",
    [
        ({"defaults": {"rules": {"longest_wait": {"raise": -5}}}}, "$.defaults.rules.longest_wait.raise"),
        ({"sites": {"gd": {"queues": {"vip": {"rules": {"vip_wait": {"severity": "loud"}}}}}}}, "$.sites.gd.queues.vip.rules.vip_wait.severity"),
        ({"sites": {"gd": {"rules": {"longest_wiat": {"raise": 5}}}}}, "$.sites.gd.rules.longest_wiat"),
        ({"defaults": {"rules": {"longest_wait": {"raise": 60, "clear": 90}}}}, "$.defaults.rules.longest_wait"),
        ({"defaults": {"rules": {"service_level": {"raise": 80, "clear": 70}}}}, "$.defaults.rules.service_level"),
        ({"defaults": {"anomaly": {"arrival_surge": {"raise": 1.5}}}}, "$.defaults.anomaly.arrival_surge.raise"),
        ({"defaults": {"rules": {"longest_wait": {"for": 5}}}}, "$.defaults.rules.longest_wait"),
        ({"extra": 1}, "$"),
    ],
)
def test_config_errors_name_file_and_field(data, where):
    with pytest.raises(ConfigError) as e:
        AlertsConfig.from_dict(data, source="config/alerts.yaml")
    assert str(e.value).startswith("config/alerts.yaml: ")
    assert f"`{where}" in str(e.value)


def test_load_alerts_names_the_file(tmp_path):
    p = tmp_path / "alerts.yaml"
    p.write_text("defaults:\n  rules:\n    vip_wait: {raise: fast}\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml: .* - at `\$.defaults.rules.vip_wait.raise`"):
        load_alerts(p)


# -- detectors ------------------------------------------------------------------

WED = 1_700_006_400  # a Wednesday, 00:00 UTC


def rate(t: float) -> float:
    h = (t // 3600) % 24
    return 8.0 if 9 <= h < 18 else (3.0 if 7 <= h < 21 else 0.3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seasonal_quiet_on_steady_poisson_and_raises_on_a_surge(seed):
    """Quiet: at the configured alert levels, at most one false alarm in the
    ten days after warm-up (the budget is about one a week per queue)."""
    dc = load_alerts().detector("gd-hotline", "general", "arrival_surge")
    rng = np.random.default_rng(seed)
    det = SeasonalCusum(kind="count", warmup=864)
    steady, state, alarms = [], None, 0
    for i in range(288 * 14):  # two weeks of 5-minute buckets
        t = WED + 300 * i
        x = {"t": t, "y": int(rng.poisson(rate(t)))}
        steady.append(det.score_one(x))
        det.learn_one(x)
        state, ev = step(state, steady[-1], raise_at=dc.raise_, clear_at=dc.clear, for_s=0, repeat_s=0, lower_is_worse=False, now=i)
        alarms += ev == "raised"
    assert max(steady[:864]) == 0.0  # warm-up: no score at all
    assert alarms <= 1
    assert np.mean(np.array(steady[864:]) >= dc.raise_) < 0.001
    t_surge = WED + 300 * 288 * 14 + 10 * 3600  # 10:00 next day: arrivals doubled for 30 min
    scores = []
    for i in range(6):
        x = {"t": t_surge + 300 * i, "y": int(rng.poisson(2 * rate(t_surge)))}
        scores.append(det.score_one(x))
        det.learn_one(x)
    assert max(scores) >= dc.raise_
    e = det.explain_one({"t": t_surge + 1800, "y": 30})
    assert 6 < e["expected"] < 10 and e["observed"] == 30 and e["z"] > 5
    assert SeasonalCusum.from_dict(json.loads(json.dumps(det.to_dict()))).to_dict() == det.to_dict()


def test_drift_and_rate_round_trip():
    d, r = DriftCusum(warmup=2), RateSpike(warmup=2)
    for i in range(10):
        d.learn_one({"y": 180 + i, "n": 10})
        r.learn_one({"k": i % 3, "n": 30})
    for det in (d, r):
        back = type(det).from_dict(json.loads(json.dumps(det.to_dict())))
        assert back.to_dict() == det.to_dict()
        x = {"y": 260, "n": 10} if det is d else {"k": 9, "n": 30}
        assert back.score_one(x) == det.score_one(x) > 0


def _snap(offered: int, *, kind: str = "hotline") -> dict:
    """A minimal site snapshot with one queue and only what the detectors read (5-min arrivals)."""
    empty = {"offered": 0, "short_abandoned": 0, "abandoned": 0, "handled": 0, "aht_s": None, "sl_pct": None, "abandon_pct": None}
    q = {
        "name": {"en": "General enquiries", "zh": "综合咨询"},
        "waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0, "longest_vip_wait_s": 0.0,
        "agents": {"ready": 1, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 1, "not_ready_reasons": {}},
        "sliding": {"5m": {**empty, "offered": offered}, "15m": dict(empty), "60m": dict(empty)},
    }
    return {"kind": kind, "timezone": "UTC", "queues": {"general": q}, "agents": {}}


def test_engine_raises_an_arrival_surge_with_observed_expected_and_score():
    cfg = AlertsConfig.from_dict({"defaults": {"anomaly": {"arrival_surge": {"warmup_buckets": 864}}}})
    eng = AlertEngine(cfg)
    rng = np.random.default_rng(7)
    t0 = WED * 1000
    out = []
    for i in range(1, 288 * 7 + 1):
        now = t0 + i * 300_000
        out += eng.evaluate("gd", now, _snap(int(rng.poisson(rate((now - 300_000) / 1000)))))
    assert [c for c in out if c["rule"] == "arrival_surge"] == []
    start = t0 + (288 * 7 + 10 * 12) * 300_000  # day 8, 10:00
    for i in range(1, 7):
        now = start + i * 300_000
        out += eng.evaluate("gd", now, _snap(int(rng.poisson(3 * rate((now - 300_000) / 1000)))))
    raised = [c for c in out if c["change"] == "raised"]
    assert [c["rule"] for c in raised] == ["arrival_surge"]
    a = raised[0]
    assert a["kind"] == "anomaly" and a["value"] > a["expected"] > 0 and a["threshold"] <= a["score"] < 1
    # The explanation travels with it: how many times the usual, for which calendar slot.
    ratio = f"{a['value'] / a['expected']:.1f}"
    assert a["usual_for"] == "Wed 10:00"
    # And since when: the surge began with the 10:00 bucket (the detector's change point).
    assert a["onset_ms"] == start
    assert a["message"]["en"].startswith(f"General enquiries: arrivals {ratio}× the usual for Wed 10:00 since 10:00 - {a['value']:.0f} in 5 min")
    assert "expected (score 0." in a["message"]["en"]
    assert a["message"]["zh-CN"].startswith(f"综合咨询：自 10:00 起来话为周三 10:00 通常水平的 {ratio} 倍 - ")
    # Back to normal: the alert resolves by itself within a couple of hours.
    for i in range(7, 40):
        now = start + i * 300_000
        out += eng.evaluate("gd", now, _snap(int(rng.poisson(rate((now - 300_000) / 1000)))))
    assert [c["change"] for c in out if c["rule"] == "arrival_surge"][-1] == "resolved"


def _detector_inputs(name: str, rng: random.Random, n: int) -> list[dict]:
    """Buckets as the engine feeds ``name``: some empty or odd ones among them."""
    out = []
    for i in range(n):
        if name == "arrival_surge":
            out.append({"t": WED + 300 * i, "y": rng.choice([0, 0, 1, 3, 8, 20, 40])})
        elif name == "aht_drift":
            out.append({"y": rng.uniform(60, 600), "n": rng.choice([0, 1, 5, 12, 40])})
        else:
            nn = rng.choice([0, 10, 25, 60])
            # The seconds waited, for PatienceDrop (RateSpike reads k and n only); now and then none at all.
            out.append({"k": rng.randrange(0, nn + 1) if nn else 0, "n": nn, "e": rng.choice([0.0, 1.0, 30.0 * nn, 300.0 * nn])})
    return out


@pytest.mark.parametrize("name", ["arrival_surge", "aht_drift", "abandon_spike", "abandon_rate"])
@pytest.mark.parametrize("seed", [1, 2])
def test_explain_learn_one_is_explain_one_then_learn_one(name, seed):
    """The engine's one call per bucket: the same explanations and the same state, bucket after bucket,
    through the first value, the warm-up and past it (a detector whose sums can move)."""
    make = {"arrival_surge": lambda: SeasonalCusum(kind="count", warmup=20),
            "aht_drift": lambda: DriftCusum(warmup=20), "abandon_spike": lambda: PatienceDrop(warmup=20),
            "abandon_rate": lambda: RateSpike(warmup=20)}[name]
    one, two = make(), make()
    for x in _detector_inputs("abandon_spike" if name == "abandon_rate" else name, random.Random(seed), 400):
        e = one.explain_one(x)
        one.learn_one(x)
        assert two.explain_learn_one(x) == e
        assert two.to_dict() == one.to_dict()


def test_seasonal_explain_learn_one_with_two_views():
    """A value series with a level (NAB's kind): two views to choose between, calibrated scores."""
    rng = random.Random(5)
    one, two = (SeasonalCusum(kind="value", warmup=30, calibrate=True) for _ in range(2))
    for i in range(600):
        x = {"t": WED + 60 * i, "y": 10 + (i // 200) * 5 + rng.gauss(0, 1)}
        e = one.explain_one(x)
        one.learn_one(x)
        assert two.explain_learn_one(x) == e
    assert two.to_dict() == one.to_dict()


def test_engine_state_is_what_merged_copies_would_give():
    """Held conditions are updated in place: the state (key order included) is the same as
    {**state, **labels, value, levels} at every step, across raises, repeats and resolutions."""
    drv = AlertDriver(Floor(FloorConfig.from_dict(FLOOR)), AlertEngine(BUSY_RULES))
    seen_orders = set()
    for i in range(0, len(EVENTS), 50):
        drv.feed(EVENTS[i : i + 50])
        for key, st in drv.engine.active.items():
            head = ["phase", "since_ms", "raised_ms", "notified_ms", "acked_by", "acked_ms", "kind", "rule", "site", "queue",
                    "agent", "severity", "name", "hall"]
            assert list(st)[: len(head)] == head, key
            assert list(st)[-3:] == ["value", "threshold", "clear"] or list(st)[-4:] == ["value", "threshold", "clear", "repeats"]
            seen_orders.add(tuple(st))
    assert len(seen_orders) > 1  # rules and agents' conditions both held at some point
