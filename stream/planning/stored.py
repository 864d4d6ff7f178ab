"""Per-interval actuals from the history store (``stream.history``): the production source of forecasts.

The workers keep every sealed 15-minute interval's sums in the history
database (docs/history.md); this reads a site's recent ones back into the
same ``QueueHistory`` arrays a replayed log gives (``stream.planning.actuals``):
offered, handled and handle seconds per local day and slot. The slot is the
row's local start (its stored UTC offset), so DST days land as they were
lived. The store keeps no abandoned waits, so patience cannot be estimated
from it: plans made from the store use Erlang C.

>>> from stream.contracts.floor_config import FloorConfig
>>> class FakeStore:                 # the two Store methods read here
...     def sites(self): return ["s"]
...     def last_date(self, site): return "2026-01-05"
...     def queue_rows(self, site, queue, a, b):
...         return [{"queue": "q", "start_ms": 1_767_574_800_000, "utc_offset_min": 480,   # 2026-01-05 09:00 +08:00
...                  "offered": 7, "handled": 6, "handle_sum_ms": 1_080_000}]
>>> h = history_from_store(FakeStore(), FloorConfig())
>>> day = h[("s", "q")].days["2026-01-05"]
>>> int(day.offered[36]), int(day.handled[36]), float(day.handle_s[36])
(7, 6, 1080.0)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from stream.contracts.floor_config import FloorConfig
from stream.planning.actuals import DayCounts, QueueHistory

__all__ = ["history_from_store"]

_DAY_MS = 86_400_000
_SLOT_MS = 900_000


def history_from_store(store, config: FloorConfig, days: int = 56) -> dict[tuple[str, str], QueueHistory]:
    """Each site's last ``days`` local days of interval rows, as ``QueueHistory`` per site × queue."""
    out: dict[tuple[str, str], QueueHistory] = {}
    for site in store.sites():
        last = store.last_date(site)
        if last is None:
            continue
        d1 = date.fromisoformat(last) + timedelta(days=1)
        d0 = d1 - timedelta(days=days)
        # Local dates to UTC instants: no site is more than 14 h from UTC.
        lo = int(datetime(d0.year, d0.month, d0.day, tzinfo=timezone.utc).timestamp() * 1000) - 14 * 3_600_000
        hi = int(datetime(d1.year, d1.month, d1.day, tzinfo=timezone.utc).timestamp() * 1000) + 14 * 3_600_000
        scfg = config.site(site)
        for r in store.queue_rows(site, None, lo, hi):
            local = int(r["start_ms"]) + int(r["utc_offset_min"]) * 60_000
            d = datetime.fromtimestamp(local // _DAY_MS * _DAY_MS / 1000, tz=timezone.utc).date()
            if not d0 <= d < d1:
                continue
            key = (site, str(r["queue"]))
            qh = out.get(key)
            if qh is None:
                qh = out[key] = QueueHistory(site, key[1], scfg.timezone, scfg.kind)
            day = qh.days.get(d.isoformat())
            if day is None:
                day = qh.days[d.isoformat()] = DayCounts()
            slot = (local % _DAY_MS) // _SLOT_MS
            day.offered[slot] += int(r["offered"])
            day.handled[slot] += int(r["handled"])
            day.handle_s[slot] += int(r["handle_sum_ms"]) / 1000.0
    return out
