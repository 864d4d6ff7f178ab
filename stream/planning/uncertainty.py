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

__all__ = ["Spread", "day_spread", "rest_spread", "MIN_DAYS"]

# Fewest past errors a spread is learnt from: a t with one degree has no mean,
# and its bins' means (``factors``) need more than one.
MIN_DAYS = 3
FACTORS = 9


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


def day_spread(pairs: Iterable[tuple[float, float]]) -> Optional[Spread]:
    """The spread of day-ahead forecasts from past days' ``(forecast total, actual total)``; None with too few."""
    e2 = []
    for f, a in pairs:
        if f > 0 and a > 0:
            e2.append(math.log(a / f) ** 2 - 1.0 / f)
    if len(e2) < MIN_DAYS:
        return None
    return Spread(scale=math.sqrt(max(0.0, sum(e2) / len(e2))), dof=float(len(e2)), days=len(e2))


def rest_spread(pairs: Sequence[tuple[float, float, float, float]], x_today: float) -> Optional[Spread]:
    """The spread of today's reforecast of the rest of the day, from past days at the same time of day.

    ``pairs``: per past day ``(log(so far actual ÷ forecast), rest actual,
    rest reforecast, rest forecast)``, the reforecast made with the
    persistence fitted to these days; ``x_today``: today's log ratio so far.
    """
    xs, e2 = [], []
    for x, a1, r1, f1 in pairs:
        if a1 > 0 and r1 > 0:
            xs.append(x)
            e2.append(math.log(a1 / r1) ** 2 - 1.0 / r1)
    n = len(e2)
    if n < MIN_DAYS + 1:
        return None
    s2 = max(0.0, sum(e2) / (n - 1))
    sxx = sum(x * x for x in xs)
    lever = x_today * x_today / sxx if sxx > 0 else 0.0
    return Spread(scale=math.sqrt(s2 * (1.0 + lever)), dof=float(n - 1), days=n)
