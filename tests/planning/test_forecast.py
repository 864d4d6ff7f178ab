"""The load forecaster on synthetic series whose truth is known: seasonality, a holiday, a surge."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from stream.planning.forecast import SLOTS, LoadForecaster, forecast_site, reforecast
from stream.planning.holidays import HOLIDAY, Holidays, load_holidays

# Open 08:00-20:00 with a morning and an afternoon peak.
_t = np.arange(SLOTS)
SHAPE = np.where((_t >= 32) & (_t < 80), 1.0 + 0.8 * np.sin((_t - 32) / 48 * 2 * np.pi) ** 2, 0.0)
SHAPE /= SHAPE.sum()
WEEKDAY_TOTAL = {0: 1200, 1: 1100, 2: 1050, 3: 1000, 4: 900, 5: 400, 6: 250}
HOLIDAY_RATIO = 0.35
START = date(2026, 3, 2)  # a Monday


def calendar(*days: date) -> Holidays:
    return Holidays.from_dict(
        {"calendars": {"cn": {"holidays": [{"from": d.isoformat()} for d in days]}}, "sites": {"s": "cn"}}
    )


def truth(d: date, hol: Holidays, scale: float = 1.0) -> np.ndarray:
    total = scale * WEEKDAY_TOTAL[d.weekday()] * (HOLIDAY_RATIO if hol.day_kind("s", d) == HOLIDAY else 1.0)
    return total * SHAPE


def learnt(hol: Holidays, weeks: int, seed: int = 1, scale: float = 1.0, **kw) -> LoadForecaster:
    rng = np.random.default_rng(seed)
    f = LoadForecaster("s", hol, **kw)
    for i in range(7 * weeks):
        d = START + timedelta(days=i)
        off = rng.poisson(truth(d, hol, scale)).astype(float)
        handled = off.copy()
        aht = 200 + 60 * np.sin(_t / 96 * 2 * np.pi)  # AHT varies over the day
        f.learn_day(d, off, handled, handled * rng.gamma(4, aht / 4))
    return f


def test_weekly_and_daily_seasonality_recovered() -> None:
    hol = Holidays()
    f = learnt(hol, weeks=6)
    for i in range(7):
        d = START + timedelta(days=42 + i)
        fc = f.forecast_day(d).offered
        want = truth(d, hol)
        assert fc.sum() == pytest.approx(want.sum(), rel=0.06), d.strftime("%a")
        # The intraday shape: closed hours stay (nearly) empty, and interval errors are small.
        assert fc[:30].sum() < 0.01 * want.sum()
        assert np.abs(fc - want).sum() / want.sum() < 0.12


def test_beats_seasonal_naive_on_truth() -> None:
    """Averaging weeks and pooling weekdays is closer to the truth than last week's noisy copy."""
    hol = Holidays()
    rng = np.random.default_rng(7)
    f = learnt(hol, weeks=4, seed=7)
    ours = naive = actual_sum = 0.0
    last_week = {d: rng.poisson(truth(d, hol)) for d in (START + timedelta(days=21 + i) for i in range(7))}
    for i in range(7):
        d = START + timedelta(days=28 + i)
        actual = rng.poisson(truth(d, hol))
        ours += np.abs(f.forecast_day(d).offered - actual).sum()
        naive += np.abs(last_week[d - timedelta(days=7)] - actual).sum()
        actual_sum += actual.sum()
    assert ours < 0.85 * naive


def test_a_trend_is_followed() -> None:
    """Volume growing 2 % a day: the damped trend lands nearer the truth than the level alone, and not past it."""
    hol = Holidays()
    rng = np.random.default_rng(5)
    fs = {tr: LoadForecaster("s", hol, trend=tr) for tr in (0.0, 0.5)}
    for i in range(28):
        d = START + timedelta(days=i)
        off = rng.poisson(truth(d, hol, 10 * 1.02 ** i)).astype(float)
        for f in fs.values():
            f.learn_day(d, off, off, 200 * off)
    d = START + timedelta(days=29)
    want = truth(d, hol, 10 * 1.02 ** 29).sum()
    got = {tr: f.forecast_day(d).offered.sum() for tr, f in fs.items()}
    assert got[0.0] < got[0.5] <= want * 1.03
    assert abs(got[0.5] - want) < abs(got[0.0] - want)


def test_aht_follows_the_day() -> None:
    f = learnt(Holidays(), weeks=4)
    aht = f.forecast_day(START + timedelta(days=28)).aht_s
    assert aht[40] == pytest.approx(200 + 60 * np.sin(40 / 96 * 2 * np.pi), rel=0.1)
    assert aht[70] == pytest.approx(200 + 60 * np.sin(70 / 96 * 2 * np.pi), rel=0.1)


