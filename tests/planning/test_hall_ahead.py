"""What-if for a hall (stream.planning.hall_ahead): against the plan checker and Erlang C on a flat single-class
hall, more counters never worse, VIP first, same draws for both courses."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.contracts.floor_config import FloorConfig
from stream.planning import staffing
from stream.planning.actuals import Log
from stream.planning.check import check_plan
from stream.planning.hall_ahead import HallClass, LiveHall, hall_ahead
from tests.planning.test_live_whatif import HOUR, Q15, flat_day


def test_flat_single_class_hall_agrees_with_the_plan_checker_and_erlang_c():
    """Same arrivals, same counters: the hall what-if (from an empty hall) and the plan checker give the same SL."""
    rate, aht, counters, hours, sl_t = 15.0, 300.0, 7, 4, 60
    cfg = FloorConfig.from_dict({"sites": {"s": {"kind": "hall", "timezone": "UTC", "queues": {"q": {"sl_t_s": sl_t}}}}})
    sls = []
    for seed in range(8):  # a 4-hour day at 70 % load swings by 10 points from seed to seed
        log = Log(flat_day(rate, aht, hours, seed), cfg)
        plan = [{"site": "s", "queue": "q", "start": f"1970-01-01T{h:02d}:{m:02d}:00+00:00", "offered": rate, "aht_s": aht,
                 "agents": counters} for h in range(hours) for m in (0, 15, 30, 45)]
        sls.append(check_plan(log, plan, seed=seed)["days"][0]["queues"]["q"]["sl_pct"])
    checked = float(np.mean(sls))
    cls = {"q": HallClass(arrivals=[(i * Q15, rate) for i in range(hours * 4)], aht_s=aht, sl_t_s=sl_t)}
    empty = LiveHall(now_ms=0)
    got = hall_ahead(empty, cls, extra=counters, horizon_ms=hours * HOUR, runs=48)
    erlang = 100 * staffing.service_level(counters, staffing.traffic(rate, 15, aht), aht, sl_t)
    assert 60 < erlang < 85  # a threshold where the counters matter
    assert abs(got["sl_pct"] - checked) < 4.0, (got, checked)
    assert abs(got["sl_pct"] - erlang) < 4.0, (got, erlang)
    assert got["abandoned"] == 0 and got["queues"]["q"]["sl_pct"] == got["sl_pct"]


def hall(now: int = 10 * HOUR) -> tuple[LiveHall, dict]:
    """Tianhe at a bad moment: 25 general and 6 business tickets waiting (up to 20 min), 2 VIP; 6 counters open,
    5 serving (general, business and a VIP desk that helps the others), 1 ready."""
    waiting = [(now - 1_200_000 + i * 45_000, "general", 0) for i in range(25)]
    waiting += [(now - 900_000 + i * 120_000, "business", 0) for i in range(6)]
    waiting += [(now - 200_000, "vip", 1), (now - 60_000, "vip", 1)]
    gen, bus, vip = ["general", "business"], ["business", "vip", "general"], ["vip", "general", "business"]
    counters = [(gen, now - 60_000), (gen, now - 200_000), (gen, now), (bus, now - 30_000), (vip, now - 100_000), (gen, None)]
    fc = lambda n: [(now - now % Q15 + i * Q15, n) for i in range(5)]  # noqa: E731
    classes = {"general": HallClass(fc(14.0), aht_s=300.0, sl_t_s=600, patience_s=1500.0),
               "business": HallClass(fc(4.0), aht_s=600.0, sl_t_s=900, patience_s=2400.0),
               "vip": HallClass(fc(1.5), aht_s=480.0, sl_t_s=300, patience_s=3600.0, vip=True)}
    return LiveHall(now_ms=now, waiting=waiting, counters=counters), classes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_more_counters_never_make_it_worse(seed):
    h, classes = hall()
    ks = list(range(-3, 6))
    res = hall_ahead(h, classes, extra=0, courses=ks, seed=seed)
    for a, b in zip(ks, ks[1:]):
        lo, hi = res[a], res[b]
        assert hi["sl_pct"] >= lo["sl_pct"] and hi["longest_wait_s"] <= lo["longest_wait_s"], (a, lo, hi)
        assert hi["abandoned"] <= lo["abandoned"] and hi["offered"] == lo["offered"], (a, lo, hi)
        for q in classes:
            assert hi["queues"][q]["abandoned"] <= lo["queues"][q]["abandoned"] + 1e-9, (a, q)
    # And they matter: two more counters cut the hall's longest wait and walk-outs.
    assert res[2]["longest_wait_s"] < res[0]["longest_wait_s"] and res[2]["abandoned"] < res[0]["abandoned"]


def test_vip_first_and_same_draws():
    h, classes = hall()
    r = hall_ahead(h, classes, extra=0)
    # VIP tickets jump the queue: their service level is far above general's with the hall this busy.
    assert r["queues"]["vip"]["sl_pct"] > r["queues"]["general"]["sl_pct"]
    assert r["queues"]["vip"]["longest_wait_s"] < r["queues"]["general"]["longest_wait_s"]
    # The courses share their draws: asked together or apart, the same answer; the same seed, the same answer.
    both = hall_ahead(h, classes, extra=0, courses=[2])
    assert both[0] == r and both[2] == hall_ahead(h, classes, extra=2)
    assert r["offered"] == pytest.approx(sum(r["queues"][q]["offered"] for q in classes), abs=0.2)  # means, rounded
    assert r["offered"] >= len(h.waiting)


def test_fewer_counters_close_idle_ones_first_and_never_below_none():
    h, classes = hall()
    none = hall_ahead(h, classes, extra=-50, runs=3)
    assert none["answered"] == 0 and none["abandoned"] == none["offered"]  # every ticket walks out
    # Without patience and no counter, the tickets are left open: nothing answered, nothing abandoned, and the
    # first ticket issued from now on waits the whole hour at least.
    calm = {q: HallClass(c.arrivals, c.aht_s, c.sl_t_s) for q, c in classes.items()}
    r = hall_ahead(h, calm, extra=-50, runs=2)
    assert r["answered"] == 0 and r["abandoned"] == 0 and 3000 < r["longest_wait_s"] <= 3600


@pytest.mark.parametrize("extra", [-3, 0, 4])
def test_one_class_counted_gives_what_the_counters_told_apart_give(extra):
    """The one-class engine (counters counted) against the general one (each counter its own) on the same draws."""
    from stream.planning.hall_ahead import _course, _course_alike, _draws

    h, classes = hall()
    one = {"general": classes["general"]}
    h = LiveHall(h.now_ms, [w for w in h.waiting if w[1] == "general"], [(["general"], s) for _, s in h.counters])
    for r in range(3):
        tickets, frees = _draws(h, one, np.random.default_rng([5, r]), HOUR)
        stats, longest = _course(h, one, tickets, frees, extra, ["general"], HOUR)
        st, most = (x["general"] for x in _course_alike(h, one, tickets, frees, extra, HOUR))
        assert st.figures(percentiles=False) == stats["general"].figures(percentiles=False)
        assert most == longest["general"] and st.answered > 0 and st.abandoned > 0


def test_bad_input():
    h, classes = hall()
    with pytest.raises(ValueError, match="runs"):
        hall_ahead(h, classes, runs=0)
    with pytest.raises(ValueError, match="without a forecast: \\['vip'\\]"):
        hall_ahead(h, {q: c for q, c in classes.items() if q != "vip"})


def test_a_busy_hall_answers_well_within_a_second():
    h, classes = hall()
    big = LiveHall(h.now_ms, h.waiting * 4, h.counters * 5)
    classes = {q: HallClass([(t, n * 5) for t, n in c.arrivals], c.aht_s, c.sl_t_s, c.patience_s, c.vip)
               for q, c in classes.items()}
    t0 = time.perf_counter()
    hall_ahead(big, classes, extra=3, courses=[0])
    assert time.perf_counter() - t0 < 0.5


@settings(max_examples=60, deadline=None)
@given(n_wait=st.integers(0, 30), busy=st.integers(0, 8), ready=st.integers(0, 4), rate=st.floats(0.0, 40.0),
       aht=st.floats(30.0, 900.0), patience=st.one_of(st.none(), st.floats(20.0, 3000.0)), extra=st.integers(-6, 6),
       vip_every=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_one_class_engine_property(n_wait, busy, ready, rate, aht, patience, extra, vip_every, seed):
    """Any one-class state: the counted engine gives the general one's figures, every ticket is counted once
    (answered + walked out + left open = offered), and nobody issued from now on waits past the last event."""
    from stream.planning.hall_ahead import _course, _course_alike, _draws

    now = 10 * HOUR
    h = LiveHall(now, [(now - 30_000 * i, "q", int(i % vip_every == 0)) for i in range(n_wait)],
                 [(["q"], now - 1000 * i) for i in range(busy)] + [(["q"], None)] * ready)
    one = {"q": HallClass([(now - now % Q15 + i * Q15, rate) for i in range(5)], aht_s=aht, sl_t_s=60, patience_s=patience)}
    tickets, frees = _draws(h, one, np.random.default_rng(seed), HOUR)
    stats, longest = _course(h, one, tickets, frees, extra, ["q"], HOUR)
    st1, most = (x["q"] for x in _course_alike(h, one, tickets, frees, extra, HOUR))
    assert st1.figures(percentiles=False) == stats["q"].figures(percentiles=False) and most == longest["q"]
    assert st1.offered == len(tickets) and st1.answered + st1.abandoned <= st1.offered
    if busy + ready + extra > 0 or patience is not None:
        assert st1.answered + st1.abandoned == st1.offered  # someone serves or they walk out: nobody left open


@settings(max_examples=40, deadline=None)
@given(n_wait=st.integers(0, 30), busy=st.integers(0, 8), ready=st.integers(0, 4), rates=st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 30.0)),
       ahts=st.tuples(st.floats(30.0, 900.0), st.floats(30.0, 900.0)), patience=st.one_of(st.none(), st.floats(20.0, 3000.0)),
       extra=st.integers(-6, 6), seed=st.integers(0, 2**16))
def test_a_pool_counted_gives_what_its_agents_told_apart_give(n_wait, busy, ready, rates, ahts, patience, extra, seed):
    """A pool (two queues, every agent taking both, the first issued whatever its queue): the counted engine
    gives, per queue, what the general one gives with each agent its own (``first_come``), on the same draws."""
    from stream.planning.hall_ahead import _course, _course_alike, _draws

    now = 10 * HOUR
    h = LiveHall(now, [(now - 30_000 * i - 7 * (i % 2), "ab"[i % 2], int(i % 4 == 0)) for i in range(n_wait)],
                 [(["a", "b"] if i % 2 else ["b", "a"], now - 1000 * i) for i in range(busy)] + [(["b", "a"], None)] * ready)
    two = {q: HallClass([(now - now % Q15 + i * Q15, r) for i in range(5)], aht_s=a, sl_t_s=20 + 10 * k, patience_s=patience)
           for k, (q, r, a) in enumerate(zip("ab", rates, ahts))}
    tickets, frees = _draws(h, two, np.random.default_rng(seed), HOUR)
    stats, longest = _course(h, two, tickets, frees, extra, ["a", "b"], HOUR, first_come=True)
    alike, most = _course_alike(h, two, tickets, frees, extra, HOUR)
    for q in "ab":
        assert alike[q].figures(percentiles=False) == stats[q].figures(percentiles=False) and most[q] == longest[q]
    assert sum(x.offered for x in alike.values()) == len(tickets)
