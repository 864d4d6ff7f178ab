"""EnsembleLikelihood and its parts: doctests, hand-made series, properties (online, restartable, unit-free), and NAB beside ARTime."""

from __future__ import annotations

import doctest
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts import series
from stream.alerts.detectors import EnsembleLikelihood, TailRank, WindowNovelty, ensemble, novelty, tail
from stream.alerts.series import probation_for, score_series

T0 = 1_400_000_000
STEP = 300


@pytest.mark.parametrize("mod", [tail, novelty, ensemble, series], ids=lambda m: m.__name__)
def test_module_doctest(mod) -> None:
    assert doctest.testmod(mod).failed == 0


def run(det, ts, ys) -> list[float]:
    out = []
    for t, y in zip(ts, ys):
        out.append(det.score_one({"t": t, "y": y}))
        det.learn_one({"t": t, "y": y})
    return out


def test_tail_rank_edges() -> None:
    cal = TailRank(window=5, min_n=3)
    cal.learn(1.0)
    cal.learn(2.0)
    assert cal.score(100.0) == 0.0  # too young to judge
    for v in (3.0, 4.0, 5.0, 6.0):
        cal.learn(v)
    assert len(cal.to_dict()["values"]) == 5  # the oldest (1.0) forgotten
    assert cal.score(2.0) == pytest.approx(1 - 5.5 / 6)
    bare, double, huge = cal.score(6.0001), cal.score(12.0), cal.score(1e9)
    assert bare == pytest.approx(1 - 1 / 2001, abs=1e-6) and double == pytest.approx(1 - 1 / (2001 * 4))
    assert huge == pytest.approx(1 - 1 / (2001 * 100)) and huge < 1.0  # the excess is capped at rmax
    zero = TailRank(min_n=1)
    zero.learn(0.0)
    assert zero.score(0.0) == pytest.approx(1 - 1.5 / 2) and zero.score(1.0) == pytest.approx(1 - 1 / 200100)  # over a 0 maximum: rmax


def test_novelty_flat_series_never_scores_and_a_new_shape_does() -> None:
    det = WindowNovelty(probation=300)
    assert max(det.score_one({"y": 5.0}) or det.learn_one({"y": 5.0}) or 0.0 for _ in range(1000)) == 0.0
    det = WindowNovelty(probation=300)
    ys = [math.sin(i / 5) for i in range(2000)] + [0.0] * 40
    s = run(det, [0] * len(ys), ys)
    assert max(range(len(ys)), key=s.__getitem__) >= 2000


def test_lasting_shift_fires_once_at_its_start_and_a_later_bigger_one_fires_again() -> None:
    rng = random.Random(2)
    ts = [T0 + STEP * i for i in range(5000)]
    ys = [20 + 6 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 0.5) for i in range(5000)]
    for i in range(3000, 5000):
        ys[i] += 5 if i < 4000 else 40
    s = score_series(ts, ys)
    hot = [i for i in range(probation_for(5000), 5000) if s[i] >= 0.9996]
    assert 3000 in hot and len([i for i in hot if i < 3000]) <= 1  # the shift's first point; a stray record at most
    assert not [i for i in hot if 3010 <= i < 4000]  # then quiet for the rest of the shift
    assert 4000 in hot  # a bigger change later fires again


series_st = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=300, max_size=600)


@settings(max_examples=10, deadline=None)
@given(ys=series_st, cut=st.integers(min_value=1, max_value=299))
def test_online_no_look_ahead_and_a_restart_continues_exactly(ys, cut):
    ts = [T0 + STEP * i for i in range(len(ys))]
    whole = score_series(ts, ys, probation=100)
    assert score_series(ts[:cut], ys[:cut], probation=100) == whole[:cut]
    det = EnsembleLikelihood(probation=100)
    first = run(det, ts[:cut], ys[:cut])
    det = EnsembleLikelihood.from_dict(json.loads(json.dumps(det.to_dict())))
    assert first + run(det, ts[cut:], ys[cut:]) == pytest.approx(whole, abs=1e-12)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.floats(1.0, 100.0), b=st.floats(-100.0, 100.0))
def test_scores_do_not_depend_on_units(seed, a, b):
    rng = random.Random(seed)
    ts = [T0 + STEP * i for i in range(900)]
    ys = [50 + 20 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 3) for i in range(900)]
    s1 = score_series(ts, ys, probation=200)
    s2 = score_series(ts, [a * y + b for y in ys], probation=200)
    flags = lambda s: [i for i, x in enumerate(s) if x >= 0.999]
    assert flags(s2) == flags(s1)
    assert s2 == pytest.approx(s1, abs=1e-3)


def test_score_series_rejects_an_unknown_detector() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        score_series([T0], [1.0], "nope")


NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@pytest.mark.skipif(not (NAB / "results" / "ARTime").is_dir(), reason="no NAB corpus with published results at ../shared/data/nab (CI has it)")
def test_nab_at_least_artime_on_every_profile():
    from bench.bench_nab import run as bench_run

    res = bench_run(NAB, only=("floorwatch",))["detectors"]
    for prof in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        ours, art = res["floorwatch"]["profiles"][prof]["score"], res["ARTime"]["profiles"][prof]["score"]
        assert ours >= art, (prof, ours, art)
