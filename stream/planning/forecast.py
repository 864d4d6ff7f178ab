"""The load forecaster: offered contacts and AHT per 15-minute slot of a queue's coming days.

A multiplicative day × profile model, the way workforce-management tools
build it, learnt one whole local day at a time (``learn_day``, river style):

* **day total** = level × weekday factor. The weekday factors are
  recency-weighted means of each weekday's totals over the kept weeks,
  relative to each other, each full day's (one at least half the busiest)
  shrunk toward their mean as far as their differences are within the
  day-to-day noise (a few weeks cannot tell a Monday from a Tuesday; they
  can tell a Friday from both); the level is a recency-weighted mean of recent days'
  totals divided by their factor (half-life ``level_halflife_days``), so one
  odd day moves it little and a lasting change moves it in a week; a trend
  (the recency-weighted slope of those deseasonalised totals) carries it
  forward, damped by ``trend`` (0.5: half of it).
* **intraday profile** = the share of the day in each slot, recency
  weighted, of the day's weekday shrunk toward the pooled profile of all the
  ordinary full days by ``profile_k`` contacts (by default infinitely: the
  full days share one shape, which backtests best — a weekday's own shape is
  a few days of noise), lightly smoothed across neighbour slots; a short day
  (Friday at the Anonymous Bank) keeps its own.
* **site pooling** (``forecast_site``): a site's queues forecast together,
  each queue's shape shrunk slot by slot toward the site's by empirical
  Bayes (``LoadForecaster._shrunk``), in the slots the queue has been open in:
  a queue of a few calls a day borrows the site's day, a big one keeps its own.
* **special days**: a holiday (``stream.planning.holidays``) gets the median
  ratio of past holidays' totals to what their weekday would have been, and
  the holidays' own pooled profile; with no holiday in the history, the
  site's quietest weekday stands in. Make-up working days follow their
  calendar's weekday.
* **AHT** per slot: handle seconds over handled contacts of the day's
  weekday, shrunk toward the slot's all-days value by ``aht_k`` contacts
  (by default all the way: handle times hardly depend on the weekday, and
  the backtests agree), and that toward the queue's
  mean by ``aht_slot_k`` (few contacts in a slot: the mean speaks louder).
* **intraday reforecast** (``reforecast``): today's actuals so far scale the
  rest of today, the last two hours most for the next hours, the whole day's
  ratio further out, as far as past days showed such deviations to last
  (``persistence_of``).

A weekly pattern with a holiday learnt and forecast:

>>> from datetime import date, timedelta
>>> import numpy as np
>>> from stream.planning.holidays import Holidays
>>> hol = Holidays.from_dict({"calendars": {"cn": {"holidays": [{"from": "2026-03-04"}, {"from": "2026-03-25"}]}},
...                           "sites": {"s": "cn"}})
>>> shape = np.zeros(96); shape[36:72] = 1.0                   # open 09:00-18:00
>>> f = LoadForecaster("s", hol)
>>> for i in range(28):
...     d = date(2026, 3, 2) + timedelta(days=i)
...     total = (400 if d.weekday() < 5 else 100) * (0.3 if hol.day_kind("s", d) == "holiday" else 1)
...     _ = f.learn_day(d, total * shape / shape.sum(), handled=total * shape / shape.sum(), handle_s=180 * total * shape / shape.sum())
>>> monday = f.forecast_day(date(2026, 3, 30))
>>> round(monday.offered.sum()), round(float(monday.offered[40]), 2), round(float(monday.aht_s[40]))
(400, 11.11, 180)
>>> round(f.forecast_day(date(2026, 4, 1)).offered.sum())   # an ordinary Wednesday
400
>>> hol.calendars["cn"].holidays[date(2026, 4, 1)] = {"en": "a holiday"}
>>> round(f.forecast_day(date(2026, 4, 1)).offered.sum())   # now a holiday: 0.3 of a Wednesday
120
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping, Optional

import numpy as np

from stream.planning.holidays import HOLIDAY, Holidays

__all__ = ["SLOTS", "DayForecast", "LoadForecaster", "forecast_site", "persistence_of", "reforecast"]

SLOTS = 96


@dataclass
class DayForecast:
    """One local day of one queue: expected offered contacts and AHT (s; NaN where unknown) per slot."""

    offered: np.ndarray
    aht_s: np.ndarray


@dataclass
class _Day:
    offered: np.ndarray
    handled: np.ndarray
    handle_s: np.ndarray


class LoadForecaster:
    """Learns whole days of one queue; forecasts any later day (see the module docstring)."""

    def __init__(
        self,
        site: str = "",
        holidays: Optional[Holidays] = None,
        *,
        memory_days: int = 56,
        halflife_days: float = 21.0,
        level_halflife_days: float = 3.5,
        profile_k: float = float("inf"),
        aht_k: float = float("inf"),
        aht_slot_k: float = 60.0,
        smooth: float = 0.2,
        trend: float = 0.5,
    ) -> None:
        self.site = site
        self.holidays = holidays if holidays is not None else Holidays()
        self.memory_days = memory_days
        self.halflife_days = halflife_days
        self.level_halflife_days = level_halflife_days
        self.profile_k = profile_k
        self.aht_k = aht_k
        self.aht_slot_k = aht_slot_k
        self.smooth = smooth
        self.trend = trend
        self.days: dict[date, _Day] = {}

    # -- learning -----------------------------------------------------------------

    def learn_day(self, d: date, offered, handled=None, handle_s=None) -> "LoadForecaster":
        """Learn one whole local day: offered, handled and handle seconds per slot (arrays of 96)."""
        off = np.asarray(offered, dtype=float)
        if off.shape != (SLOTS,):
            raise ValueError(f"a day has {SLOTS} slots, got shape {off.shape}")
        h = np.zeros(SLOTS) if handled is None else np.asarray(handled, dtype=float)
        hs = np.zeros(SLOTS) if handle_s is None else np.asarray(handle_s, dtype=float)
        self.days[d] = _Day(off, h, hs)
        if len(self.days) > self.memory_days:
            for old in sorted(self.days)[: len(self.days) - self.memory_days]:
                del self.days[old]
        return self

    def kind(self, d: date):
        return self.holidays.day_kind(self.site, d)

    # -- forecasting ------------------------------------------------------------

    def _weights(self, origin: date, halflife: float) -> dict[date, float]:
        return {d: 0.5 ** ((origin - d).days / halflife) for d in self.days}

    def forecast_day(self, d: date, shape_prior: Optional[np.ndarray] = None) -> DayForecast:
        """Expected offered and AHT per slot of local day ``d`` (after the days learnt).

        ``shape_prior``: another intraday shape of the same day (the site's,
        ``site_shape``) that this queue's own shape is shrunk toward, per slot,
        as far as the queue's few contacts cannot tell them apart (``_shrunk``).
        """
        if not self.days:
            return DayForecast(np.zeros(SLOTS), np.full(SLOTS, np.nan))
        base_total, profile, used, r, kinds, w_eff = self._parts(d)
        if shape_prior is not None and used:
            profile = self._shrunk(profile, np.asarray(shape_prior, dtype=float), used, r)
        profile = self._smoothed(profile)
        s = profile.sum()
        offered = base_total * profile / s if s > 0 else np.zeros(SLOTS)
        return DayForecast(offered, self._aht(d, r, kinds, w_eff))

    def shape(self, d: date) -> np.ndarray:
        """The intraday shape (shares of the day per slot, unsmoothed) this queue's forecast of ``d`` uses."""
        if not self.days:
            return np.zeros(SLOTS)
        return self._parts(d)[1]

    def _shrunk(self, own: np.ndarray, prior: np.ndarray, used: list, r) -> np.ndarray:
        """``own`` shrunk toward ``prior`` slot by slot (empirical Bayes, Poisson noise).

        The queue's shape is a share estimated from n_eff contacts (recency
        weighted): its noise variance in a slot is about prior/n_eff. The real
        difference between the shapes is taken as relative, variance
        tau² · prior², tau² being what the observed squared differences leave
        after the noise. A slot keeps of its own share tau²·prior ÷ (tau²·prior + 1/n_eff):
        a big queue keeps its shape, a queue of a few calls a day borrows the site's.
        """
        # Only the slots this queue has been open in (had a contact) borrow: a queue closed at night
        # stays closed, however busy its site is then.
        open_ = sum(self.days[x].offered for x in used) > 0
        prior = np.where(open_, prior, 0.0)
        ps = prior.sum()
        if ps <= 0 or own.sum() <= 0:
            return own
        prior = prior / ps
        tot = np.array([r[x] * float(self.days[x].offered.sum()) for x in used])
        w = np.array([r[x] for x in used])
        n_eff = tot.sum() ** 2 / float((w * tot).sum()) if (w * tot).sum() > 0 else 0.0
        if n_eff <= 0:
            return prior
        m = prior > 0
        num = float(((own[m] - prior[m]) ** 2).sum() - (prior[m] / n_eff).sum())
        tau2 = max(0.0, num / float((prior[m] ** 2).sum()))
        keep = np.where(m, tau2 * prior / (tau2 * prior + 1.0 / n_eff), 1.0)
        out = keep * own + (1 - keep) * prior
        return out / out.sum()

    def _parts(self, d: date):
        """Day ``d``'s total, its unsmoothed shape, the days that shape is from, the recency weights, kinds, weekday."""
        origin = max(self.days) + timedelta(days=1)
        r = self._weights(origin, self.halflife_days)
        q = self._weights(origin, self.level_halflife_days)
        kinds = {x: self.kind(x) for x in self.days}
        ordinary = [x for x in self.days if kinds[x] != HOLIDAY]
        totals = {x: float(self.days[x].offered.sum()) for x in self.days}

        # Weekday factors: recency-weighted mean total per weekday, relative to their mean.
        means: dict[int, float] = {}
        for w in range(7):
            xs = [x for x in ordinary if kinds[x] == w]
            if xs:
                means[w] = sum(r[x] * totals[x] for x in xs) / sum(r[x] for x in xs)
        if not means:
            base_total, w_eff, profile_days = 0.0, None, []
        else:
            avg = sum(means.values()) / len(means)
            factor = {w: (m / avg if avg > 0 else 0.0) for w, m in means.items()}
            # A weekday's own factor is a few days' noise: shrink the full days' factors toward their
            # mean as far as their spread is noise (empirical Bayes: the share of the variance between
            # weekdays that the days within each weekday do not explain).
            top_f = max(factor.values())
            full_w = [w for w, fv in factor.items() if fv >= 0.5 * top_f]
            if len(full_w) >= 2:
                pooled_f = sum(factor[w] for w in full_w) / len(full_w)
                se2 = {}
                for w in full_w:
                    v = [totals[x] / avg for x in ordinary if kinds[x] == w]
                    se2[w] = float(np.var(v, ddof=1)) / len(v) if len(v) >= 2 else np.inf
                finite = [e for e in se2.values() if np.isfinite(e)]
                noise = sum(finite) / len(finite) if finite else np.inf
                tau2 = max(0.0, float(np.var([factor[w] for w in full_w], ddof=1)) - noise) if np.isfinite(noise) else 0.0
                for w in full_w:
                    e = se2[w] if np.isfinite(se2[w]) else noise
                    keep = tau2 / (tau2 + e) if np.isfinite(e) and tau2 + e > 0 else 0.0
                    factor[w] = pooled_f + (factor[w] - pooled_f) * keep
            # Level from days open enough for their ratio to mean something.
            pts = [x for x in ordinary if factor.get(kinds[x], 0) > 0.05]
            lv = [(q[x], totals[x] / factor[kinds[x]]) for x in pts]
            level = sum(a * b for a, b in lv) / sum(a for a, _ in lv) if lv else avg
            if self.trend > 0 and len(pts) >= 7:
                # Trend: the recency-weighted slope of the deseasonalised totals, carried from the level's
                # mean age to the day forecast, scaled by ``trend`` (1: all of it; less: damped).
                age = np.array([(origin - x).days for x in pts], dtype=float)
                val = np.array([b for _, b in lv])
                w = np.array([r[x] for x in pts])
                am = (w * age).sum() / w.sum()
                vm = (w * val).sum() / w.sum()
                var = (w * (age - am) ** 2).sum()
                slope = -(w * (age - am) * (val - vm)).sum() / var if var > 0 else 0.0  # per day, forward in time
                lag = sum(a * (origin - x).days for a, x in zip((a for a, _ in lv), pts)) / sum(a for a, _ in lv)
                level = max(0.0, level + self.trend * slope * (lag + (d - origin).days))
            k = self.kind(d)
            if k == HOLIDAY:
                past = [x for x in self.days if kinds[x] == HOLIDAY and factor.get(x.weekday(), 0) > 0.05]
                if past:
                    ratio = float(np.median([totals[x] / (level * factor[x.weekday()]) for x in past]))
                    base_total = level * factor.get(d.weekday(), 1.0) * ratio
                    w_eff, profile_days = HOLIDAY, past
                else:
                    quiet = min(factor, key=lambda w: factor[w])
                    base_total = level * factor[quiet]
                    w_eff, profile_days = quiet, [x for x in ordinary if kinds[x] == quiet]
            else:
                w_eff = k if k in factor else None
                base_total = level * (factor[k] if k in factor else 1.0)
                profile_days = [x for x in ordinary if kinds[x] == k] if k in factor else ordinary
            # Pool the shape with the full days (a weekday with a factor near the busiest).
            top = max(factor.values())
            full = {w for w, fv in factor.items() if fv >= 0.5 * top}
        profile = self._profile(profile_days, r)
        used = list(profile_days)
        if means and w_eff in full:
            pool = [x for x in ordinary if kinds[x] in full]
            vol = sum(r[x] * totals[x] for x in profile_days)
            pooled = self._profile(pool, r)
            if np.isinf(self.profile_k):
                profile, used = pooled, pool
            else:
                profile = (vol * profile + self.profile_k * pooled) / (vol + self.profile_k)
                used = sorted(set(pool) | set(profile_days))
        return base_total, profile, used, r, kinds, w_eff

    def _profile(self, xs, r) -> np.ndarray:
        acc = np.zeros(SLOTS)
        for x in xs:
            acc += r[x] * self.days[x].offered
        s = acc.sum()
        return acc / s if s > 0 else acc

    def _smoothed(self, p: np.ndarray) -> np.ndarray:
        a = self.smooth
        if a <= 0:
            return p
        out = (1 - 2 * a) * p
        out[1:] += a * p[:-1]
        out[:-1] += a * p[1:]
        # What fell off the day's two ends goes back to them (no volume lost).
        out[0] += a * p[0]
        out[-1] += a * p[-1]
        return out

    def _aht(self, d: date, r, kinds, w_eff) -> np.ndarray:
        h_all = np.zeros(SLOTS)
        hs_all = np.zeros(SLOTS)
        h_w = np.zeros(SLOTS)
        hs_w = np.zeros(SLOTS)
        for x, day in self.days.items():
            h_all += r[x] * day.handled
            hs_all += r[x] * day.handle_s
            if kinds[x] == w_eff:
                h_w += r[x] * day.handled
                hs_w += r[x] * day.handle_s
        if h_all.sum() <= 0:
            return np.full(SLOTS, np.nan)
        mean = hs_all.sum() / h_all.sum()
        by_slot = (hs_all + self.aht_slot_k * mean) / (h_all + self.aht_slot_k)
        if np.isinf(self.aht_k):
            return by_slot
        return (hs_w + self.aht_k * by_slot) / (h_w + self.aht_k)


