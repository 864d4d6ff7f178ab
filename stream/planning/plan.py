"""The staffing plan: agents (or counters) per queue and 15-minute interval, from a load forecast.

Each forecast interval (``{"site", "queue", "start", "offered", "aht_s"}``)
gets the least agents on the phones that meet the queue's service-level
target (``sl_target_pct`` within ``sl_t_s``, config/floor.yaml), then
shrinkage: ``ceil(n / (1 − shrinkage))`` agents rostered.

* hotline queues: **Erlang A** with the queue's mean patience when one is
  known (``stream.planning.calls.patience``: abandons matter there), else
  Erlang C; the occupancy cap applies to both;
* hall queues: counters from ticket arrivals and service times against the
  hall's wait target (its ``sl_t_s``, 600 s by default) with Erlang C: a
  ticket holder waits in the hall rather than hanging up.

An interval with no forecast contact needs nobody; one whose AHT is unknown
(no handled contact in the history) gets ``agents`` None.

**Pools** (a site's ``pools``, ``stream.planning.pools``: queues answered by
the same people) are planned as one group per interval: their offered
contacts summed, the AHT weighted by the members' offered contacts (over
those with a known AHT), the patience weighted by the members' offered
contacts over all the rows given (over those with a known patience; none
known: Erlang C), one Erlang A solve; ``over="day"`` balances the pool's
day. The target is the members' targets weighted by their offered contacts
over the rows given (the members share T and the short-abandon limit: the
config refuses a pool that mixes them). The rows stay per queue, each with
``"pool"``: the pool's agents are split across its members by workload
(offered × AHT) with the largest remainder, so the rows of one pool and
interval sum to the pool's agents (shrinkage applied to the pool's first).

>>> from stream.contracts.floor_config import FloorConfig
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"queues": {"q": {"sl_target_pct": 80}}}}})
>>> rows = [{"site": "s", "queue": "q", "start": "2026-01-05T09:00:00+00:00", "offered": 50.0, "aht_s": 180.0}]
>>> plan(rows, cfg)[0]["agents"]                                    # Erlang C: 100 calls/30 min needs 14
14
>>> plan(rows, cfg, patience={("s", "q"): 60.0})[0]["agents"]       # impatient callers: Erlang A
11
>>> plan(rows, cfg, shrinkage=0.3)[0]["agents"]
20
"""

from __future__ import annotations

import functools
import heapq
import math
from typing import Iterable, Mapping, Optional

from stream.contracts.floor_config import FloorConfig
from stream.planning import erlang_a, staffing
from stream.planning.pools import members, pool_of, shares
from stream.planning.uncertainty import Spread

__all__ = ["plan", "agents_needed", "target_pct"]

INTERVAL_MIN = 15


def target_pct(config: FloorConfig, site: str, queue: str) -> float:
    """The queue's service-level target in % (config ``sl_target_pct``, 80 by default)."""
    qc = config.site(site).queues.get(queue)
    return qc.sl_target_pct if qc is not None else 80.0


def plan(
    rows: Iterable[Mapping],
    config: FloorConfig,
    *,
    patience: Optional[Mapping[tuple[str, str], Optional[float]]] = None,
    shrinkage: float = 0.0,
    max_occupancy: Optional[float] = None,
    over: str = "interval",
    margin_pct: float = 0.0,
    spread: Optional[Mapping[tuple[str, str], Optional[Spread]]] = None,
    site_margin: Optional[Mapping[str, float]] = None,
) -> list[dict]:
    """Each forecast row with ``agents`` added (rostered, after shrinkage).

    ``over="interval"``: every interval meets the target on its own.
    ``over="day"``: each queue's day meets it (offered-weighted), with agents
    added one at a time where they answer the most contacts within T.
    ``margin_pct``: plan for the target plus this many points (what past
    checks showed the plan falls short by).
    ``spread``: per queue, how far its forecast can be off
    (``stream.planning.uncertainty``): the target is then met in expectation
    over the arrival rate's distribution (the forecast × each of the spread's
    load factors, call-weighted), not at the point forecast.
    ``site_margin``: points added per site on top of ``margin_pct`` (an
    intraday re-plan's ``intraday.recovery_margin``: what the site's day
    still needs after its service level so far).
    """
    if over not in ("interval", "day"):
        raise ValueError(f"over must be 'interval' or 'day', got {over!r}")
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    if max_occupancy is not None and not 0 < max_occupancy < 1:
        raise ValueError(f"max occupancy must be between 0 and 1, got {max_occupancy!r}")
    rows = list(rows)
    units, of_row = _units(rows, config, patience or {}, spread or {})
    pat, spread, target = units.patience, units.spread, units.target
    cache: dict[tuple, int] = {}
    out = []
    site_margin = site_margin or {}
    for r in units.rows:
        site, queue = r["site"], r["queue"]
        offered = float(r["offered"])
        m = margin_pct + site_margin.get(site, 0.0)
        tgt = target.get((site, queue))
        n = agents_needed(config, site, queue, offered, r["aht_s"], pat.get((site, queue)),
                          max_occupancy=max_occupancy, margin_pct=m, cache=cache, target=tgt)
        # Over the day the balance below re-staffs from the traffic up: the interval's own figure only caps its start.
        sp = spread.get((site, queue)) if over == "interval" else None
        if sp is not None and n:
            _, _, goal, hall = _terms(config, site, queue, m, cache, tgt)
            n = _spread_needed(_resolved(config, site, queue), sp, n, offered, float(r["aht_s"]),
                               None if hall else pat.get((site, queue)), goal, cache)
        out.append({"site": site, "queue": queue, "start": r["start"], "offered": r["offered"], "aht_s": r["aht_s"], "agents": n})
    if over == "day":
        _balance_days(out, config, pat, max_occupancy, margin_pct, spread, site_margin, target)
    if shrinkage:
        for r in out:
            if r["agents"] is not None:
                r["agents"] = math.ceil(r["agents"] / (1.0 - shrinkage) - 1e-9)
    return _split(rows, out, of_row, units.pooled)


