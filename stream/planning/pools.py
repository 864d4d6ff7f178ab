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
"""

from __future__ import annotations

from stream.contracts.floor_config import FloorConfig

__all__ = ["unit", "members", "pooled"]


def unit(config: FloorConfig, site: str, queue: str) -> str:
    """The group ``queue`` is staffed in: its pool's name, else the queue itself."""
    for name, queues in config.site(site).pools.items():
        if queue in queues:
            return name
    return queue


def members(config: FloorConfig, site: str, group: str) -> list[str]:
    """The queues of ``group`` (a pool's, else ``[group]``)."""
    return list(config.site(site).pools.get(group) or [group])


def pooled(config: FloorConfig) -> bool:
    """Whether any site declares a pool."""
    return any(s.pools for s in config.sites.values())