def forecast_site(forecasters: Mapping[str, LoadForecaster], d: date, pool: bool = True) -> dict[str, DayForecast]:
    """Day ``d`` of every queue of one site, each queue's shape shrunk toward the site's (``pool``).

    The site's shape is its queues' shapes weighted by their day totals: the
    calls of a site follow much the same day, and a queue of a few calls a
    day cannot show its own shape apart from noise (``LoadForecaster._shrunk``
    decides how far, per queue, from its own data only).
    """
    if not pool:
        return {q: f.forecast_day(d) for q, f in forecasters.items()}
    acc = np.zeros(SLOTS)
    for f in forecasters.values():
        if f.days:
            total, shape = f._parts(d)[:2]
            if shape.sum() > 0:
                acc += total * shape / shape.sum()
    prior = acc if acc.sum() > 0 else None
    return {q: f.forecast_day(d, shape_prior=prior) for q, f in forecasters.items()}


def reforecast(
    base: np.ndarray,
    actual: np.ndarray,
    upto: int,
    *,
    prior: float = 20.0,
    recent_slots: int = 8,
    decay_slots: float = 8.0,
    persistence: float = 1.0,
) -> np.ndarray:
    """Today's forecast after its first ``upto`` slots happened: slots ≥ ``upto`` rescaled.

    The ratio of actual to forecast over the last ``recent_slots`` slots and
    over the day before them (each with ``prior`` contacts of "as forecast",
    so a quiet morning does not swing it) scale the rest of the day: the
    recent ratio right after ``upto``, fading into the earlier day's ratio
    with ``decay_slots``. A surge moves the next hours; a level that held all
    day moves the whole rest. Slots before ``upto`` become the actuals.

    ``persistence`` β: each ratio is taken to the power β (0 ≤ β ≤ 1), how
    much of a day's deviation so far carries into its rest; 1 (all of it)
    by default, ``persistence_of`` learns it from past days.

    >>> base = np.full(96, 10.0)
    >>> actual = np.full(96, 10.0); actual[40:44] = 40.0             # a surge 10:00-11:00
    >>> new = reforecast(base, actual, 44)
    >>> bool(new[44] > new[52] > 10.0), round(float(new[95]), 1)     # 11:00 most, 13:00 still up, the evening as before
    (True, 10.0)
    """
    base = np.asarray(base, dtype=float)
    out = base.copy()
    if upto <= 0:
        return out
    actual = np.asarray(actual, dtype=float)
    out[:upto] = actual[:upto]
    lo = max(0, upto - recent_slots)
    # The day's ratio before the recent window: a surge moves the next hours, a level that held all day the rest.
    day_ratio = (actual[:lo].sum() + prior) / (base[:lo].sum() + prior)
    recent_ratio = (actual[lo:upto].sum() + prior) / (base[lo:upto].sum() + prior)
    if persistence != 1.0:
        day_ratio, recent_ratio = day_ratio ** persistence, recent_ratio ** persistence
    lead = np.arange(SLOTS - upto)
    ratio = day_ratio + (recent_ratio - day_ratio) * np.exp(-lead / decay_slots)
    out[upto:] = base[upto:] * ratio
    return out


