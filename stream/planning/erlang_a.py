"""Erlang A (M/M/n+M, Palm's queue): staffing when callers hang up.

Arrivals Poisson at rate λ, service exponential with mean AHT (μ = 1/AHT), n
agents, and each waiting caller abandons after an exponential patience of
mean ``patience_s`` (θ = 1/patience). Erlang C is the case θ = 0; with
abandons, the same agents give a better service level to those who stay, so
Erlang C over-staffs a queue whose callers are impatient (Mandelbaum &
Zeltyn; Brown et al. 2005 estimate the Anonymous Bank's patience this way).

Computed exactly from the birth-death chain (states k = 0..n+J, death rate
min(k,n)μ + max(k−n,0)θ, truncated where the tail is below 1e-15), and, for
the waits, from the chain an arriving caller sees (PASTA): with m callers
ahead, the line ahead moves at rate nμ + mθ while the caller's own patience
runs at rate θ. Uniformisation of that small chain gives, for every m at
once, the chance of being answered within T and of abandoning within the
short-abandon limit.

The figures follow ``metrics.md``: service level = answered within T ÷
(offered − short abandons); abandon rate = (abandons − short) ÷ (offered −
short); ASA = mean wait of the answered; occupancy = answered traffic ÷ n.

>>> r = solve(agents=14, calls=100, interval_min=30, aht_s=180, patience_s=446, target_s=20)
>>> round(r["service_level"], 3), round(r["abandon_probability"], 4)
(0.911, 0.0108)
>>> c = solve(agents=14, calls=100, interval_min=30, aht_s=180, patience_s=None, target_s=20)   # Erlang C
>>> round(c["service_level"], 4), round(c["wait_probability"], 4)
(0.8884, 0.1741)
>>> required_agents(calls=100, interval_min=30, aht_s=180, patience_s=60, target_s=20, sl_goal=0.8)
12
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from stream.planning import staffing

__all__ = ["solve", "required_agents"]

_TAIL = 1e-15
_MAX_J = 400_000


def _queue_distribution(n: int, lam: float, mu: float, theta: float) -> tuple[float, np.ndarray]:
    """(P(fewer than n in system), π_{n+j} for j = 0..J): the stationary law, normalised."""
    a = lam / mu
    # log π_k for k = 0..n (unnormalised, π_0 = 1): k·log a − log k!
    ks = np.arange(n + 1)
    if a > 0:
        low = ks * math.log(a) - np.array([math.lgamma(k + 1) for k in ks])
    else:
        low = np.where(ks == 0, 0.0, -np.inf)
    log_pn = low[-1]
    # Queue part: π_{n+j} = π_n Π_{i=1..j} λ/(nμ + iθ), grown until its terms are negligible.
    if lam <= 0:
        tail = np.array([log_pn])
    else:
        if theta <= 0 and lam >= n * mu:
            raise ValueError("unstable queue: no abandons and traffic >= agents")
        J = 256
        while True:
            i = np.arange(1, J + 1)
            steps = math.log(lam) - np.log(n * mu + i * theta)
            tail = log_pn + np.concatenate(([0.0], np.cumsum(steps)))
            top = max(low.max(), tail.max())
            if tail[-1] - top < math.log(_TAIL) and steps[-1] < 0 or J >= _MAX_J:
                break
            J *= 2
    top = max(low.max(), tail.max())
    p_low = np.exp(low[:-1] - top)  # k < n
    p_q = np.exp(tail - top)  # k = n + j
    z = p_low.sum() + p_q.sum()
    return float(p_low.sum() / z), p_q / z


def _absorption(n_mu: float, theta: float, J: int, t: float, abandon: bool) -> np.ndarray:
    """For m = 0..J callers ahead: P(answered by t) (or, ``abandon``, P(own abandon by t))."""
    if t <= 0:
        return np.zeros(J + 1)
    m = np.arange(J + 1)
    lam_u = n_mu + (J + 1) * theta
    if lam_u <= 0:
        return np.zeros(J + 1)
    pa = (n_mu + m * theta) / lam_u  # the line ahead moves (m → m−1, or answered at m = 0)
    pab = theta / lam_u  # the caller's own patience runs out
    ps = 1.0 - pa - pab
    x = lam_u * t
    kmax = int(x + 8 * math.sqrt(x) + 20)
    # Poisson(x) weights in log space (x can be large when θ is).
    ks = np.arange(kmax + 1)
    logw = ks * math.log(x) - x - np.array([math.lgamma(k + 1) for k in ks]) if x > 0 else np.where(ks == 0, 0.0, -np.inf)
    w = np.exp(logw)
    # One step k: cur[m] ← pa[m]·cur[m−1] + ps[m]·cur[m] (+ pab), with cur[−1] the edge: "one step past
    # m = 0" (answered; for abandons, 0). cur lives in buf[1:] behind the edge, so buf[:-1] is it shifted
    # by one; each step writes into buffers kept across steps (the advice solves this every minute).
    buf = np.zeros(J + 2)
    buf[0] = 0.0 if abandon else 1.0
    prev, cur = buf[:-1], buf[1:]
    t1, t2 = np.empty(J + 1), np.empty(J + 1)
    acc = w[0] * cur
    for k in range(1, kmax + 1):
        np.multiply(pa, prev, out=t1)
        np.multiply(ps, cur, out=t2)
        np.add(t1, t2, out=cur)
        if abandon:
            np.add(cur, pab, out=cur)
        np.multiply(cur, w[k], out=t1)
        np.add(acc, t1, out=acc)
    return np.clip(acc, 0.0, 1.0)


def solve(
    *,
    agents: int,
    calls: float,
    interval_min: float,
    aht_s: float,
    patience_s: Optional[float],
    target_s: float,
    short_abandon_s: float = 0.0,
) -> dict:
    """Figures of ``agents`` on a queue (``patience_s`` None: infinite patience, i.e. Erlang C).

    Returns ``{"agents", "service_level", "wait_probability",
    "abandon_probability", "asa_s", "occupancy"}`` (fractions 0..1).
    """
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 1:
        raise ValueError(f"agents must be an integer >= 1, got {agents!r}")
    a = staffing.traffic(calls, interval_min, aht_s)
    if patience_s is not None and (not math.isfinite(patience_s) or patience_s <= 0):
        raise ValueError(f"patience_s must be > 0 (or None for infinite), got {patience_s!r}")
    if patience_s is None or patience_s == math.inf:
        if agents <= a:
            return {"agents": agents, "service_level": 0.0, "wait_probability": 1.0, "abandon_probability": 0.0,
                    "asa_s": None, "occupancy": 1.0}
        theta = 0.0
    else:
        theta = 1.0 / patience_s
    lam = calls / (interval_min * 60.0)
    mu = 1.0 / aht_s
    n = agents
    p_free, pq = _queue_distribution(n, lam, mu, theta)
    J = len(pq) - 1
    j = np.arange(J + 1)
    n_mu = n * mu
    wait_p = float(pq.sum())
    p_ab = float(theta * (j * pq).sum() / lam) if lam > 0 and theta > 0 else 0.0
    within = p_free + float((pq * _absorption(n_mu, theta, J, target_s, False)).sum())
    short = float((pq * _absorption(n_mu, theta, J, short_abandon_s, True)).sum()) if theta > 0 else 0.0
    # E[wait; answered] with m ahead: nμ/(nμ+(m+1)θ) · Σ_{i≤m} 1/(nμ+(i+1)θ)  (exponential tilting).
    ew = n_mu / (n_mu + (j + 1) * theta) * np.cumsum(1.0 / (n_mu + (j + 1) * theta))
    served = 1.0 - p_ab
    base = 1.0 - short
    return {
        "agents": n,
        "service_level": min(1.0, within / base) if base > 0 else 0.0,
        "wait_probability": wait_p,
        "abandon_probability": max(0.0, (p_ab - short) / base) if base > 0 else 0.0,
        "asa_s": float((pq * ew).sum() / served) if served > 0 else None,
        "occupancy": min(1.0, lam * served / n_mu) if n_mu > 0 else 0.0,
    }


def required_agents(
    *,
    calls: float,
    interval_min: float,
    aht_s: float,
    patience_s: Optional[float],
    target_s: float,
    sl_goal: float,
    short_abandon_s: float = 0.0,
    max_occupancy: Optional[float] = None,
    near: Optional[int] = None,
) -> int:
    """The least agents with service level ≥ ``sl_goal`` (and occupancy ≤ the cap); 0 with no calls.

    Erlang C's answer bounds it from above (abandons only help those who
    stay), so a bisection below it needs a handful of evaluations. ``near``:
    an answer likely close (the same queue's last one: the live advice solves
    each queue every minute, a plan interval after interval); the search
    steps out from it, doubling, before it bisects, so a load like the last
    costs two evaluations instead of six or more. The service level only
    grows with agents, so the answer is the same wherever the search starts.
    """
    if calls <= 0:
        return 0
    a = staffing.traffic(calls, interval_min, aht_s)
    hi = staffing.required_agents(a, aht_s, target_s, sl_goal, max_occupancy)
    if patience_s is None:
        return hi

    def ok(n: int) -> bool:
        r = solve(agents=n, calls=calls, interval_min=interval_min, aht_s=aht_s, patience_s=patience_s,
                  target_s=target_s, short_abandon_s=short_abandon_s)
        return r["service_level"] >= sl_goal and (max_occupancy is None or r["occupancy"] <= max_occupancy)

    lo = 0  # not enough (an interval with calls needs at least one agent)
    if near is not None and lo < near < hi:
        # Bracket the answer from ``near``: down while enough, else up while not, the step doubling.
        step, down = 1, ok(near)
        lo, hi = (lo, near) if down else (near, hi)
        while hi - lo > step:
            probe = hi - step if down else lo + step
            if ok(probe) != down:
                lo, hi = (probe, hi) if down else (lo, probe)
                break
            lo, hi = (lo, probe) if down else (probe, hi)
            step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