def test_a_known_holiday_is_learnt_and_forecast() -> None:
    past = START + timedelta(days=16)  # a Wednesday in the history
    future = START + timedelta(days=37)  # a Wednesday to come
    hol = calendar(past, future)
    f = learnt(hol, weeks=5, scale=10)  # one past holiday: enough volume that its ratio is not noise
    fc = f.forecast_day(future).offered.sum()
    assert fc == pytest.approx(10 * WEEKDAY_TOTAL[2] * HOLIDAY_RATIO, rel=0.1)
    # The Wednesday after is ordinary again, and the holiday did not drag it down.
    assert f.forecast_day(future + timedelta(days=7)).offered.sum() == pytest.approx(10 * WEEKDAY_TOTAL[2], rel=0.05)


def test_a_holiday_never_seen_is_forecast_like_the_quietest_day() -> None:
    future = START + timedelta(days=37)
    hol = calendar(future)
    f = learnt(hol, weeks=5)
    assert f.forecast_day(future).offered.sum() == pytest.approx(WEEKDAY_TOTAL[6], rel=0.15)


def test_intraday_reforecast_moves_with_a_surge() -> None:
    hol = Holidays()
    f = learnt(hol, weeks=4)
    d = START + timedelta(days=28)
    base = f.forecast_day(d).offered
    actual = base.copy()
    actual[40:44] = 2.5 * base[40:44]  # 10:00-11:00 at two and a half times the forecast
    new = reforecast(base, actual, upto=44)
    assert (new[44:52] > 1.3 * base[44:52]).all()  # 11:00-13:00 clearly up
    assert (new[44:52] >= new[52]).all()  # most right after the surge
    assert new[79] < 1.25 * base[79]  # the evening barely
    assert np.array_equal(new[:44], actual[:44])
    # No surge: the forecast stays put.
    assert np.allclose(reforecast(base, base, upto=44), base)


def test_holiday_config_example_loads_and_errors_name_the_field(tmp_path) -> None:
    hol = load_holidays()
    assert hol.day_kind("gd-hotline", date(2026, 2, 17)) == HOLIDAY  # Spring Festival
    assert hol.day_kind("gd-hotline", date(2026, 2, 28)) == 0  # a Saturday worked (调休)
    assert hol.name("gd-hotline", date(2026, 10, 1), "zh") == "国庆节"
    bad = tmp_path / "h.yaml"
    bad.write_text("calendars:\n  cn:\n    holidays:\n      - {from: 2026-13-01}\n")
    with pytest.raises(ValueError, match=r"calendars.cn.holidays\[0\].from: not a date"):
        load_holidays(bad)


def _queue(hol: Holidays, shape: np.ndarray, scale: float, seed: int, weeks: int = 3) -> LoadForecaster:
    rng = np.random.default_rng(seed)
    f = LoadForecaster("s", hol)
    for i in range(7 * weeks):
        d = START + timedelta(days=i)
        off = rng.poisson(scale * WEEKDAY_TOTAL[d.weekday()] * shape).astype(float)
        f.learn_day(d, off, off, off * 180.0)
    return f


def test_a_small_queue_borrows_the_sites_shape() -> None:
    """A queue of ~20 calls a day with the site's shape: closer to its truth pooled than alone."""
    hol = Holidays()
    qs = {"big": _queue(hol, SHAPE, 1.0, 1), "small": _queue(hol, SHAPE, 0.02, 2)}
    d = START + timedelta(days=21)
    want = WEEKDAY_TOTAL[d.weekday()] * 0.02 * SHAPE
    alone = forecast_site(qs, d, pool=False)["small"].offered
    pooled = forecast_site(qs, d)["small"].offered
    err = lambda fc: np.abs(fc / fc.sum() - want / want.sum()).sum()  # noqa: E731 - the shape's error
    assert err(pooled) < 0.6 * err(alone)
    assert pooled.sum() == pytest.approx(alone.sum())  # pooling moves the shape, never the day's total


def test_a_queue_with_its_own_shape_keeps_it() -> None:
    """A busy queue open only in the evening is not dragged toward the site's daytime shape."""
    hol = Holidays()
    evening = np.where((_t >= 72) & (_t < 92), 1.0, 0.0)
    evening /= evening.sum()
    qs = {"day": _queue(hol, SHAPE, 1.0, 3), "evening": _queue(hol, evening, 0.5, 4)}
    d = START + timedelta(days=21)
    fc = forecast_site(qs, d)["evening"].offered
    assert fc[72:92].sum() > 0.97 * fc.sum()