def persistence_of(pairs, min_days: int = 4) -> float:
    """How much of a day's deviation from its forecast up to a time of day carries into the rest of it.

    ``pairs``: past days' (forecast, actual) arrays of 96 slots each, with the
    slot ``upto`` the reforecast is made at, as ``(forecast, actual, upto)``.
    The slope, through the origin, of log(rest's actual ÷ forecast) on
    log(actual ÷ forecast so far), clipped to 0..1: the least-squares
    persistence of past days (1 with fewer than ``min_days`` days: trust the
    day as ``reforecast`` always did). A quiet morning followed by an
    ordinary afternoon (the bank's 9 February) pulls it down; days whose
    level held all day keep it near 1.

    >>> f = np.ones(96) * 10
    >>> held = [(f, f * k, 40) for k in (0.8, 1.2, 0.9, 1.1)]             # the morning's level held all day
    >>> round(persistence_of(held), 2)
    1.0
    >>> noise = [(f, np.r_[f[:40] * k, f[40:]], 40) for k in (0.8, 1.2, 0.9, 1.1)]   # mornings off, afternoons as forecast
    >>> round(persistence_of(noise), 2)
    0.0
    """
    xs, ys = [], []
    for fc, act, upto in pairs:
        fc = np.asarray(fc, dtype=float)
        act = np.asarray(act, dtype=float)
        a0, f0, a1, f1 = act[:upto].sum(), fc[:upto].sum(), act[upto:].sum(), fc[upto:].sum()
        if min(a0, f0, a1, f1) <= 0:
            continue
        xs.append(np.log(a0 / f0))
        ys.append(np.log(a1 / f1))
    if len(xs) < min_days:
        return 1.0
    x, y = np.array(xs), np.array(ys)
    sxx = float((x * x).sum())
    if sxx <= 0:
        return 1.0
    return float(min(1.0, max(0.0, (x * y).sum() / sxx)))
