"""The floor's AHT and abandon detectors with time-of-day baselines: doctests, restarts, old checkpoints."""

from __future__ import annotations

import doctest
import json
import random

import pytest

from stream.alerts.detectors import DriftCusum, RateSpike, _calendar, drift, rate
from stream.alerts.engine import new_detector

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


@pytest.mark.parametrize("name, inputs", [("aht_drift", aht_inputs(6)), ("abandon_spike", abandon_inputs(8))])
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
    assert len(hot(new_detector("abandon_spike", "UTC", 96), ab, 96 * 3)) <= 1
    # A real spike: abandons at 45 % for 30 minutes at 15:00 on day 11.
    det = new_detector("abandon_spike", "UTC", 96)
    for x in ab:
        det.learn_one(x)
    t = T0 + 10 * 86_400 + 15 * 3600
    rng = random.Random(9)
    spike = [det.explain_learn_one({"t": t + 900 * k, "k": sum(rng.random() < 0.45 for _ in range(40)), "n": 40})["score"] for k in range(2)]
    assert max(spike) > 0.875
