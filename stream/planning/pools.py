"""Pools: the queues a site's people serve together, and so are staffed together.

A site's ``pools`` (config/floor.yaml, ``SiteConfig.pools``) name groups of
queues answered by the same people (a bank whose agents take regular,
trading and new-customer calls alike; a hall whose counters serve several
kinds of ticket). The plan, its check and the roster staff each pool as one
group; a queue in no pool is its own group. ``unit`` names the group a
queue is staffed in; ``members`` lists a group's queues.

>>> from stream.contracts.floor_config import FloorConfig
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"pools": {"floor": ["a", "b"]}}}})
>>> unit(cfg, "s", "a"), unit(cfg, "s", "b"), unit(cfg, "s", "c")
('floor', 'floor', 'c')
>>> members(cfg, "s", "floor"), members(cfg, "s", "c")
(['a', 'b'], ['c'])

``combine`` is one interval's load of a pool, as one Erlang A sees it: the
members' offered contacts summed, their handle time, patience and service-level
target weighted by offered contacts (a member with none adds nothing to them):

>>> combine([(30.0, 200.0, 100.0, 80.0), (10.0, 400.0, None, 90.0)])   # a: 80 % target, b: 90 %
(40.0, 250.0, 100.0, 82.5)
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

from stream.contracts.floor_config import FloorConfig

__all__ = ["unit", "members", "pooled", "pool_of", "shares", "workload", "combine"]


def unit(config: FloorConfig, site: str, queue: str) -> str:
    """The group ``queue`` is staffed in: its pool's name, else the queue itself."""
    return pool_of(config, site, queue) or queue


def members(config: FloorConfig, site: str, group: str) -> list[str]:
    """The queues of ``group`` (a pool's, else ``[group]``)."""
    return list(config.site(site).pools.get(group) or [group])


def pooled(config: FloorConfig) -> bool:
    """Whether any site declares a pool."""
    return any(s.pools for s in config.sites.values())


def workload(row) -> float:
    """A plan row's workload, offered × AHT (0 without either): what a pool's agents are split by."""
    return float(row.get("offered") or 0.0) * float(row.get("aht_s") or 0.0)


def combine(
    loads: Iterable[tuple[float, Optional[float], Optional[float], float]]
) -> tuple[float, Optional[float], Optional[float], float]:
    """One interval of a pool as one queue: ``loads`` are its members' ``(offered, AHT s, patience s, target %)``
    (None: unknown); gives ``(offered, AHT s, patience s, target %)``, offered summed and the rest
    weighted by offered over the members that know them. AHT None when no member with contacts knows
    it; patience None (Erlang C) when none does; the target is the members' plain mean with no contact.
    """
    offered = aht_w = aht_n = pat_w = pat_n = tgt_w = 0.0
    targets = []
    for off, aht, pat, tgt in loads:
        targets.append(tgt)
        off = max(0.0, float(off))
        offered += off
        tgt_w += off * tgt
        if aht is not None and aht > 0 and off > 0:
            aht_w, aht_n = aht_w + off * aht, aht_n + off
        if pat is not None and pat > 0 and off > 0:
            pat_w, pat_n = pat_w + off * pat, pat_n + off
    target = tgt_w / offered if offered > 0 else (sum(targets) / len(targets) if targets else 80.0)
    return (offered, aht_w / aht_n if aht_n else None, pat_w / pat_n if pat_n else None, target)


def pool_of(config: FloorConfig, site: str, queue: str) -> Optional[str]:
    """The pool ``queue`` is in, None when it is staffed alone."""
    for name, queues in config.site(site).pools.items():
        if queue in queues:
            return name
    return None


def shares(n: int, weights: Sequence[float]) -> list[int]:
    """``n`` agents split in proportion to ``weights`` (each member's workload), by largest remainder: the
    shares sum to ``n`` exactly; ties go to the larger weight, then to the earlier member. All weights 0:
    equal weights.

    >>> shares(7, [300.0, 100.0, 0.0]), shares(3, [1.0, 1.0, 1.0, 1.0]), shares(2, [0.0, 0.0])
    ([5, 2, 0], [1, 1, 1, 0], [1, 1])
    """
    w = [max(0.0, float(x)) for x in weights]
    total = sum(w)
    if total <= 0:
        w, total = [1.0] * len(w), float(len(w))
    quota = [n * x / total for x in w]
    out = [math.floor(q + 1e-9) for q in quota]
    order = sorted(range(len(w)), key=lambda i: (-(quota[i] - out[i]), -w[i], i))
    for i in order[: n - sum(out)]:
        out[i] += 1
    return out
