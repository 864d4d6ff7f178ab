"""Staffing with Erlang C, exactly as ``metrics.md`` ("Staffing") defines it.

Traffic ``A = calls / interval × AHT`` (Erlangs). With ``N`` agents:

* probability of waiting ``Pw = ErlangC(N, A)``,
* service level ``SL(T) = 1 − Pw·e^(−(N−A)·T/AHT)``,
* average speed of answer ``ASA = Pw·AHT/(N−A)``,
* occupancy ``A/N``.

Required agents: the least ``N > A`` with ``SL(T) ≥ goal`` (and occupancy ≤
``max_occupancy`` when given). Shrinkage ``s`` (breaks, training, absence)
then turns ``N`` into ``ceil(N/(1−s))`` agents to roster. The figures returned
with it (service level, wait probability, ASA, occupancy) are those of the
``N`` agents actually on the phones, i.e. *before* shrinkage: the extra
rostered agents are the ones who will not be there.

When ``agents`` is given and ``N ≤ A``, the queue is unstable (it grows
without bound): ``solve`` then returns service level 0.0, wait probability 1.0,
ASA ``None`` (infinite; JSON null) and occupancy 1.0, without raising.

Pw comes from the Erlang B recursion ``B(k) = A·B(k−1)/(k + A·B(k−1))`` and
``C = N·B/(N − A·(1 − B))``: no factorials or powers, so it is stable for
thousands of Erlangs.

The published example: 100 calls per 30 minutes, AHT 180 s, answer 80% within
20 s.

>>> from stream.planning import staffing
>>> r = staffing.solve(calls=100, interval_min=30, aht_s=180, target_s=20, sl_goal=0.8)
>>> r["agents"]
14
>>> round(r["service_level"], 4), round(r["wait_probability"], 4), round(r["occupancy"], 3)
(0.8884, 0.1741, 0.714)
>>> round(r["asa_s"], 2)
7.84

With 10 agents the queue is unstable (A = 10 Erlangs):

>>> staffing.solve(calls=100, interval_min=30, aht_s=180, target_s=20, agents=10)
{'agents': 10, 'service_level': 0.0, 'wait_probability': 1.0, 'asa_s': None, 'occupancy': 1.0}
"""

from __future__ import annotations

import math
from typing import Optional, Union

from stream.planning.erlang_search import MAX_AGENTS, blocking, least_agents

__all__ = ["traffic", "erlang_b", "erlang_c", "service_level", "asa", "occupancy", "required_agents", "solve"]


def _number(name: str, value: float, *, positive: bool = False) -> float:
    """Reject bools, NaN and infinities with a message naming the argument."""
    t = type(value)
    if (t is float or t is int) and (0 < value < math.inf if positive else 0 <= value < math.inf):
        return float(value)  # the common case, checked in one step (the live advice solves each minute)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def _agents(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"agents must be an integer >= 1, got {n!r}")
    return n


def _fraction(name: str, value: float) -> float:
    """A goal or cap: strictly between 0 and 1 (0 is meaningless, 1 unreachable)."""
    _number(name, value)
    if not 0 < value < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def traffic(calls: float, interval_min: float, aht_s: float) -> float:
    """Offered traffic in Erlangs: arrival rate × AHT."""
    _number("calls", calls)
    _number("interval_min", interval_min, positive=True)
    _number("aht_s", aht_s, positive=True)
    return calls / (interval_min * 60.0) * aht_s


def erlang_b(n: int, a: float) -> float:
    """Erlang B blocking probability for ``n`` servers and ``a`` Erlangs (recursion, stable)."""
    return blocking(_agents(n), _number("traffic", a))


def erlang_c(n: int, a: float) -> float:
    """Probability that a call waits (Erlang C); 1.0 when ``n ≤ a`` (unstable queue)."""
    b = erlang_b(n, a)
    if n <= a:
        return 1.0
    return n * b / (n - a * (1.0 - b))


