"""Erlang C staffing (stream.planning.staffing) against the published example, an
independent textbook formula, and properties that must hold for any traffic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.planning import staffing
from stream.planning.staffing import asa, erlang_c, required_agents, service_level, solve, traffic

EXAMPLE = dict(calls=100, interval_min=30, aht_s=180, target_s=20)


def textbook_erlang_c(n: int, a: float) -> float:
    """The factorial form, in log space so it serves as an independent check for big N too."""
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(n)]
    log_last = n * math.log(a) - math.lgamma(n + 1) + math.log(n / (n - a))
    top = max(log_terms + [log_last])
    s = sum(math.exp(t - top) for t in log_terms)
    last = math.exp(log_last - top)
    return last / (s + last)


# --- the published example ---------------------------------------------------


def test_published_example() -> None:
    r = solve(**EXAMPLE, sl_goal=0.8)
    assert set(r) == {"agents", "service_level", "wait_probability", "asa_s", "occupancy"}
    assert r["agents"] == 14
    assert round(r["service_level"], 4) == 0.8884
    assert round(r["wait_probability"], 4) == 0.1741
    assert round(r["occupancy"], 3) == 0.714


def test_published_example_asa() -> None:
    r = solve(**EXAMPLE, sl_goal=0.8)
    # ASA = Pw·AHT/(N−A) = 0.17413·180/4
    assert r["asa_s"] == pytest.approx(7.8359, abs=1e-4)
    assert r["asa_s"] == pytest.approx(asa(14, 10.0, 180))


def test_13_agents_miss_the_goal() -> None:
    r = solve(**EXAMPLE, agents=13)
    assert r["agents"] == 13
    assert r["service_level"] < 0.8
    assert r["occupancy"] == pytest.approx(10 / 13)


def test_traffic() -> None:
    assert traffic(100, 30, 180) == pytest.approx(10.0)
    assert traffic(0, 15, 300) == 0.0


@pytest.mark.parametrize("n,a", [(1, 0.5), (2, 1.5), (14, 10.0), (30, 25.3), (120, 100.0)])
def test_erlang_c_matches_textbook(n: int, a: float) -> None:
    assert erlang_c(n, a) == pytest.approx(textbook_erlang_c(n, a), rel=1e-12)


# --- occupancy cap and shrinkage ---------------------------------------------


def test_max_occupancy_raises_agents() -> None:
    r = solve(**EXAMPLE, sl_goal=0.8, max_occupancy=0.65)
    assert r["agents"] == 16  # 10/0.65 = 15.4 → 16
    assert r["occupancy"] <= 0.65
    assert r["service_level"] > 0.8884


def test_loose_max_occupancy_changes_nothing() -> None:
    assert solve(**EXAMPLE, sl_goal=0.8, max_occupancy=0.75) == solve(**EXAMPLE, sl_goal=0.8)


def test_shrinkage_rosters_more_figures_stay_on_the_phones() -> None:
    base = solve(**EXAMPLE, sl_goal=0.8)
    r = solve(**EXAMPLE, sl_goal=0.8, shrinkage=0.3)
    assert r["agents"] == 20  # 14/0.7 = 20 exactly: no spurious round-up to 21
    assert solve(**EXAMPLE, sl_goal=0.8, shrinkage=0.25)["agents"] == 19  # 18.67 → 19
    assert solve(**EXAMPLE, sl_goal=0.8, shrinkage=0.0)["agents"] == 14
    # The figures are those of the 14 agents before shrinkage.
    for k in ("service_level", "wait_probability", "asa_s", "occupancy"):
        assert r[k] == base[k]


def test_shrinkage_applies_after_occupancy_cap() -> None:
    assert solve(**EXAMPLE, sl_goal=0.8, max_occupancy=0.65, shrinkage=0.2)["agents"] == 20  # 16/0.8


# --- unstable queue ----------------------------------------------------------


@pytest.mark.parametrize("agents", [1, 9, 10])
def test_unstable_queue(agents: int) -> None:
    r = solve(**EXAMPLE, agents=agents)
    assert r == {"agents": agents, "service_level": 0.0, "wait_probability": 1.0, "asa_s": None, "occupancy": 1.0}


def test_zero_calls() -> None:
    r = solve(calls=0, interval_min=15, aht_s=180, target_s=20, sl_goal=0.8)
    assert r == {"agents": 1, "service_level": 1.0, "wait_probability": 0.0, "asa_s": 0.0, "occupancy": 0.0}


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(calls=-1), "calls must be >= 0"),
        (dict(calls=float("nan")), "calls must be finite"),
        (dict(interval_min=0), "interval_min must be > 0"),
        (dict(aht_s=0), "aht_s must be > 0"),
        (dict(target_s=-5), "target_s must be >= 0"),
        (dict(sl_goal=0.0), "sl_goal must be between 0 and 1"),
        (dict(sl_goal=1.0), "sl_goal must be between 0 and 1"),
        (dict(sl_goal=80), "sl_goal must be between 0 and 1"),
        (dict(shrinkage=1.0), r"shrinkage must be in \[0, 1\)"),
        (dict(shrinkage=-0.1), "shrinkage must be >= 0"),
        (dict(max_occupancy=1.2), "max_occupancy must be between 0 and 1"),
        (dict(agents=14), "exactly one of sl_goal"),
        (dict(sl_goal=None), "exactly one of sl_goal"),
        (dict(sl_goal=None, agents=0), "agents must be an integer >= 1"),
        (dict(sl_goal=None, agents=14.5), "agents must be an integer >= 1"),
        (dict(sl_goal=None, agents=14, shrinkage=0.3), "only with sl_goal"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    args = {**EXAMPLE, "sl_goal": 0.8, **kwargs}
    with pytest.raises(ValueError, match=match):
        solve(**args)


# --- properties --------------------------------------------------------------

traffic_st = st.floats(min_value=0.01, max_value=300, allow_nan=False)
aht_st = st.floats(min_value=5, max_value=2000)
t_st = st.floats(min_value=0, max_value=600)


@settings(max_examples=200, deadline=None)
@given(a=traffic_st, extra=st.integers(0, 40), aht=aht_st, t=t_st)
def test_sl_increases_with_agents(a: float, extra: int, aht: float, t: float) -> None:
    n = math.floor(a) + 1 + extra
    assert service_level(n + 1, a, aht, t) >= service_level(n, a, aht, t)
    assert 0.0 <= service_level(n, a, aht, t) <= 1.0


@settings(max_examples=200, deadline=None)
@given(a=traffic_st, n=st.integers(1, 400))
def test_wait_probability_in_unit_interval_and_decreasing(a: float, n: int) -> None:
    pw, pw_next = erlang_c(n, a), erlang_c(n + 1, a)
    assert 0.0 <= pw <= 1.0
    assert pw_next <= pw


@settings(max_examples=200, deadline=None)
@given(a=traffic_st, aht=aht_st, t=t_st, goal=st.floats(min_value=0.05, max_value=0.99))
def test_required_agents_is_the_least(a: float, aht: float, t: float, goal: float) -> None:
    n = required_agents(a, aht, t, goal)
    assert n > a
    assert service_level(n, a, aht, t) >= goal
    if n - 1 > a:
        assert service_level(n - 1, a, aht, t) < goal


@settings(max_examples=100, deadline=None)
@given(a=traffic_st, aht=aht_st, t=t_st, goal=st.floats(min_value=0.05, max_value=0.99), cap=st.floats(0.3, 0.99))
def test_required_agents_with_cap_is_the_least(a: float, aht: float, t: float, goal: float, cap: float) -> None:
    n = required_agents(a, aht, t, goal, max_occupancy=cap)
    assert a / n <= cap and service_level(n, a, aht, t) >= goal
    m = n - 1
    assert m <= a or a / m > cap or service_level(m, a, aht, t) < goal


# --- numeric stability -------------------------------------------------------


def test_big_traffic_is_stable() -> None:
    # 5000 calls of 180 s in 30 minutes: A = 500 Erlangs (factorials would overflow at 171!).
    r = solve(calls=5000, interval_min=30, aht_s=180, target_s=20, sl_goal=0.8)
    n = r["agents"]
    assert 500 < n < 560
    for k in ("service_level", "wait_probability", "occupancy"):
        assert math.isfinite(r[k]) and 0.0 <= r[k] <= 1.0
    assert r["service_level"] >= 0.8
    assert r["wait_probability"] == pytest.approx(textbook_erlang_c(n, 500.0), rel=1e-9)
    assert service_level(n - 1, 500.0, 180, 20) < 0.8


def test_very_big_traffic_is_finite() -> None:
    pw = erlang_c(20_100, 20_000.0)
    assert 0.0 < pw < 1.0
    assert pw == pytest.approx(textbook_erlang_c(20_100, 20_000.0), rel=1e-9)


def test_module_doctest() -> None:
    import doctest

    assert doctest.testmod(staffing).failed == 0