class _Units:
    """The groups a plan staffs (a pool, or a queue alone), as rows with their patience, spread and target."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.patience: dict[tuple[str, str], Optional[float]] = {}
        self.spread: dict[tuple[str, str], Optional[Spread]] = {}
        self.target: dict[tuple[str, str], float] = {}
        self.pooled: set[int] = set()  # the indices of the rows that are pools


def _units(rows: list[Mapping], config: FloorConfig, patience: Mapping, spread: Mapping) -> tuple[_Units, list[int]]:
    """The rows to solve (a queue alone: its own row as it is; a pool: one row per interval, its members'
    load summed) and, per input row, the index of its unit row."""
    u = _Units()
    at: dict[tuple[str, str, str], int] = {}
    of_row: list[int] = []
    pooled: dict[int, list[Mapping]] = {}
    for r in rows:
        site, queue = r["site"], r["queue"]
        pool = pool_of(config, site, queue)
        if pool is None:
            of_row.append(len(u.rows))
            u.rows.append(r)
            u.patience[(site, queue)] = patience.get((site, queue))
            u.spread[(site, queue)] = spread.get((site, queue))
            continue
        key = (site, pool, str(r["start"]))
        if key not in at:
            at[key] = len(u.rows)
            u.rows.append({"site": site, "queue": pool, "start": r["start"]})
            pooled[at[key]] = []
            u.pooled.add(at[key])
        of_row.append(at[key])
        pooled[at[key]].append(r)
    # Patience and target per pool: its members' weighted by their offered contacts over all the rows given.
    weights: dict[tuple[str, str], list[float]] = {}
    for i, members_rows in pooled.items():
        site, pool = u.rows[i]["site"], u.rows[i]["queue"]
        offered = sum(float(r["offered"] or 0.0) for r in members_rows)
        known = [(float(r["offered"] or 0.0), float(r["aht_s"])) for r in members_rows if r["aht_s"] and r["aht_s"] > 0]
        w = sum(o for o, _ in known)
        aht = sum(o * a for o, a in known) / w if w > 0 else (known[0][1] if known else None)
        u.rows[i].update(offered=offered, aht_s=aht)
        acc = weights.setdefault((site, pool), [0.0, 0.0, 0.0, 0.0])  # patience: sum, weight; target: sum, weight
        for r in members_rows:
            o = float(r["offered"] or 0.0)
            p = patience.get((site, r["queue"]))
            if p is not None:
                acc[0] += o * p
                acc[1] += o
            acc[2] += o * target_pct(config, site, r["queue"])
            acc[3] += o
    for (site, pool), (ps, pw, ts, tw) in weights.items():
        qs = members(config, site, pool)
        known = [patience[(site, q)] for q in qs if patience.get((site, q)) is not None]
        u.patience[(site, pool)] = ps / pw if pw > 0 else (sum(known) / len(known) if known else None)
        u.target[(site, pool)] = ts / tw if tw > 0 else sum(target_pct(config, site, q) for q in qs) / len(qs)
        # The members' forecast errors (learnt per site: the same); the widest where they differ.
        sps = [spread[(site, q)] for q in qs if spread.get((site, q)) is not None]
        u.spread[(site, pool)] = max(sps, key=lambda sp: sp.scale) if sps else None
    return u, of_row


def _split(rows: list[Mapping], solved: list[dict], of_row: list[int], pooled: set[int]) -> list[dict]:
    """Per input row, its plan row: a queue alone its unit's; a pool's member its share of the pool's agents,
    by workload (offered × AHT, the pool's AHT where the member's is unknown)."""
    members_of: dict[int, list[int]] = {}
    for i, k in enumerate(of_row):
        members_of.setdefault(k, []).append(i)
    out: list[Optional[dict]] = [None] * len(rows)
    for k, idx in members_of.items():
        u = solved[k]
        if k not in pooled:
            out[idx[0]] = u
            continue
        n = u["agents"]
        work = [float(rows[i]["offered"] or 0.0) * float(rows[i]["aht_s"] or u["aht_s"] or 0.0) for i in idx]
        got = [n] * len(idx) if n is None else shares(n, work)
        for i, a in zip(idx, got):
            r = rows[i]
            out[i] = {"site": r["site"], "queue": r["queue"], "start": r["start"], "offered": r["offered"],
                      "aht_s": r["aht_s"], "agents": a, "pool": u["queue"]}
    return out  # type: ignore[return-value]


def agents_needed(
    config: FloorConfig,
    site: str,
    queue: str,
    offered: float,
    aht_s: Optional[float],
    patience_s: Optional[float] = None,
    *,
    max_occupancy: Optional[float] = None,
    margin_pct: float = 0.0,
    cache: Optional[dict] = None,
    target: Optional[float] = None,
) -> Optional[int]:
    """One interval's agents on the phones (before shrinkage) for ``offered`` contacts at ``aht_s``: the
    row ``plan`` makes, without a row (what the live staffing advice asks each minute). 0 with no
    contact, None with no handle time; ``patience_s`` is ignored on a hall (Erlang C there).
    ``cache``: a dict kept between calls (the same rounded load is not solved again). ``queue`` may name a
    pool (its members' T and short-abandon limit); ``target``: the target in % (the queue's when None)."""
    if offered <= 0:
        return 0
    if aht_s is None or aht_s <= 0:
        return None
    sl_t_s, short_s, goal, hall = _terms(config, site, queue, margin_pct, cache, target)
    pat = None if hall else patience_s
    # Forecasts are fractional; the figures barely move within 0.01 call or 0.1 s.
    key = (round(offered, 2), round(float(aht_s), 1), pat, sl_t_s, short_s, goal, max_occupancy)
    n = cache.get(key) if cache is not None else None
    if n is None:
        # Erlang A's search starts from the queue's last answer (the next minute's or interval's load is
        # most often like the last): fewer evaluations, the same agents.
        last = ("near", site, queue)
        n = erlang_a.required_agents(
            calls=key[0], interval_min=INTERVAL_MIN, aht_s=key[1], patience_s=pat, target_s=sl_t_s,
            sl_goal=min(goal, 0.999), short_abandon_s=short_s, max_occupancy=max_occupancy,
            near=cache.get(last) if cache is not None and pat is not None else None,
        )
        if cache is not None:
            cache[key] = n
            if pat is not None:
                cache[last] = n
    return n


def _terms(config: FloorConfig, site: str, queue: str, margin_pct: float, cache: Optional[dict],
           target: Optional[float] = None) -> tuple:
    """The queue's (or pool's) terms for a margin: ``(T s, short-abandon s, goal as a fraction, hall?)``, resolved
    once per cache (the live advice asks every queue each minute; ``plan`` asks each row). ``target``: the
    target in % when not the queue's own (a pool's, its members' weighted)."""
    tkey = (site, queue, margin_pct, target)
    terms = cache.get(tkey) if cache is not None else None
    if terms is None:
        q = _resolved(config, site, queue)
        goal = min(99.9, (target_pct(config, site, queue) if target is None else target) + margin_pct) / 100.0
        terms = (q.sl_t_s, q.short_abandon_s, goal, config.site(site).kind == "hall")
        if cache is not None:
            cache[tkey] = terms
    return terms