def service_level(n: int, a: float, aht_s: float, target_s: float) -> float:
    """Fraction answered within ``target_s``: 1 − Pw·e^(−(N−A)·T/AHT); 0.0 when ``n ≤ a``."""
    _number("aht_s", aht_s, positive=True)
    _number("target_s", target_s)
    pw = erlang_c(n, a)
    if n <= a:
        return 0.0
    # Clamp: rounding can push 1 - Pw·e^… a hair outside [0, 1].
    return min(1.0, max(0.0, 1.0 - pw * math.exp(-(n - a) * target_s / aht_s)))


def asa(n: int, a: float, aht_s: float) -> Optional[float]:
    """Average speed of answer in seconds: Pw·AHT/(N−A); None (infinite) when ``n ≤ a``."""
    _number("aht_s", aht_s, positive=True)
    pw = erlang_c(n, a)
    if n <= a:
        return None
    return pw * aht_s / (n - a)


def occupancy(n: int, a: float) -> float:
    """Agent occupancy A/N, capped at 1.0 (an unstable queue keeps every agent busy)."""
    _agents(n)
    _number("traffic", a)
    return min(1.0, a / n)


def required_agents(
    a: float,
    aht_s: float,
    target_s: float,
    sl_goal: float,
    max_occupancy: Optional[float] = None,
) -> int:
    """The least N > A with SL(T) ≥ ``sl_goal`` and, if given, A/N ≤ ``max_occupancy`` (no shrinkage)."""
    a, aht_s, target_s = _number("traffic", a), _number("aht_s", aht_s, positive=True), _number("target_s", target_s)
    sl_goal = _fraction("sl_goal", sl_goal)
    cap = None if max_occupancy is None else _fraction("max_occupancy", max_occupancy)
    # The search (stream.planning.erlang_search, compiled): Pw once per N with the B recursion carried
    # forward, so it is O(N) overall instead of O(N²).
    n = least_agents(a, aht_s, target_s, sl_goal, cap)
    if n == 0:
        raise ValueError(f"no staffing up to {MAX_AGENTS} agents reaches sl_goal {sl_goal!r}")
    return n


def solve(
    *,
    calls: float,
    interval_min: float,
    aht_s: float,
    target_s: float,
    sl_goal: Optional[float] = None,
    agents: Optional[int] = None,
    max_occupancy: Optional[float] = None,
    shrinkage: Optional[float] = None,
) -> dict[str, Union[int, float, None]]:
    """Staff one interval, or evaluate a given staffing.

    Give ``sl_goal`` to get the required agents (then ``max_occupancy`` and
    ``shrinkage`` apply), or ``agents`` to get the figures for that many (then
    neither applies). Returns ``{"agents", "service_level", "wait_probability",
    "asa_s", "occupancy"}``; the fractions are 0..1, and with shrinkage they are
    those of the agents on the phones (before shrinkage), ``agents`` the rostered
    count after it.
    """
    a = traffic(calls, interval_min, aht_s)
    _number("target_s", target_s)
    if shrinkage is not None:
        _number("shrinkage", shrinkage)
        if shrinkage >= 1:
            raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    if max_occupancy is not None:
        _fraction("max_occupancy", max_occupancy)
    if (sl_goal is None) == (agents is None):
        raise ValueError("give exactly one of sl_goal (to find the agents) or agents (to evaluate them)")
    if agents is not None:
        if max_occupancy is not None or shrinkage is not None:
            raise ValueError("max_occupancy and shrinkage apply only with sl_goal, not with agents")
        n = _agents(agents)
        rostered = n
    else:
        n = required_agents(a, aht_s, target_s, sl_goal, max_occupancy)  # type: ignore[arg-type]
        # The epsilon keeps e.g. 14/(1−0.3) = 20.000000000000004 from rounding up to 21.
        rostered = n if not shrinkage else math.ceil(n / (1.0 - shrinkage) - 1e-9)
    return {
        "agents": rostered,
        "service_level": service_level(n, a, aht_s, target_s),
        "wait_probability": erlang_c(n, a),
        "asa_s": asa(n, a, aht_s),
        "occupancy": occupancy(n, a),
    }
