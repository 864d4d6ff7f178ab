"""``floorwatch report --redis``: the live day-to-date report, read back from Redis.

Built from the per-site day sums the workers keep (``fw:report:{site}``) and
the rejections per partition (``fw:rejected``), by the same ``build_report``
the in-process replay uses, so both print identical JSON for the same events.
"""

from __future__ import annotations

from typing import Optional

import orjson

from stream.runtime.redis_keys import Keys
from stream.fold.report import build_report, merge_rejected, stats_from_sums


async def read_report(redis, prefix: Optional[str] = None) -> dict:
    """The report from a ``redis.asyncio.Redis`` holding floorwatch's keys."""
    k = Keys(prefix)
    sites = sorted(s.decode() if isinstance(s, bytes) else s for s in await redis.hkeys(k.sites))
    per_site = {}
    if sites:
        values = await redis.mget([k.report(s) for s in sites])
        for site, raw in zip(sites, values):
            if raw is None:
                continue
            days = orjson.loads(raw)["days"]
            per_site[site] = {d: {q: stats_from_sums(v) for q, v in qs.items()} for d, qs in days.items()}
    rejected = merge_rejected([orjson.loads(v) for v in (await redis.hgetall(k.rejected)).values()])
    return build_report(per_site, rejected)


def report_from_redis(redis_url: str, prefix: Optional[str] = None) -> dict:
    """Synchronous wrapper for the CLI."""
    import asyncio

    import redis.asyncio as aioredis

    async def go() -> dict:
        r = aioredis.from_url(redis_url)
        try:
            return await read_report(r, prefix)
        finally:
            await r.aclose()

    return asyncio.run(go())