def _resolved(config: FloorConfig, site: str, queue: str):
    """The queue's metric terms; a pool's are its first member's (the config holds its members' equal)."""
    return config.queue(site, members(config, site, queue)[0])


def _spread_needed(q, sp: Spread, n0: int, offered: float, aht_s: float, pat: Optional[float], goal: float,
                   cache: dict) -> int:
    """``n0`` (the point forecast's agents) moved to meet ``goal`` (the queue's target and margin, as a fraction:
    the caller's) in expectation over ``sp``'s load factors; ``q`` the queue's config, ``pat`` None on a hall."""
    key = ("spread", round(offered, 2), round(aht_s, 1), pat, q.sl_t_s, q.short_abandon_s, goal, sp)
    n = cache.get(key)
    if n is None:
        n = cache[key] = _required_over(sp, n0, key[1], key[2], pat, q, min(goal, 0.999))
    return n


@functools.lru_cache(maxsize=200_000)
def _sl(n: int, calls: float, aht_s: float, pat: Optional[float], target_s: float, short_abandon_s: float) -> float:
    """One interval's service level (Erlang A, or C without patience; 0 at or past the traffic under C)."""
    if pat is None and n <= staffing.traffic(calls, INTERVAL_MIN, aht_s):
        return 0.0
    return erlang_a.solve(agents=n, calls=calls, interval_min=INTERVAL_MIN, aht_s=aht_s, patience_s=pat,
                          target_s=target_s, short_abandon_s=short_abandon_s)["service_level"]


