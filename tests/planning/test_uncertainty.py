"""Staffing against the arrival rate's uncertainty: the spread learnt from past errors, and plans made with it."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.contracts.floor_config import FloorConfig
from stream.planning import erlang_a
from stream.planning.actuals import DayCounts, QueueHistory
from stream.planning.outlook import forecast_histories
from stream.planning.plan import plan
from stream.planning.uncertainty import Spread, day_spread, rest_spread

CFG = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "queues": {"q": {"sl_target_pct": 80, "sl_t_s": 20}}}}})
PAT = {("s", "q"): 120.0}


def test_factors_have_the_spread_and_the_tails_of_their_t():
    for dof, sd in ((1000.0, 0.2), (30.0, 0.2 * math.sqrt(30 / 28)), (3.0, 0.2 * math.sqrt(3.0))):
        z = np.log([r for r, _ in Spread(0.2, dof, 5).factors(400)])
        assert abs(z.mean()) < 1e-9                     # the median of the load factor is 1: the forecast unbiased
        assert z.std() == pytest.approx(sd, rel=0.08)    # t's standard deviation, scale·sqrt(ν/(ν−2))
    few, many = Spread(0.2, 3.0, 3).factors(), Spread(0.2, 100.0, 100).factors()
    assert max(r for r, _ in few) > max(r for r, _ in many) and sum(p for _, p in few) == pytest.approx(1.0)
    assert Spread(0.0, 10.0, 10).factors() == [(1.0, 1.0)]


def test_day_spread_from_past_errors_less_the_poisson_part():
    pairs = [(1000.0, 1000.0 * math.exp(e)) for e in (0.1, -0.1, 0.2, -0.2)]
    s = day_spread(pairs)
    assert s.dof == 4 and s.days == 4
    assert s.scale == pytest.approx(math.sqrt((0.01 + 0.01 + 0.04 + 0.04) / 4 - 1 / 1000))
    assert day_spread(pairs[:2]) is None                     # two days cannot say how far a forecast strays
    assert day_spread([(0.0, 5.0)] * 5) is None              # nor days without a forecast


def test_rest_spread_widens_for_a_morning_unlike_the_past():
    pairs = [(x, 500.0 * math.exp(e), 500.0, 500.0) for x, e in ((0.1, 0.1), (-0.1, -0.12), (0.2, 0.05), (-0.05, -0.1), (0.0, 0.08))]
    usual, odd = rest_spread(pairs, 0.05), rest_spread(pairs, -0.7)
    assert usual.dof == 4 and odd.scale > 2 * usual.scale   # an extrapolation is less sure
    assert rest_spread(pairs[:3], 0.0) is None


def _row(offered: float, hour: int = 9) -> dict:
    return {"site": "s", "queue": "q", "start": f"2026-01-05T{hour:02d}:00:00+00:00", "offered": offered, "aht_s": 180.0}


@settings(max_examples=25, deadline=None)
@given(calls=st.floats(5.0, 300.0), scale=st.floats(0.02, 0.4), dof=st.sampled_from([3.0, 8.0, 40.0]))
def test_a_plan_against_uncertainty_never_has_fewer_agents(calls, scale, dof):
    point = plan([_row(calls)], CFG, patience=PAT)[0]["agents"]
    wide = plan([_row(calls)], CFG, patience=PAT, spread={("s", "q"): Spread(scale, dof, 10)})[0]["agents"]
    assert wide >= point


def test_the_target_is_met_in_expectation_over_the_rate():
    """Days whose rate is the forecast × R, R drawn from the spread's t: the plan made with the spread meets
    80 % over them (call-weighted), the point plan falls short of it."""
    spread = Spread(0.2, 6.0, 6)
    rows = [_row(80.0, h) for h in range(9, 17)]
    day = {"point": plan(rows, CFG, patience=PAT, over="day"),
           "spread": plan(rows, CFG, patience=PAT, over="day", spread={("s", "q"): spread})}
    # The rate on a fine grid of the t's quantiles (not the planner's nine bins): the expectation itself.
    from scipy import stats

    draws = np.exp(0.2 * stats.t.ppf((np.arange(1000) + 0.5) / 1000, 6.0))
    short = CFG.queue("s", "q").short_abandon_s
    got = {}
    for k, rs in day.items():
        num = den = 0.0
        for n in {row["agents"] for row in rs}:
            times = sum(row["agents"] == n for row in rs)
            for r in draws:
                c = 80.0 * r
                sl = erlang_a.solve(agents=n, calls=c, interval_min=15, aht_s=180.0, patience_s=120.0, target_s=20,
                                    short_abandon_s=short)["service_level"]
                num += times * c * sl
                den += times * c
        got[k] = num / den
    assert got["point"] < 0.72 and got["spread"] == pytest.approx(0.80, abs=0.01)
    assert sum(r["agents"] for r in day["spread"]) > sum(r["agents"] for r in day["point"])


def _history(days: int, quiet_morning_last: bool = False) -> dict:
    """One queue, 100 calls an hour 08:00-18:00 with ±10 % days; the last day's morning at half."""
    rng = np.random.default_rng(3)
    qh = QueueHistory("s", "q", "UTC")
    d0 = date(2026, 1, 5)
    for i in range(days):
        level = 25.0 * math.exp(rng.normal(0, 0.1))
        off = np.zeros(96)
        off[32:72] = rng.poisson(level, 40)
        if quiet_morning_last and i == days - 1:
            off[32:40] = np.floor(off[32:40] / 2)
        qh.days[(d0 + timedelta(days=i)).isoformat()] = DayCounts(off, off.copy(), off * 180.0)
    return {("s", "q"): qh}


def test_outlook_learns_the_spread_from_past_days_of_the_same_kind():
    hist = _history(30)
    at = date(2026, 1, 5) + timedelta(days=29)
    o = forecast_histories(hist, at, 1, spread=True)[0]
    assert o.spread is not None and o.spread.days >= 14 and 0.03 < o.spread.scale < 0.3
    assert forecast_histories(hist, at, 1)[0].spread is None                  # only when asked
    # The first week: no weekday seen twice, so no past forecast made from a day of its kind.
    assert forecast_histories(_history(8), date(2026, 1, 12), 1, spread=True)[0].spread is None


def test_a_reforecast_from_too_few_days_does_not_cut_the_plan():
    """Eight days: how far a quiet morning lasts cannot be learnt. The forecast (and the advisor) follow the
    morning; a plan from it (``spread=True``) may raise the rest of the day's forecast, never cut it."""
    hist = _history(9, quiet_morning_last=True)
    at = datetime(2026, 1, 13, 10, tzinfo=timezone.utc)
    plain = forecast_histories(hist, at, 1)[0].rows
    planned = forecast_histories(hist, at, 1, spread=True)[0]
    ahead = {r["start"]: r["offered"] for r in forecast_histories(hist, date(2026, 1, 13), 1)[0].rows}
    assert planned.spread is None
    assert sum(r["offered"] for r in plain) < 0.95 * sum(ahead[r["start"]] for r in plain)
    assert all(r["offered"] >= ahead[r["start"]] - 1e-3 for r in planned.rows)
