"""The NAB scorer on hand-made windows, and the corpus's windows line up with its rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.nab_score import best_threshold, n_windows, normalized, probation_length, scaled_sigmoid, score_at, sweep_points

TS = list(range(1000))
WIN = [(500, 599)]  # one window of 100 rows


def pts(scores, windows=WIN, probation_pct=0.15):
    return sweep_points(TS, scores, windows, "f", probation_pct=probation_pct)


def at_rows(rows, value=1.0):
    return [value if i in rows else 0.0 for i in TS]


def test_perfect_detector_scores_100_and_null_0():
    null = pts([0.5] * 1000)
    null_raw = best_threshold(null)[1]
    assert null_raw == -1.0  # flagging everything is worse than flagging nothing
    perfect = pts(at_rows({500}))
    assert best_threshold(perfect) == (1.0, pytest.approx(1.0))
    assert normalized(best_threshold(perfect)[1], null_raw, n_windows(perfect)) == pytest.approx(100.0)
    assert normalized(null_raw, null_raw, 1) == 0.0


def test_false_positive_costs():
    # One flag before the first window: A_FP x sigmoid(3) = -0.11; plus the missed window.
    p = pts(at_rows({300}))
    assert score_at(p, 1.0) == pytest.approx(-0.11 - 1.0)
    # A flag far past the window (>= 3 window widths): the full -0.11.
    assert score_at(pts(at_rows({500, 950})), 1.0) == pytest.approx(1.0 - 0.11)
    # Just past the window the cost is tiny: position 1/99 -> 0.11 * (2 sigmoid(-5/99) - 1).
    near = score_at(pts(at_rows({500, 600})), 1.0)
    assert near == pytest.approx(1.0 + 0.11 * (2 / (1 + math.exp(5 / 99)) - 1))
    assert -0.003 < near - 1.0 < 0


def test_sigmoid_at_the_window_edges_and_only_first_detection_counts():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0
    # First row of the window: 1 (scaled); last row: position -1/100.
    assert score_at(pts(at_rows({500})), 1.0) == pytest.approx(1.0)
    last = score_at(pts(at_rows({599})), 1.0)
    assert last == pytest.approx(scaled_sigmoid(-1 / 100) / scaled_sigmoid(-1.0))
    assert 0 < last < 0.03
    # Later detections in the same window add nothing.
    assert score_at(pts(at_rows({500, 520, 599})), 1.0) == pytest.approx(1.0)
    # Earlier is better: the middle of the window is worth sigmoid(-0.5).
    mid = score_at(pts(at_rows({549})), 1.0)
    assert mid == pytest.approx(scaled_sigmoid(-51 / 100) / scaled_sigmoid(-1.0))


def test_probation_is_not_scored_and_threshold_is_optimised():
    assert probation_length(1000) == 150 and probation_length(100_000) == 750
    # A flag in the probation period costs nothing.
    assert score_at(pts(at_rows({10})), 1.0) == -1.0
    # Scores: 0.9 at the window start, 0.95 at three far FPs: the best threshold is 0.9.
    s = [0.0] * 1000
    s[500] = 0.9
    for i in (200, 300, 900):
        s[i] = 0.95
    thr, raw = best_threshold(pts(s))
    assert thr == 0.9 and raw == pytest.approx(1.0 - 3 * 0.11)


def test_window_edges_must_be_rows():
    with pytest.raises(ValueError, match="not a row"):
        sweep_points(TS, [0.0] * 1000, [(500.5, 600)], "f")


NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"


@pytest.mark.skipif(not (NAB / "labels" / "combined_windows.json").is_file(), reason="no NAB corpus at ../shared/data/nab (CI has it)")
def test_corpus_windows_line_up_and_perfect_scores_100():
    from bench.bench_nab import load_corpus

    corpus = load_corpus(NAB)
    allp, nullp = [], []
    for rel, ts, vs, wins in corpus:
        starts = {a for a, _ in wins}
        allp += sweep_points(ts, [1.0 if t in starts else 0.0 for t in ts], wins, rel)
        nullp += sweep_points(ts, [0.5] * len(ts), wins, rel)
    n = n_windows(allp)
    assert n == sum(len(w) for *_, w in corpus)
    null_raw = best_threshold(nullp)[1]
    assert normalized(best_threshold(allp)[1], null_raw, n) == pytest.approx(100.0)
    assert normalized(null_raw, null_raw, n) == 0.0
