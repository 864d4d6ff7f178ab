"""PatienceDrop, the abandon_spike detector: abandons weighed against the usual hazard × the seconds waited.

Hand-made series where every caller waits their exponential patience or their answer, whichever
comes first (the model of Brown et al. 2005): long waits explain their abandons, a fault that makes
callers hang up sooner does not; the engine path from an alert snapshot to the alert and its two
languages; checkpoints (an old abandon-rate state is not read as a hazard); the warm start from
history rows with and without the abandoned waits; the view's seconds waited.
"""

from __future__ import annotations

import doctest
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts.config import AlertsConfig, load_alerts
from stream.alerts.detectors import PatienceDrop, RateSpike, patience
from stream.alerts.engine import AlertEngine, new_detector
from stream.alerts.warm import warm_checkpoint

T0 = 1_700_006_400  # a midnight UTC
HAZARD = 1 / 300  # callers' usual patience: 5 minutes


def bucket(rng: random.Random, t: float, wait_mean: float, calls: int, h: float = HAZARD) -> dict:
    """One 15-minute bucket: each caller hangs up at their patience or is answered, whichever is first."""
    k, e = 0, 0.0
    for _ in range(calls):
        p, a = rng.expovariate(h), rng.expovariate(1 / wait_mean)
        k += p < a
        e += min(p, a)
    return {"t": t, "k": k, "e": e, "n": calls}


def waits_inputs(days: int, seed: int = 2) -> list[dict]:
    """Days of 15-minute buckets: 30 s waits, 2 min in the 09:00-11:00 rush (more abandons, all explained)."""
    rng = random.Random(seed)
    return [bucket(rng, T0 + 900 * i, 120.0 if (i % 96) // 4 in (9, 10) else 30.0, rng.randint(10, 60)) for i in range(96 * days)]


def trained(days: int = 7) -> PatienceDrop:
    det = new_detector("abandon_spike", "UTC", 96)
    for x in waits_inputs(days):
        det.learn_one(x)
    return det


def test_module_doctest() -> None:
    assert doctest.testmod(patience).failed == 0


def test_long_waits_explain_their_abandons_where_the_abandon_rate_pages() -> None:
    det = trained()
    from bench.drift_spike import RATE_PARAMS

    rate = RateSpike(warmup=96, tz="UTC", **RATE_PARAMS)
    for x in waits_inputs(7):
        rate.learn_one(x)
    rng = random.Random(11)
    day = T0 + 7 * 86_400
    # 14:00-16:00: nobody answering for minutes (waits 20× the usual), callers as patient as ever.
    crisis = [bucket(rng, day + 14 * 3600 + 900 * j, 600.0, 40) for j in range(8)]
    assert sum(x["k"] for x in crisis) / (40 * 8) > 0.5  # most callers lost
    assert max(rate.explain_learn_one(x)["score"] for x in crisis) > 0.875  # the abandon rate pages
    assert max(det.explain_learn_one(x)["score"] for x in crisis) < 0.75  # the waits explain it


def test_callers_hanging_up_sooner_at_the_usual_waits_alarm_with_the_figures_a_manager_reads() -> None:
    det = trained()
    rng = random.Random(12)
    day = T0 + 7 * 86_400
    for j in range(4 * 14):  # a calm morning up to 14:00
        det.learn_one(bucket(rng, day + 900 * j, 30.0, 40))
    quiet = {"t": day + 14 * 3600, "k": 0, "e": 1200.0, "n": 40}  # nobody hung up: the sum is back to 0
    assert det.explain_learn_one(quiet)["onset_ms"] is None and det.s == 0.0
    start = day + 14 * 3600 + 900
    usual = 1 / det.hazard("14")
    fault = [bucket(rng, start + 900 * j, 30.0, 40, h=1 / 30) for j in range(2)]  # callers give up after 30 s
    ex = [det.explain_learn_one(x) for x in fault]
    assert ex[-1]["score"] > 0.875
    last = fault[-1]
    assert ex[-1]["observed"] == pytest.approx(last["e"] / last["k"])  # mean patience: seconds waited per abandon
    assert ex[0]["expected"] == pytest.approx(usual) and 200 < usual < 450  # the usual for 14:00
    assert usual / 2 < ex[-1]["expected"] < usual  # having learnt the first bucket as at most the alternative's
    assert ex[-1]["observed"] < 60
    assert ex[-1]["slot"] == "14:00"
    assert ex[-1]["expected_abandons"] == pytest.approx(last["e"] / ex[-1]["expected"]) and ex[-1]["abandoned"] == last["k"]
    assert ex[0]["onset_ms"] == ex[1]["onset_ms"] == start * 1000  # the first bucket after the sum was last 0


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 40), e=st.floats(0.0, 20_000.0), more_k=st.integers(1, 10), more_e=st.floats(1.0, 5000.0))
def test_more_abandons_never_lower_the_score_and_more_waiting_never_raises_it(k, e, more_k, more_e) -> None:
    det = TRAINED
    before = json.dumps(det.to_dict())
    x = {"t": T0 + 7 * 86_400 + 15 * 3600, "k": k, "e": e, "n": 40}
    s = det.score_one(x)
    assert det.score_one({**x, "k": k + more_k}) >= s
    assert det.score_one({**x, "e": e + more_e}) <= s
    assert json.dumps(det.to_dict()) == before  # scoring learns nothing


