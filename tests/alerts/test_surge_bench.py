"""The surge bench's parts on hand-made counts: surges copy real calls, the oracle and its threshold."""

from __future__ import annotations

import numpy as np

from bench.bench_surge import SURGE_BUCKETS, cusum_alarms, detected, episodes, inject, lowest_threshold, oracle_alarms


def test_a_surge_copies_the_calls_of_its_window():
    counts = np.array([0, 0] + [3, 4, 5] * 200, dtype=np.int64)
    for lift, factor in ((1.0, 2), (2.0, 3)):
        out, starts = inject(counts, np.random.default_rng(1), 2, 10, lift)
        assert len(starts) == 2 and all(s >= 10 and counts[s] > 0 for s in starts)  # open hours, after warm-up
        changed = np.flatnonzero(out != counts)
        for s in starts:
            seg = slice(s, s + SURGE_BUCKETS)
            assert (out[seg] == factor * counts[seg]).all()
        assert set(changed) <= {i for s in starts for i in range(s, s + SURGE_BUCKETS)}


def test_a_fractional_lift_copies_each_call_with_its_probability():
    counts = np.full(5000, 10, dtype=np.int64)
    out, starts = inject(counts, np.random.default_rng(2), 8, 0, 0.5)
    extra = sum(int((out[s : s + SURGE_BUCKETS] - 10).sum()) for s in starts)
    assert abs(extra / (len(starts) * SURGE_BUCKETS * 10) - 0.5) < 0.1


def test_oracle_cusum_alarms_and_restarts():
    mu = np.full(40, 2.0)
    y = np.full(40, 2, dtype=np.int64)
    y[20:26] = 6  # three times the expectation for 30 minutes
    # Each surge bucket adds 6 ln 2 - 2 = 2.16: h = 4 is crossed at the second, again at the fourth and sixth.
    assert oracle_alarms(mu, y, 1.0, 4.0, 0) == [21, 23, 25]
    assert episodes([21, 23, 25]) == 1 and episodes([21, 21 + SURGE_BUCKETS + 1]) == 2
    assert oracle_alarms(mu, y, 1.0, 4.0, 22) == [23, 25]  # nothing before the start counts
    assert detected([23], [20]) == (1, [20.0])
    assert detected([20 + SURGE_BUCKETS + 3], [20]) == (0, [])  # past 15 min after the end


def test_oracle_threshold_is_the_lowest_within_the_false_alarm_budget():
    rng = np.random.default_rng(3)
    mu = np.full(5000, 3.0)
    clean = rng.poisson(3.0, 5000)
    h = lowest_threshold(clean * np.log(2.0) - mu, 0, 2)
    assert episodes(oracle_alarms(mu, clean, 1.0, h, 0)) <= 2 < episodes(oracle_alarms(mu, clean, 1.0, h - 0.25, 0))


def test_a_bucket_without_input_holds_the_alert_as_the_engine_does():
    from bench.drift_spike import _alerts

    # Raised at 1; no input at 2-3 holds it (no second raise); cleared at 4, raised again at 5.
    assert _alerts([0.1, 0.9, None, None, 0.1, 0.95], 0.875, 0.75, 0) == [1, 5]
    assert _alerts([0.1, 0.9, 0.1, 0.95], 0.875, 0.75, 2) == [3]  # the warm-up's alerts are not counted


def test_episodes_are_30_minutes_whatever_the_bucket():
    # 5-minute buckets: 6 of them are 30 minutes; 15-minute buckets: 2.
    assert episodes([0, 6, 13]) == 2
    assert episodes([0, 2, 5], gap=2) == 2 and episodes([0, 6], gap=2) == 2 and episodes([0, 1, 3], gap=2) == 1
    rng = np.random.default_rng(4)
    incs = rng.normal(-0.5, 1.5, 3000)
    h = lowest_threshold(incs, 0, 3, gap=2)
    assert episodes(cusum_alarms(incs, h, 0), 2) <= 3 < episodes(cusum_alarms(incs, h - 0.25, 0), 2)


def test_the_other_days_oracle_is_not_told_the_buckets_own_day():
    import doctest

    from bench import drift_spike
    from bench.drift_spike import SlotSums

    assert doctest.testmod(drift_spike).failed == 0
    # One slot over three days; the third day has an outlier: judged in-sample it is in the slot's figures,
    # judged against the other days it is not.
    sums = SlotSums(["s"] * 3, [1, 2, 3], [(1, 100.0), (1, 110.0), (1, 3600.0)])
    assert sums.of(2, other_days=False) == (3, 3810.0)
    assert sums.of(2, other_days=True) == (2, 210.0)


def test_an_abandon_spike_hangs_up_calls_at_their_real_wait():
    from bench.drift_spike import AbandonBuckets

    # One bucket: four answered calls (waits 0, 2, 10 and 30 s), a long abandon, a short one.
    waits = [(0, 0.0, "answered"), (1, 2.0, "answered"), (2, 10.0, "answered"), (3, 30.0, "answered"), (4, 60.0, "abandoned"), (5, 1.0, "short")]
    bk = AbandonBuckets(waits, 0)
    assert (bk.n[0], bk.a[0], bk.n_all[0], bk.a_all[0], bk.e[0]) == (5, 1, 6, 2, 103.0)
    for injection, (n, a) in (("issue", (5, 5)), ("short", (3, 3))):
        c = bk.counts()
        bk.inject(0, np.random.default_rng(0), np.random.default_rng(1), 1.0, c, injection)  # every call hangs up
        # Every answered call is an abandon now; the rate's counts leave out those under 5 s ("short") or not ("issue").
        assert (c["n"][0], c["a"][0], c["a_all"][0]) == (n, a, 6), injection
        assert bk.e[0] == 103.0  # hung up when it was answered: the seconds waited are the same
    c = bk.counts()
    bk.inject(0, np.random.default_rng(0), np.random.default_rng(1), 0.0, c, "short")
    assert (c["n"][0], c["a"][0], c["a_all"][0]) == (5, 1, 2)  # no lift, no change
    # The same counts whatever the injection: which calls hang up is drawn apart from how many.
    many = AbandonBuckets([(i, float(i % 9), "answered") for i in range(400)], 0)
    got = {}
    for injection in ("issue", "short"):
        c = many.counts()
        many.inject(0, np.random.default_rng(7), np.random.default_rng(8), 0.3, c, injection)
        got[injection] = c
    assert got["issue"]["a_all"][0] == got["short"]["a_all"][0] == got["issue"]["a"][0]
    assert 80 < got["issue"]["a"][0] < 160 and got["short"]["a"][0] < got["issue"]["a"][0]
