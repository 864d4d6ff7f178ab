"""An exponentially weighted mean whose state is one float (river's ``EWMean``, restorable), and a slot's ratio of two."""

from __future__ import annotations

from typing import Optional

from river import stats


def ew(alpha: float, value: Optional[float] = None) -> stats.EWMean:
    """A river ``EWMean`` with weight ``alpha`` on each new value, optionally restored at ``value``.

    river's first update sets the mean to the value itself, so one update with
    the saved mean restores the statistic exactly.
    """
    m = stats.EWMean(fading_factor=alpha)
    if value is not None:
        m.update(value)
    return m


def value(m: Optional[stats.EWMean]) -> Optional[float]:
    return None if m is None else float(m.get())


def squash(llr: float) -> float:
    """A CUSUM of log-likelihood ratios (>= 0) to [0, 1): ``S / (1 + S)``.

    0.5 is S = 1, 0.9 is S = 9 (the anomalous model explains the data e^9 ≈
    8000 times better). Not ``1 − e^−S``: that rounds to 1.0 from S ≈ 37 and
    a huge spike could no longer outrank a mild one.
    """
    return llr / (1.0 + llr) if llr > 0 else 0.0


def learn(m: stats.EWMean, x: float, seen: int) -> None:
    """Update ``m`` with ``x``, as a plain mean while it has seen fewer than 1/alpha values.

    A fixed small weight makes a young mean crawl from its first value, and a
    detector then "detects" its own convergence. With weight max(alpha,
    1/(seen+1)) the first values are averaged. river's ``EWMean`` has a fixed
    weight, so the value is stretched to give the same step.
    """
    a = m.fading_factor
    if a <= 0:
        return  # a frozen mean (weight 0) learns nothing
    eff = max(a, 1.0 / (seen + 1))
    if eff == a:
        m.update(x)
    else:
        cur = m.get()
        m.update(cur + (eff / a) * (x - cur))


def learn_ratio_slot(slots: dict, slot: str, num: float, den: float, alpha: float) -> None:
    """Learn a visit into ``slots[slot]`` = [mean numerator, mean denominator, visits] (a rate's slot of
    the day: abandons and offered, abandons and seconds waited): weight ``alpha`` a visit, a plain
    mean while it has seen fewer than 1/alpha.

    >>> slots = {}
    >>> for num, den in ((2, 10), (4, 30), (0, 20)):
    ...     learn_ratio_slot(slots, "9", num, den, 0.1)
    >>> slots
    {'9': [2.0, 20.0, 3]}
    """
    got = slots.get(slot)
    if got is None:
        slots[slot] = [num, den, 1]
        return
    a = max(alpha, 1.0 / (got[2] + 1))
    got[0] += a * (num - got[0])
    got[1] += a * (den - got[1])
    got[2] += 1