TRAINED = trained()


def test_explain_learn_one_is_explain_one_then_learn_one() -> None:
    one, two = PatienceDrop(warmup=40, tz="UTC"), PatienceDrop(warmup=40, tz="UTC")
    rng = random.Random(3)
    inputs = waits_inputs(3) + [bucket(rng, T0 + 3 * 86_400 + 900 * j, 30.0, 40, h=1 / 40) for j in range(4)]
    inputs += [{"t": T0 + 4 * 86_400, "k": 0, "e": 0.0, "n": 12}, {"t": T0 + 4 * 86_400 + 900, "k": 3, "e": 0.0, "n": 12}]
    for x in inputs:
        e = one.explain_one(x)
        one.learn_one(x)
        assert two.explain_learn_one(x) == e
        assert two.to_dict() == one.to_dict()


# -- the engine ---------------------------------------------------------------------


def _snap(offered: int, abandoned: int, waited: float) -> dict:
    """A one-queue snapshot with what the abandon detector reads (the alert view's 15-minute window)."""
    empty = {"offered": 0, "short_abandoned": 0, "abandoned": 0, "handled": 0, "aht_s": None, "sl_pct": None, "abandon_pct": None, "waited_s": 0.0}
    q = {
        "name": {"en": "Regular", "zh": "普通"},
        "waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0, "longest_vip_wait_s": 0.0,
        "agents": {"ready": 1, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 1, "not_ready_reasons": {}},
        "sliding": {"5m": dict(empty), "15m": {**empty, "offered": offered, "abandoned": abandoned, "waited_s": waited}},
    }
    return {"kind": "hotline", "timezone": "UTC", "queues": {"general": q}, "agents": {}}


def test_the_engine_raises_the_alert_in_both_languages_and_a_crisis_does_not() -> None:
    eng = AlertEngine(AlertsConfig.from_dict({"defaults": {"anomaly": {"arrival_surge": {"enabled": False}, "aht_drift": {"enabled": False}}}}))
    out: list[dict] = []

    def feed(x: dict) -> None:
        now = int(x["t"] * 1000) + 900_000  # the boundary that closes the bucket
        out.extend(c for c in eng.evaluate("gd", now, _snap(x["n"], x["k"], x["e"])) if c["rule"] == "abandon_spike")

    for x in waits_inputs(7):
        feed(x)
    rng = random.Random(5)
    day = T0 + 7 * 86_400
    for j in range(8):  # a crisis: waits of 10 minutes at 10:00-12:00, callers as patient as ever
        feed(bucket(rng, day + 10 * 3600 + 900 * j, 600.0, 40))
    assert [c for c in out if c["change"] == "raised"] == []
    for j in range(8):
        feed(bucket(rng, day + 12 * 3600 + 900 * j, 30.0, 40))
    for j in range(2):  # callers give up after 20 s at 15:00
        feed(bucket(rng, day + 15 * 3600 + 900 * j, 30.0, 40, h=1 / 20))
    raised = [c for c in out if c["change"] == "raised"]
    assert len(raised) == 1
    a = raised[0]
    assert a["kind"] == "anomaly" and a["usual_for"] == "15:00" and a["value"] < 60 and a["expected"] > 200
    assert a["value"] * 4 < a["expected"]
    from stream.alerts.messages import clock

    assert a["message"]["en"].startswith(f"Regular: callers give up after {clock(a['value'])} of waiting, usually {clock(a['expected'])} for 15:00 (")
    assert a["message"]["zh-CN"].startswith(f"普通：自 15:00 起客户等待 {clock(a['value'])} 即挂断，15:00 通常为 {clock(a['expected'])}（快 ")
    assert a["onset_ms"] == (day + 15 * 3600) * 1000 and a["message"]["en"].endswith(f"sooner) since 15:00 (score {a['score']:.3f})")
    # The detector's state travels in the checkpoint: a resumed engine holds the same.
    back = AlertEngine(eng.config)
    back.resume(json.loads(json.dumps(eng.checkpoint())))
    assert back.detectors["gd/general"]["abandon_spike"].to_dict() == eng.detectors["gd/general"]["abandon_spike"].to_dict()


