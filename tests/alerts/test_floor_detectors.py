"""The floor's AHT and abandon detectors with time-of-day baselines: doctests, restarts, old checkpoints."""

from __future__ import annotations

import doctest
import json
import random

import pytest

from stream.alerts.detectors import DriftCusum, RateSpike, _calendar, drift, rate
from stream.alerts.engine import new_detector
from tests.alerts.test_patience import waits_inputs

T0 = 1_700_006_400  # a midnight UTC


@pytest.mark.parametrize("mod", [drift, rate, _calendar], ids=lambda m: m.__name__)
def test_module_doctest(mod) -> None:
    assert doctest.testmod(mod).failed == 0


def aht_inputs(days: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(288 * days):
        t = T0 + 300 * i
        base = 240.0 if (i % 288) < 72 else 160.0
        n = rng.randint(5, 30)
        out.append({"t": t, "y": sum(rng.lognormvariate(0, 0.4) for _ in range(n)) / n * base, "n": n})
    return out


def abandon_inputs(days: int, seed: int = 2) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(96 * days):
        p = 0.18 if (i % 96) // 4 in (9, 10) else 0.05
        n = rng.randint(10, 60)
        out.append({"t": T0 + 900 * i, "k": sum(rng.random() < p for _ in range(n)), "n": n})
    return out


@pytest.mark.parametrize("name, inputs", [("aht_drift", aht_inputs(6)), ("abandon_spike", waits_inputs(8))])
def test_a_restart_from_json_continues_exactly(name, inputs) -> None:
    whole = new_detector(name, "UTC", 96)
    ref = [whole.explain_learn_one(x)["score"] for x in inputs]
    cut = len(inputs) * 2 // 3
    det = new_detector(name, "UTC", 96)
    first = [det.explain_learn_one(x)["score"] for x in inputs[:cut]]
    det = type(det).from_dict(json.loads(json.dumps(det.to_dict())))
    assert det.slots, "the time-of-day slots travel with the state"
    assert first + [det.explain_learn_one(x)["score"] for x in inputs[cut:]] == ref


def test_old_checkpoints_without_slots_restore_with_one_global_baseline() -> None:
    inputs = aht_inputs(3)
    old = DriftCusum(warmup=96)
    for x in inputs:
        old.learn_one(x)
    d = old.to_dict()
    for k in ("tz", "slot_s", "season_alpha", "min_visits", "rel_shift"):
        d["params"].pop(k)
    d.pop("slots")  # as a checkpoint written before time-of-day baselines
    back = DriftCusum.from_dict(d)
    assert back.tz is None and back.slots == {}
    assert back.explain_one(inputs[0]) == old.explain_one(inputs[0])
    r = RateSpike(warmup=96)
    for x in abandon_inputs(2):
        r.learn_one(x)
    d = r.to_dict()
    for k in ("tz", "slot_s", "season_alpha", "min_visits", "dispersion", "disp_alpha"):
        d["params"].pop(k)
    d.pop("slots")
    d.pop("disp")
    assert RateSpike.from_dict(d).explain_one({"t": T0, "k": 5, "n": 20}) == r.explain_one({"t": T0, "k": 5, "n": 20})


def test_without_a_time_nothing_changes() -> None:
    # Inputs without "t" (or tz None) use the global baseline exactly as before.
    a, b = DriftCusum(warmup=96), DriftCusum(warmup=96, tz="UTC")
    for x in aht_inputs(2):
        x = {"y": x["y"], "n": x["n"]}
        assert a.explain_learn_one(x) == b.explain_learn_one(x)


def test_the_rush_hour_is_no_drift_and_no_spike_with_time_of_day_but_a_real_one_still_is() -> None:
    def hot(det, inputs, start):
        return [i for i, x in enumerate(inputs) if det.explain_learn_one(x)["score"] > 0.875 and i >= start]

    aht = aht_inputs(6)
    assert len(hot(DriftCusum(warmup=288), aht, 288 * 2)) > 50  # one baseline: the night shift is a drift
    assert len(hot(new_detector("aht_drift", "UTC", 288), aht, 288 * 2)) < 10
    ab = abandon_inputs(10)
    assert len(hot(RateSpike(warmup=96), ab, 96 * 3)) > 5
    assert len(hot(_rate_by_hour(), ab, 96 * 3)) <= 1
    # A real spike: abandons at 45 % for 30 minutes at 15:00 on day 11.
    det = _rate_by_hour()
    for x in ab:
        det.learn_one(x)
    t = T0 + 10 * 86_400 + 15 * 3600
    rng = random.Random(9)
    spike = [det.explain_learn_one({"t": t + 900 * k, "k": sum(rng.random() < 0.45 for _ in range(40)), "n": 40})["score"] for k in range(2)]
    assert max(spike) > 0.875


def _rate_by_hour() -> RateSpike:
    """The abandon-rate detector as the engine ran it before PatienceDrop (bench surge's before)."""
    from bench.drift_spike import RATE_PARAMS

    return RateSpike(warmup=96, tz="UTC", **RATE_PARAMS)


def _queue_snap(handled: int, aht_s: float, offered15: int = 0, abandoned15: int = 0) -> dict:
    """A one-queue site snapshot with only what the AHT and abandon detectors read."""
    empty = {"offered": 0, "short_abandoned": 0, "abandoned": 0, "handled": 0, "aht_s": None, "sl_pct": None, "abandon_pct": None}
    q = {
        "name": {"en": "General enquiries", "zh": "综合咨询"},
        "waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0, "longest_vip_wait_s": 0.0,
        "agents": {"ready": 1, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 1, "not_ready_reasons": {}},
        "sliding": {"5m": {**empty, "handled": handled, "aht_s": aht_s}, "15m": {**empty, "offered": offered15, "abandoned": abandoned15},
                    "60m": dict(empty)},
    }
    return {"kind": "hotline", "timezone": "UTC", "queues": {"general": q}, "agents": {}}


def test_an_aht_drift_alert_says_the_usual_for_its_hour_and_a_drop_is_no_alert() -> None:
    from stream.alerts.config import AlertsConfig
    from stream.alerts.engine import AlertEngine
    from stream.alerts.messages import clock

    eng = AlertEngine(AlertsConfig.from_dict({"defaults": {"anomaly": {"aht_drift": {"warmup_buckets": 288}}}}))
    rng = random.Random(4)
    t0 = T0 * 1000
    out = []

    def bucket(i: int, factor: float) -> None:
        n = 10
        aht = factor * 180.0 * sum(rng.lognormvariate(0, 0.5) for _ in range(n)) / n / 1.13
        out.extend(c for c in eng.evaluate("gd", t0 + i * 300_000, _queue_snap(n, aht)) if c["rule"] == "aht_drift")

    for i in range(1, 288 * 3 + 1):
        bucket(i, 1.0)
    assert [c for c in out if c["change"] == "raised"] == []
    day4 = 288 * 3 + 10 * 12  # day 4, 10:00 UTC: calls a third as long for an hour, then twice as long
    for i in range(day4, day4 + 12):
        bucket(i, 0.33)
    assert [c for c in out if c["change"] == "raised"] == []  # shorter calls are not paged
    for i in range(day4 + 12, day4 + 18):
        bucket(i, 2.0)
    raised = [c for c in out if c["change"] == "raised"]
    assert len(raised) == 1
    a = raised[0]
    assert a["usual_for"] == "11:00" and a["value"] > 1.5 * a["expected"]
    usual = clock(a["expected"])
    assert f"vs {usual} usual for 11:00" in a["message"]["en"], a["message"]["en"]
    assert f"11:00 通常 {usual}" in a["message"]["zh-CN"], a["message"]["zh-CN"]
    # Since when: the first longer bucket (10:55-11:00), several buckets before the page.
    onset = t0 + (day4 + 11) * 300_000
    assert a["onset_ms"] == onset < a["raised_ms"] - 300_000
    assert a["message"]["en"].endswith(f"since 10:55 (score {a['score']:.3f})"), a["message"]["en"]
    assert "：自 10:55 起处理时长漂移" in a["message"]["zh-CN"], a["message"]["zh-CN"]


def test_the_abandon_message_names_the_slot() -> None:
    from stream.alerts.messages import message

    m = message("abandon_spike", "raised", {"en": "Regular", "zh": "普通"}, 45.0, 0.875, 0, expected=400.0, score=0.9, slot="09:00")
    assert m["en"] == "Regular: callers give up after 0:45 of waiting, usually 6:40 for 09:00 (8.9× sooner) (score 0.900)"
    assert m["zh-CN"] == "普通：客户等待 0:45 即挂断，09:00 通常为 6:40（快 8.9 倍）（异常分 0.900）"
    # Held through a bucket where nobody hung up: no patience to give, still the usual.
    m = message("abandon_spike", "repeated", {"en": "Regular", "zh": "普通"}, None, 0.875, 1_800_000, expected=400.0, score=0.8, slot="09:00")
    assert m["en"].startswith("Still: Regular: callers giving up sooner than usual") and "6:40 for 09:00" in m["en"] and "for 30 min" in m["en"]
    assert m["zh-CN"].startswith("仍未恢复：普通：客户挂断早于") and "已 30 分钟" in m["zh-CN"]
    m = message("abandon_spike", "resolved", {"en": "Regular", "zh": "普通"}, 300.0, 0.875, 1_800_000, expected=400.0, score=0.5)
    assert m["en"] == "Resolved: Regular: callers wait as long as usual before giving up again (lasted 30 min)"
    assert m["zh-CN"] == "已恢复：普通：客户耐心已恢复常态（持续 30 分钟）"
