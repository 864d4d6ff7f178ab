"""How far a load forecast can be off: the spread of the arrival rate, learnt from the forecast's own past errors.

A staffing plan made for the point forecast assumes the forecast is the
rate; it is not, and an under-forecast costs more service level than an
over-forecast gives back (the service level is concave in the load past a
point). Staffing against the *distribution* of the arrival rate is the
textbook answer (Whitt 2006, "Staffing a call center with uncertain arrival
rate and absenteeism"; Steckley, Henderson & Mehrotra 2009; Gans et al.
2015): here the day's rate is the forecast × R, log R a Student-t whose
scale is what the forecast's past errors show and whose degrees of freedom
are the number of past days behind that estimate, so a forecast with little
history has heavy tails and a plan from it carries more agents.

* ``day_spread``: the errors of past *day-ahead* forecasts: for each past
  day, log(actual ÷ forecast) of the site's day total, the forecast made
  the evening before from the days before it (what ``outlook`` does);
  scale² = their mean square less the Poisson part (1/forecast: Erlang
  already draws the calls at random around the rate); t with n degrees.
* ``rest_spread``: the errors of past *intraday reforecasts* made at the
  same time of day with the same persistence (``forecast.reforecast``):
  log(rest of day's actual ÷ reforecast); the persistence is fitted to
  those days, so the spread is the regression's prediction error:
  scale²·(1 + x²/Σx²), x = log(today so far ÷ forecast), with n − 1 degrees
  (a morning unlike any seen before is an extrapolation, and said so).

The median of R is 1: the forecast is taken as unbiased, its errors give
only the spread. ``Spread.factors`` gives ``k`` equally likely load factors,
each the conditional mean of its t-bin (so the tails count in full); the
planner (``stream.planning.plan``) meets the target in expectation over them.

>>> s = Spread(scale=0.15, dof=20.0, days=20)
>>> [round(r, 3) for r, _ in s.factors(5)]
[0.802, 0.922, 1.0, 1.085, 1.246]
>>> day_spread([(100.0, 100.0), (100.0, 120.0)]) is None          # too few days to say
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
from scipy import stats

__all__ = ["Spread", "day_spread", "rest_spread", "pooled_scale", "MIN_DAYS", "POOL_DAYS"]

# Fewest past errors a spread is learnt from: a t with one degree has no mean,
# and its bins' means (``factors``) need more than one.
MIN_DAYS = 3
FACTORS = 9
# What the pooled scale (all the site's past days, ``pooled_scale``) is worth, in days of the kind: a kind
# with no past day plans with the pooled scale, one with many with its own (partial pooling).
POOL_DAYS = 3.0


@dataclass(frozen=True)
class Spread:
    """log R ~ scale · t(dof): the multiplicative error of a load forecast; ``days`` behind it."""

    scale: float
    dof: float
    days: int

    def factors(self, k: int = FACTORS) -> list[tuple[float, float]]:
        """``k`` equally likely load factors (each bin's conditional mean of t, exponentiated) and their weight."""
        if self.scale <= 0:
            return [(1.0, 1.0)]
        nu = self.dof
        edges = stats.t.ppf(np.linspace(0.0, 1.0, k + 1), nu)
        # ∫ z f(z) dz over [a, b] for t(ν) is [−(ν + z²)/(ν − 1) · f(z)] from a to b (ν > 1).
        g = np.where(np.isfinite(edges), -(nu + np.where(np.isfinite(edges), edges, 0.0) ** 2) / (nu - 1) * stats.t.pdf(edges, nu), 0.0)
        z = (g[1:] - g[:-1]) * k
        return [(math.exp(self.scale * float(x)), 1.0 / k) for x in z]


def pooled_scale(errors: Iterable[float]) -> Optional[float]:
    """A robust scale of log errors pooled over *all* past days (any kind): 1.4826 × the median |error|.

    The pool holds the cold starts too (a first Friday forecast as an
    ordinary weekday came at 0.30 of it): the median, not the mean square,
    so one such day does not set every other day's spread. None without errors.
    """
    e = sorted(abs(x) for x in errors)
    if not e:
        return None
    return 1.4826 * float(np.median(e))


def _pooled(e2: list[float], prior: Optional[float], lost: int = 0) -> Optional[Spread]:
    """Partial pooling: the kind's mean square error shrunk toward ``prior``² worth ``POOL_DAYS`` days.

    ``lost``: degrees of freedom the kind's own estimate spends (a fitted
    persistence). With no prior the old rule holds: too few days, no spread.
    """
    n = len(e2)
    if prior is None:
        if n < MIN_DAYS + lost:
            return None
        return Spread(scale=math.sqrt(max(0.0, sum(e2) / (n - lost))), dof=float(n - lost), days=n)
    k = POOL_DAYS
    s2 = (sum(e2) + k * prior * prior) / (max(0, n - lost) + k)
    return Spread(scale=math.sqrt(max(0.0, s2)), dof=float(max(0, n - lost) + k), days=n)


def day_spread(pairs: Iterable[tuple[float, float]], prior: Optional[float] = None) -> Optional[Spread]:
    """The spread of day-ahead forecasts from past days' ``(forecast total, actual total)``.

    ``prior``: the pooled scale of all the site's past days
    (``pooled_scale``): the days of the kind are shrunk toward it (with none,
    the spread *is* the pooled one, with ``POOL_DAYS`` degrees of freedom);
    without a prior, None with fewer than ``MIN_DAYS`` days.
    """
    e2 = []
    for f, a in pairs:
        if f > 0 and a > 0:
            e2.append(math.log(a / f) ** 2 - 1.0 / f)
    return _pooled(e2, prior)


def rest_spread(pairs: Sequence[tuple[float, float, float, float]], x_today: float,
                prior: Optional[float] = None, prior_x: float = 0.0) -> Optional[Spread]:
    """The spread of today's reforecast of the rest of the day, from past days at the same time of day.

    ``pairs``: per past day ``(log(so far actual ÷ forecast), rest actual,
    rest reforecast, rest forecast)``, the reforecast made with the
    persistence fitted to these days; ``x_today``: today's log ratio so far.
    ``prior``: the pooled scale of all past days' reforecast errors (partial
    pooling as in ``day_spread``), ``prior_x`` their mornings' pooled scale
    (the pooled days count in the leverage as ``POOL_DAYS`` mornings of it).
    """
    xs, e2 = [], []
    for x, a1, r1, f1 in pairs:
        if a1 > 0 and r1 > 0:
            xs.append(x)
            e2.append(math.log(a1 / r1) ** 2 - 1.0 / r1)
    base = _pooled(e2, prior, lost=1 if e2 else 0)
    if base is None:
        return None
    sxx = sum(x * x for x in xs) + (POOL_DAYS * prior_x * prior_x if prior is not None else 0.0)
    lever = x_today * x_today / sxx if sxx > 0 else 0.0
    return Spread(scale=base.scale * math.sqrt(1.0 + lever), dof=base.dof, days=base.days)