def test_a_snapshot_without_the_seconds_waited_feeds_no_abandon_detector() -> None:
    eng = AlertEngine(load_alerts())
    snap = _snap(40, 30, 1000.0)
    del snap["queues"]["general"]["sliding"]["15m"]["waited_s"]
    eng.evaluate("gd", T0 * 1000 + 900_000, snap)
    assert "abandon_spike" not in eng.detectors["gd/general"]
    eng.evaluate("gd", T0 * 1000 + 1_800_000, _snap(40, 3, 1000.0))
    assert eng.detectors["gd/general"]["abandon_spike"].n == 1


def test_an_old_abandon_rate_checkpoint_is_not_read_as_a_hazard() -> None:
    eng = AlertEngine(load_alerts())
    for i in range(1, 97):
        eng.evaluate("gd", T0 * 1000 + i * 900_000, _snap(40, 3, 1200.0))
    ck = json.loads(json.dumps(eng.checkpoint()))
    old = RateSpike(warmup=96, tz="UTC")
    old.learn_one({"t": T0, "k": 3, "n": 40})
    ck["detectors"]["gd/general"]["abandon_spike"] = old.to_dict()  # as saved before abandon_spike weighed waits
    back = AlertEngine(load_alerts())
    back.resume(ck)
    assert "abandon_spike" not in back.detectors["gd/general"]  # learns afresh
    assert back.detectors["gd/general"]["arrival_surge"].to_dict() == eng.detectors["gd/general"]["arrival_surge"].to_dict()


def test_warm_start_learns_the_hazard_from_rows_that_kept_abandoned_waits() -> None:
    rows = []
    rng = random.Random(8)
    for i in range(96 * 14):
        x = bucket(rng, T0 + 900 * i, 30.0, 30)
        known = i >= 96 * 7  # the first week written before the store kept abandoned waits
        rows.append({"site": "s", "queue": "q", "start_ms": (T0 + 900 * i) * 1000, "offered": 30, "abandoned": x["k"], "short_abandoned": 0,
                     "handled": 30 - x["k"], "handle_sum_ms": (30 - x["k"]) * 180_000,
                     "wait_sum_ms": int(x["e"] * 1000 * 0.7), "abandon_wait_sum_ms": int(x["e"] * 1000 * 0.3) if known else None})
    ck = warm_checkpoint(rows, load_alerts(), {"s": "UTC"})
    det = PatienceDrop.from_dict(ck["detectors"]["s/q"]["abandon_spike"])
    assert det.n == 96 * 7  # the second week only
    assert 1 / det.hazard("10") == pytest.approx(300, rel=0.25)
    assert ck["detectors"]["s/q"]["arrival_surge"]["n"] == 3 * 96 * 14  # the others learn from every row
    without = warm_checkpoint([{**r, "abandon_wait_sum_ms": None} for r in rows], load_alerts(), {"s": "UTC"})
    assert without["detectors"]["s/q"]["abandon_spike"]["n"] == 0


# -- the view ---------------------------------------------------------------------


@pytest.mark.parametrize("native", [False, True])
def test_the_alert_view_gives_each_window_the_seconds_its_contacts_waited(native) -> None:
    from stream.alerts.view import alert_snapshot
    from stream.contracts.floor_config import FloorConfig
    from stream.fold.floor import Floor, native_available
    from tests.alert_helpers import FLOOR
    from tests.helpers import Seq, at

    if native and not native_available():
        pytest.skip("the native core is not built here")
    floor = Floor(FloorConfig.from_dict(FLOOR), native=native)
    s = Seq("s1")
    t = at("10:00:00")
    s.state(t, "a1", "ready", queues=["q"])
    s.offer(t + 1_000, "c1")
    s.answer(t + 31_000, "c1", "a1")  # waited 30 s
    s.offer(t + 2_000, "c2")
    s.abandon(t + 47_500, "c2")  # 45.5 s
    s.offer(t + 3_000, "c3")
    s.abandon(t + 5_000, "c3")  # a short abandon: 2 s
    s.offer(t + 600_000, "c4")  # still waiting: not counted (its wait is not over)
    s.offer(t - 3_600_000, "c0")
    s.answer(t - 3_500_000, "c0", "a1")  # an hour before: out of both windows
    for ev in sorted(s.events, key=lambda e: e.ts):
        floor.apply(ev)
    snap = alert_snapshot(floor, "s1")
    w = snap["queues"]["q"]["sliding"]
    assert w["15m"]["waited_s"] == pytest.approx(77.5)
    assert w["15m"]["abandoned"] == 2 and w["15m"]["short_abandoned"] == 1
