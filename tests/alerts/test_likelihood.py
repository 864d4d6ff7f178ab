"""SeasonalLikelihood: hand-made series, properties (online, affine-invariant, restartable), and the NAB bench's published scores."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts.detectors import SeasonalLikelihood
from stream.alerts.series import score_series

T0 = 1_400_000_000  # a Tuesday, 16:53 UTC: not on a slot boundary on purpose
STEP = 300


def daily(n: int, seed: int, noise: float = 1.0, amp: float = 10.0) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    ts = [T0 + STEP * i for i in range(n)]
    return ts, [100 + amp * math.sin(2 * math.pi * t / 86_400) + rng.gauss(0, noise) for t in ts]


def run(det: SeasonalLikelihood, ts, ys) -> list[float]:
    out = []
    for t, y in zip(ts, ys):
        out.append(det.score_one({"t": t, "y": y}))
        det.learn_one({"t": t, "y": y})
    return out


def test_quiet_until_warm_then_a_spike_and_a_level_shift_stand_out():
    ts, ys = daily(288 * 8, seed=1)
    ys[288 * 6] += 15  # a spike on day 7
    for i in range(288 * 7, 288 * 8):
        ys[i] -= 12  # the level drops on day 8
    s = run(SeasonalLikelihood(), ts, ys)
    assert max(s[:288]) == 0.0  # warm-up: learns, never scores
    normal = max(s[288 * 2 : 288 * 6])
    assert s[288 * 6] > normal
    assert max(s[288 * 7 : 288 * 7 + 6]) > normal  # the drop is seen within half an hour
    assert all(0.0 <= x < 1.0 for x in s)


def test_one_threshold_means_the_same_on_a_noisy_and_a_clean_series():
    # A noisy sensor misses its profile all the time, a clean one hardly ever:
    # judged against their own history, neither looks anomalous when nothing happens.
    _, noisy = daily(288 * 6, seed=2, noise=5.0)
    ts, clean = daily(288 * 6, seed=3, noise=0.05)
    top = [max(run(SeasonalLikelihood(), ts, ys)[288 * 2 :]) for ys in (noisy, clean)]
    clean[288 * 5] += 8.0  # a blip the noisy series makes every hour, rare on the clean one
    blip = run(SeasonalLikelihood(), ts, clean)[288 * 5]
    assert blip > max(top)


def test_explain_says_what_was_expected_and_how_unusual_the_miss_is():
    ts, ys = daily(288 * 3, seed=4)
    det = SeasonalLikelihood()
    run(det, ts, ys)
    t = ts[-1] + STEP
    e = det.explain_one({"t": t, "y": 200.0})
    assert e["observed"] == 200.0
    assert 85 < e["expected"] < 115 and e["z"] > 10
    assert e["surprise"] > 3 and e["score"] == pytest.approx(e["surprise"] / (1 + e["surprise"]))
    assert 0 < e["usual_z"] < 2
    assert det.score_one({"t": t, "y": 200.0}) == e["score"]


series = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=400, max_size=700)


@settings(max_examples=15, deadline=None)
@given(ys=series, cut=st.integers(min_value=1, max_value=399))
def test_online_no_look_ahead_and_a_restart_continues_exactly(ys, cut):
    ts = [T0 + STEP * i for i in range(len(ys))]
    params = {"warmup": 50}
    whole = score_series(ts, ys, "likelihood", **params)
    # No look-ahead: the scores of a prefix are the prefix of the scores.
    assert score_series(ts[:cut], ys[:cut], "likelihood", **params) == whole[:cut]
    # A detector saved as JSON and restored continues exactly.
    det = SeasonalLikelihood(**params)
    first = run(det, ts[:cut], ys[:cut])
    det = SeasonalLikelihood.from_dict(json.loads(json.dumps(det.to_dict())))
    assert first + run(det, ts[cut:], ys[cut:]) == whole


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.floats(1.0, 100.0), b=st.floats(-100.0, 100.0))
def test_scores_do_not_depend_on_units(seed, a, b):
    # Celsius or Fahrenheit, requests or hundreds of them: the same anomalies (while the scale
    # stays far above its floor, 1e-6 of the level, which keeps a flat series from dividing by 0).
    ts, ys = daily(600, seed=seed)
    s1 = score_series(ts, ys, "likelihood", warmup=100)
    s2 = score_series(ts, [a * y + b for y in ys], "likelihood", warmup=100)
    assert s2 == pytest.approx(s1, abs=1e-6)


NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@pytest.mark.skipif(not (NAB / "results" / "ARTime").is_dir(), reason="no published NAB results at ../shared/data/nab/results (CI has them)")
def test_published_detectors_score_as_published_on_the_subset():
    # Our scorer on the published outputs gives the figures (HTM 61.3, ARTime 67.1, random 27.8, standard profile).
    from bench.bench_nab import load_corpus, published_scores, random_scores
    from bench.nab_score import PROFILES, best_threshold, n_windows, normalized, sweep_points

    corpus = load_corpus(NAB)
    prof = PROFILES["standard"]

    def score(get):
        pts, null = [], []
        for rel, ts, vs, wins in corpus:
            pts += sweep_points(ts, get(rel, ts, vs), wins, rel, profile=prof)
            null += sweep_points(ts, [0.5] * len(ts), wins, rel, profile=prof)
        return normalized(best_threshold(pts, prof)[1], best_threshold(null, prof)[1], n_windows(pts), prof)

    assert score(lambda rel, ts, vs: published_scores(NAB, "numenta", rel, ts)) == pytest.approx(61.3, abs=0.05)
    assert score(lambda rel, ts, vs: published_scores(NAB, "ARTime", rel, ts)) == pytest.approx(67.1, abs=0.05)
    assert score(lambda rel, ts, vs: random_scores(vs)) == pytest.approx(27.8, abs=0.05)
