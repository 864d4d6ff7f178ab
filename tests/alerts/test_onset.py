"""Since when an anomaly began: every live detector's change point, and that it survives a checkpoint."""

from __future__ import annotations

import json
import random

import pytest

from stream.alerts.engine import new_detector

T0 = 1_700_006_400  # a Wednesday 00:00 UTC


def _x(name: str, t: float, factor: float, rng: random.Random) -> dict:
    if name == "arrival_surge":
        return {"t": t, "y": rng.gauss(20 * factor, 3)}
    if name == "aht_drift":
        return {"t": t, "y": factor * 180.0 * sum(rng.lognormvariate(0, 0.5) for _ in range(10)) / 10 / 1.13, "n": 10}
    # Abandons against the seconds waited: the same waits, callers hanging up `factor` times as often.
    return {"t": t, "k": rng.choice([1, 2, 3]) * factor, "e": 40 * 60.0, "n": 40}


@pytest.mark.parametrize("name,step,factor", [("arrival_surge", 300, 3.0), ("aht_drift", 300, 2.0), ("abandon_spike", 900, 10.0)])
def test_the_onset_is_where_the_change_began_and_a_restored_detector_keeps_it(name: str, step: int, factor: float) -> None:
    rng = random.Random(3)
    det = new_detector(name, "UTC", 96)
    t = T0
    for _ in range(86_400 * 5 // step):  # five ordinary days
        det.explain_learn_one(_x(name, t, 1.0, rng))
        t += step
    change = t
    seen = []
    for i in range(4):
        e = det.explain_learn_one(_x(name, t, factor, rng))
        seen.append(e)
        t += step
        if i == 1:
            det = type(det).from_dict(json.loads(json.dumps(det.to_dict())))  # a restart mid-change
    assert seen[-1]["score"] > 0.5
    assert [e["onset_ms"] for e in seen[1:]] == [change * 1000] * 3
    # Back to normal long enough, the run ends: no onset any more.
    for _ in range(48):
        e = det.explain_learn_one(_x(name, t, 1.0, rng))
        t += step
    assert e["onset_ms"] is None and e["score"] < 0.5