def _expected_sl(n: int, calls: float, aht_s: float, pat: Optional[float], q, factors) -> float:
    """The call-weighted service level of ``n`` agents over the load factors (``Spread.factors``)."""
    num = den = 0.0
    for r, p in factors:
        c = calls * r
        num += p * c * _sl(n, round(c, 2), round(aht_s, 1), pat, q.sl_t_s, q.short_abandon_s)
        den += p * c
    return num / den if den > 0 else 1.0


def _required_over(sp: Spread, n0: int, calls: float, aht_s: float, pat: Optional[float], q, goal: float) -> int:
    """The least agents whose expected service level over ``sp``'s load factors meets ``goal`` (from ``n0`` up)."""
    factors = sp.factors()
    n = max(1, n0)
    while n > 1 and _expected_sl(n - 1, calls, aht_s, pat, q, factors) >= goal:
        n -= 1
    while _expected_sl(n, calls, aht_s, pat, q, factors) < goal and n < 100 * (n0 + 1):
        n += 1
    return n


def _balance_days(rows: list[dict], config: FloorConfig, patience: Mapping, max_occupancy: Optional[float],
                  margin_pct: float = 0.0, spread: Optional[Mapping] = None,
                  site_margin: Optional[Mapping[str, float]] = None, target: Optional[Mapping] = None) -> None:
    """Re-staff each queue-day (pool-day: ``rows`` are the plan's units) so that its offered-weighted service level meets the target at the least agents.

    Greedy marginal allocation: from the least agents each interval can
    have (its traffic, or the occupancy cap's minimum), the next agent goes
    where it adds the most contacts answered within T; stop once the day's
    expected service level reaches the target. The service level is concave
    in agents past the traffic, so the greedy choice is the best for its count.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        if r["agents"]:
            groups.setdefault((r["site"], r["queue"], str(r["start"])[:10]), []).append(r)
    for (site, queue, _), g in groups.items():
        q = _resolved(config, site, queue)
        _, _, goal, hall = _terms(config, site, queue, margin_pct + (site_margin or {}).get(site, 0.0), None,
                                  (target or {}).get((site, queue)))
        pat = None if hall else patience.get((site, queue))
        sp = (spread or {}).get((site, queue))
        factors = sp.factors() if sp is not None else None
        memo: dict[tuple[int, int], float] = {}

        def sl(i: int, n: int) -> float:
            v = memo.get((i, n))
            if v is None:
                r = g[i]
                if factors is not None:
                    v = _expected_sl(n, float(r["offered"]), float(r["aht_s"]), pat, q, factors)
                elif pat is None and n <= staffing.traffic(float(r["offered"]), INTERVAL_MIN, float(r["aht_s"])):
                    v = 0.0
                else:
                    v = erlang_a.solve(agents=n, calls=float(r["offered"]), interval_min=INTERVAL_MIN, aht_s=float(r["aht_s"]),
                                       patience_s=pat, target_s=q.sl_t_s, short_abandon_s=q.short_abandon_s)["service_level"]
                memo[(i, n)] = v
            return v

        weights = [float(r["offered"]) for r in g]
        total = sum(weights)
        n = []
        for r in g:
            a = staffing.traffic(float(r["offered"]), INTERVAL_MIN, float(r["aht_s"]))
            lo = max(1, math.floor(a) if pat is not None else math.floor(a) + 1)
            if max_occupancy is not None:
                lo = max(lo, math.ceil(a / max_occupancy))
            n.append(min(lo, r["agents"]))
        got = sum(w * sl(i, k) for i, (w, k) in enumerate(zip(weights, n)))
        heap = [(-(weights[i] * (sl(i, n[i] + 1) - sl(i, n[i]))), i) for i in range(len(g))]
        heapq.heapify(heap)
        while got < goal * total and heap:
            gain, i = heapq.heappop(heap)
            n[i] += 1
            got += -gain
            heapq.heappush(heap, (-(weights[i] * (sl(i, n[i] + 1) - sl(i, n[i]))), i))
        for r, k in zip(g, n):
            r["agents"] = k
