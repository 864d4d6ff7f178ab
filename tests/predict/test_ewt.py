"""EWT against queueing theory: the exact conditional waits of M/M/c and M/M/c+M, on hand-made
views and on simulated days folded by the real core."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from simulators import mmc
from stream.contracts import events as E
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.predict.ewt import EWT, gamma_band
from stream.predict.les import LES
from stream.predict.ql import QL
from stream.predict.replay import predict_replay
from stream.predict.view import QueueView
from tests.predict import erlang_a
from tests.predict.recorder import Recorder


def view(n_waiting: int, c: int, aht_s: float, ready: int = 0, answered: int = 0, abandoned: int = 0,
         wait_sum_s: float = 0.0, agents: bool = True, serving: int = -1) -> QueueView:
    serving = c - ready if serving < 0 else serving
    return QueueView(now=1_000_000, waiting=[(900_000 + i, 0) for i in range(n_waiting)],
                     serving=[(800_000, 850_000 + i) for i in range(serving)],
                     agents=(ready, c - ready, 0) if agents else None, aht_s=aht_s, answered_15m=answered // 4,
                     answered_60m=answered, abandoned_60m=abandoned, answered_wait_60m_s=wait_sum_s)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 20])
def test_mmc_exact_conditional_wait(n):
    # All 8 agents busy, AHT 240 s, no abandons: E[W | n ahead] = (n + 1) / (c mu), as QL says.
    v = view(n, 8, 240.0)
    assert EWT(model_only=True).predict(v, n).wait_s == pytest.approx((n + 1) * 240.0 / 8)
    assert QL().predict(v, n) == pytest.approx((n + 1) * 240.0 / 8)


def test_an_agent_ready_for_each_ahead_means_no_wait():
    v = view(2, 8, 240.0, ready=3)
    assert EWT().predict(v, 2) == (0.0, 0.0, 0.0, 2)
    assert EWT().predict(v, 3).wait_s > 0


def test_ready_agents_of_other_skills_take_the_first_contacts_at_once():
    # The wall's VIP line: 12 callers just arrived, 2 being handled, 6 agents ready (their primary skill
    # another queue, VIP among their skills), 1 busy on another queue's call, 1 in wrap-up; AHT 349 s.
    # The 6 ready take the first 6 at once; a new arrival waits for 12 - 6 + 1 = 7 departures among the
    # 8 now handling (2 + 6): 7 x 349 / 8 s, not the quarter hour the two handling alone would give.
    v = QueueView(now=1_000_000, waiting=[(999_000 + i, 1) for i in range(12)], serving=[(900_000, 950_000)] * 2,
                  agents=(6, 1, 1), aht_s=349.0, answered_15m=3, answered_60m=12, abandoned_60m=0,
                  answered_wait_60m_s=60.0)
    p = EWT(model_only=True).predict(v, 12)
    assert p.wait_s == pytest.approx(7 * 349.0 / 8)
    assert p.low_s < p.wait_s < p.high_s
    assert EWT().predict(v, 12).wait_s < 5 * 60
    ps = EWT().positions(v)
    assert [p.wait_s for p in ps[:6]] == [0.0] * 6 and 0 < ps[6].wait_s < ps[11].wait_s
    # No ready agent: the same queue waits longer (the ready ones are what shortens it).
    busy = QueueView(**{**v.__dict__, "agents": (0, 7, 1)})
    assert EWT(model_only=True).predict(busy, 12).wait_s > 2 * p.wait_s


def test_a_burst_on_a_queue_served_by_other_skills_ready_agents_is_a_short_wait():
    # Through the fold and the published figures (live.site_ewt on the snapshot): agents whose primary
    # skill is general also take VIP; six of them ready when 12 VIP calls arrive in one second.
    from stream.predict.live import site_ewt

    t0, site = 1_700_000_000_000, "gd-hotline"
    evs: list = []
    for i in range(8):
        evs.append(E.AgentState(id=f"in-{i}", ts=t0 + i, site=site, agent=f"a{i}", state="ready", queues=["general", "vip"]))
    # An hour of VIP calls handled in 300 s each (AHT), by agents a6 and a7 in turn.
    t = t0 + 1000
    for k in range(10):
        ag = f"a{6 + k % 2}"
        evs += [E.CallOffered(id=f"o{k}", ts=t, site=site, call=f"c{k}", queue="vip", vip=True),
                E.CallAnswered(id=f"a{k}", ts=t + 5_000, site=site, call=f"c{k}", agent=ag),
                E.CallEnded(id=f"e{k}", ts=t + 305_000, site=site, call=f"c{k}")]
        t += 310_000 if k % 2 else 0
    # Two VIP calls being handled now; then the burst.
    now = t + 60_000
    for k in (98, 99):
        evs += [E.CallOffered(id=f"o{k}", ts=now - 30_000, site=site, call=f"c{k}", queue="vip", vip=True),
                E.CallAnswered(id=f"a{k}", ts=now - 29_000, site=site, call=f"c{k}", agent=f"a{k - 92}"),
                E.AgentState(id=f"s{k}", ts=now - 29_000, site=site, agent=f"a{k - 92}", state="busy")]
    evs += [E.CallOffered(id=f"b{k}", ts=now + k, site=site, call=f"burst-{k}", queue="vip", vip=True) for k in range(12)]
    floor = Floor(load_config())
    floor.apply_many(sorted(evs, key=lambda e: e.ts))
    snap = floor.snapshot(site)
    assert snap["queues"]["vip"]["agents"]["ready"] == 6 and snap["queues"]["vip"]["waiting"] == 12
    row = site_ewt(snap, floor.sites[site].queue_now())["vip"]
    assert row["ahead"] == 12
    assert row["wait_s"] < 5 * 60, row  # the wall had 14:48 beside "Ready 6"
    assert row["positions"][:6] == [[0, 0, 0]] * 6


def test_no_handle_time_yet_but_a_head_long_waiting_is_not_a_wait_of_zero():
    # A hall's VIP line with no ticket completed in the last hour and none being served: the head has
    # waited 37:31. The blend's head-of-line term stands (QL-m cannot be computed without a handle time).
    v = QueueView(now=3_000_000, waiting=[(3_000_000 - 2_251_000, 1), (2_900_000, 1), (2_990_000, 1)], serving=[],
                  agents=(0, 1, 0), aht_s=None, answered_15m=0, answered_60m=0, abandoned_60m=0, answered_wait_60m_s=0.0)
    assert EWT().predict(v, 3).wait_s == pytest.approx(0.255 * 2251.0)
    assert EWT(model_only=True).predict(v, 3).wait_s == 0.0  # the model alone has nothing to go on
    # With someone entering service lately, their wait is what there is (as before).
    les = QueueView(**{**v.__dict__, "serving": [(2_000_000, 2_600_000)]})
    assert EWT().predict(les, 3).wait_s == 600.0
    # A ready agent for everyone ahead still means no wait.
    assert EWT().predict(QueueView(**{**v.__dict__, "agents": (4, 0, 0)}), 3).wait_s == 0.0


def test_abandonment_shortens_the_wait_as_ql_m_says():
    # 30 abandons over 1,800 s of waiting (answered waits 900 s, 30 abandons at their mean 30 s): theta = 1/60.
    v = view(6, 4, 200.0, answered=30, abandoned=30, wait_sum_s=900.0)
    assert v.patience_rate() == pytest.approx(30 / 1800)
    theta, r = 30 / 1800, 4 / 200.0
    exact = sum(1 / (r + k * theta) for k in range(7))
    p = EWT(model_only=True).predict(v, 6)
    assert p.wait_s == pytest.approx(exact)
    assert p.wait_s < QL().predict(v, 6)
    assert p.low_s < p.wait_s < p.high_s


def test_positions_grow_with_the_place_in_the_queue():
    v = view(5, 3, 180.0)
    ps = EWT().positions(v)
    assert [p.ahead for p in ps] == [0, 1, 2, 3, 4]
    assert all(a.wait_s < b.wait_s for a, b in zip(ps, ps[1:]))
    assert EWT().positions(v, 2) == ps[:2] and EWT().positions(v, 99) == ps and EWT().positions(view(0, 3, 180.0)) == []


def test_live_publishes_each_position_bounded():
    from stream.predict.live import MAX_POSITIONS, site_ewt

    snap = {"clock": 1_000_000, "queues": {"q": {"sliding": {
        "15m": {"answered": 0}, "60m": {"answered": 0, "aht_s": 180.0, "abandoned": 0, "short_abandoned": 0, "asa_s": None}},
        "agents": {"ready": 0, "busy": 3, "wrap_up": 0, "logged_in": 3}}}}
    for n in (0, 4, MAX_POSITIONS + 7):
        legs = {"q": {"waiting": [(900_000 + i, 0) for i in range(n)], "serving": [(800_000, 850_000)] * 3}}
        row = site_ewt(snap, legs)["q"]
        assert row["ahead"] == n and len(row["positions"]) == min(n, MAX_POSITIONS)
        assert row["positions"] == [[round(p.wait_s), round(p.low_s), round(p.high_s)] for p in
                                    EWT().positions(view(n, 3, 180.0), MAX_POSITIONS)]


def test_gamma_band_holds_its_percentiles():
    # An exponential (k = 1: Wilson-Hilferty at its worst, 7 % low at the 10th percentile) and a sum of
    # 10 exponentials (k = 10: within 3 %).
    lo, hi = gamma_band(1.0, 1.0)
    assert lo == pytest.approx(-math.log(0.9), rel=0.08) and hi == pytest.approx(-math.log(0.1), rel=0.03)
    from scipy.stats import gamma

    lo, hi = gamma_band(10.0, 10.0)
    assert lo == pytest.approx(gamma.ppf(0.1, 10), rel=0.03) and hi == pytest.approx(gamma.ppf(0.9, 10), rel=0.03)


def _by_ahead(records: list[dict]) -> dict[int, list[tuple[float, float, float]]]:
    """Answered arrivals that found every agent busy, by contacts ahead: (actual, EWT's queueing model, QL)."""
    out: dict[int, list] = defaultdict(list)
    for r in records:
        ahead, ready, _ = r["predicted"]["seen"]
        if r["outcome"] == "answered" and ready == 0:
            out[ahead].append((r["actual_wait_s"], r["predicted"]["QL-m"].wait_s, r["predicted"]["QL"]))
    return out


def test_mmc_day_matches_the_exact_conditional_wait():
    # M/M/10, AHT 180 s, load 0.95, 40 hours: for an arrival finding all busy and n ahead the
    # wait is the sum of n + 1 exponentials of mean 18 s: E = (n + 1) * 18 s.
    c, aht = 10, 180.0
    evs = list(mmc.generate(calls_per_hour=0.95 * c * 3600 / aht, aht_s=aht, agents=c, hours=40, seed=11))
    recs = predict_replay(evs, Floor(load_config()), [Recorder(), EWT(model_only=True), EWT(), QL(), LES()])
    groups = _by_ahead(recs)
    checked = 0
    for n in range(0, 6):
        g = groups.get(n, [])
        if len(g) < 150:
            continue
        exact = (n + 1) * aht / c
        actual = sum(a for a, _, _ in g) / len(g)
        se = aht / c * math.sqrt(n + 1) / math.sqrt(len(g))
        assert abs(actual - exact) < 4 * se, (n, actual, exact)  # the simulator and the conditioning
        predicted = sum(e for _, e, _ in g) / len(g)
        assert predicted == pytest.approx(exact, rel=0.08), n  # the estimate of mu from the last hour
        checked += 1
    assert checked >= 4
    answered = [r for r in recs if r["outcome"] == "answered"]

    def rmse(name):
        return math.sqrt(sum((_w(r["predicted"][name]) - r["actual_wait_s"]) ** 2 for r in answered) / len(answered))

    # On M/M/c the queue length says more than the last wait (Ibrahim & Whitt 2009); the fitted blend
    # (weights from busy days, not from M/M/c) stays near the exact model.
    assert rmse("QL-m") < rmse("LES") and rmse("EWT") < rmse("LES")
    assert rmse("EWT") < 1.1 * rmse("QL-m")


def _w(p) -> float:
    return p if isinstance(p, float) else p.wait_s


def test_erlang_a_day_ewt_beats_ql_and_les():
    # M/M/8+M, AHT 180 s, mean patience 90 s, 1.15x overloaded: many abandon, the queue is long.
    c, mu, theta = 8, 1 / 180, 1 / 90
    evs = list(erlang_a.generate(1.15 * c * mu, mu, theta, c, hours=30, seed=5))
    recs = predict_replay(evs, Floor(load_config()), [Recorder(), EWT(model_only=True), EWT(), QL(), LES()])
    assert sum(r["outcome"] == "abandoned" for r in recs) > 0.1 * len(recs)
    groups = _by_ahead(recs)
    for n in (1, 2, 3, 4):
        g = groups[n]
        assert len(g) > 90
        exact = sum(1 / (c * mu + k * theta) for k in range(n + 1))
        predicted = sum(e for _, e, _ in g) / len(g)
        # The patience rate is estimated from the hour's waits (abandoned ones at the answered mean).
        assert predicted == pytest.approx(exact, rel=0.1), (n, predicted, exact)
    answered = [r for r in recs if r["outcome"] == "answered"]

    def rmse(name):
        return math.sqrt(sum((_w(r["predicted"][name]) - r["actual_wait_s"]) ** 2 for r in answered) / len(answered))

    assert rmse("QL-m") < 0.9 * rmse("QL"), (rmse("QL-m"), rmse("QL"))
    assert rmse("QL-m") < rmse("LES"), (rmse("QL-m"), rmse("LES"))
    assert rmse("EWT") < 0.9 * rmse("QL") and rmse("EWT") < rmse("LES"), (rmse("EWT"), rmse("QL"), rmse("LES"))
