"""Never forgetful: an engine resumed from a detector checkpoint and fed a log whose start is gone
raises the anomaly alerts of the unbroken engine; a fresh one forgets what it had learnt."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stream.alerts.config import AlertsConfig
from stream.alerts.engine import AlertEngine
from tests.alerts.test_engine import WED, _snap, rate

DAY = 288  # 5-minute boundaries a day
CFG = AlertsConfig.from_dict({"defaults": {"anomaly": {"arrival_surge": {"warmup_buckets": 3 * DAY}}}})


def arrivals(days: int, surges: tuple[int, ...], seed: int = 11) -> list[tuple[int, dict]]:
    """(boundary ms, snapshot) for ``days`` days of Poisson arrivals, tripled for 30 min from each boundary in ``surges``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(1, days * DAY + 1):
        now = WED * 1000 + i * 300_000
        lam = rate((now - 300_000) / 1000) * (3 if any(s <= i < s + 6 for s in surges) else 1)
        out.append((now, _snap(int(rng.poisson(lam)))))
    return out


def feed(eng: AlertEngine, log: list[tuple[int, dict]]) -> list[dict]:
    return [c for now, snap in log for c in eng.evaluate("gd", now, snap)]


def anomalies(changes: list[dict], after_ms: int = 0) -> list[tuple]:
    return [(c["id"], c["change"], c["at_ms"], c["value"], c["score"]) for c in changes if c["kind"] == "anomaly" and c["at_ms"] > after_ms]


SURGES = (5 * DAY + 120, 7 * DAY + 130, 8 * DAY + 140)  # days 6, 8 and 9, around 10:00


def test_resumed_engine_raises_what_the_unbroken_one_raises():
    log = arrivals(10, SURGES)
    whole = AlertEngine(CFG)
    all_changes = feed(whole, log)
    assert len({c["id"] for c in all_changes if c["change"] == "raised" and c["kind"] == "anomaly"}) == 3

    # A worker checkpoints on day 6 (during the first surge), then dies; retention has
    # removed the log's first four days: a new worker folds from day 5 on.
    cut, start = 5 * DAY + 122, 4 * DAY
    first = AlertEngine(CFG)
    feed(first, log[:cut])
    ckpt = json.loads(json.dumps(first.checkpoint()))
    resumed = AlertEngine(CFG)
    resumed.resume(ckpt)
    got = feed(resumed, log[start:])
    t_cut = log[cut - 1][0]
    # Nothing is learnt twice: from the checkpoint on, the same anomaly changes (ids included) and the same detectors.
    assert anomalies(got, t_cut) == anomalies(all_changes, t_cut) != []
    assert resumed.to_dict()["detectors"] == whole.to_dict()["detectors"]
    # A rebuild without the checkpoint starts from nothing: in warm-up for three days, it misses the next surge.
    fresh = AlertEngine(CFG)
    assert anomalies(feed(fresh, log[start:]), t_cut) != anomalies(all_changes, t_cut)


def test_checkpoint_version_is_checked_and_state_keeps_what_was_learnt():
    eng = AlertEngine(CFG)
    feed(eng, arrivals(1, ()))
    with pytest.raises(ValueError, match="checkpoint version"):
        AlertEngine(CFG).resume({**eng.checkpoint(), "version": 0})
    back = AlertEngine.from_dict(json.loads(json.dumps(eng.to_dict())), CFG)
    assert back.learnt == eng.learnt == {"gd": WED * 1000 + DAY * 300_000}
