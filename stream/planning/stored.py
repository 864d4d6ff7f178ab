"""Per-interval actuals from the history store (``stream.history``): the production source of forecasts.

The workers keep every sealed 15-minute interval's sums in the history
database (docs/history.md); this reads a site's recent ones back into the
same ``QueueHistory`` arrays a replayed log gives (``stream.planning.actuals``):
offered, handled and handle seconds per local day and slot. The slot is the
row's local start (its stored UTC offset), so DST days land as they were
lived.

Patience (``patience_from_history``): each row keeps the answered contacts'
wait sum and, since migration ``0003_abandoned_wait``, the abandoned ones'
(``abandon_wait_sum_ms``); with the abandons that is Brown et al.'s (2005)
estimate, total wait ÷ abandons, the same as ``calls.patience`` reads from a
log's contacts. A day with a row written before the store kept it (NULL
there) has unknown waits and is left out (plans fall back to Erlang C for a
queue with no known day).

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
>>> day.abandoned, day.wait_s                      # the row has no wait columns: waits unknown
(None, nan)
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Optional

from stream.contracts.floor_config import FloorConfig
from stream.planning.actuals import DayCounts, QueueHistory

__all__ = ["history_from_store", "patience_from_history", "with_format_sites"]

_DAY_MS = 86_400_000
_SLOT_MS = 900_000


def with_format_sites(config: FloorConfig) -> FloorConfig:
    """``config`` with the sites the log formats bring (the Anonymous Bank's: its timezone, T = 20 s, short
    abandons 5 s), where it has none of that name: a store written by ``replay --db`` from such a log holds
    those sites, and their local days and targets come from there, as in the replay."""
    from stream.sources import formats

    for name in formats.NAMES:
        formats.add_sites(formats.get(name), config)
    return config


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
            _add_waits(day, r)
    return out


def _add_waits(day: DayCounts, r) -> None:
    """Add a row's waits and abandons to its day; a row written before the store kept abandoned waits
    (NULL there) makes the day's waits unknown for good."""
    if day.wait_s is not None and math.isnan(day.wait_s):
        return
    ab = int(r.get("abandoned") or 0)
    aw = r.get("abandon_wait_sum_ms")
    if "wait_sum_ms" not in r or aw is None:
        day.wait_s, day.abandoned = math.nan, None  # NaN: unknown (None: no row yet)
        return
    day.wait_s = (day.wait_s or 0.0) + (int(r["wait_sum_ms"]) + int(aw)) / 1000.0
    day.abandoned = (day.abandoned or 0) + ab


def patience_from_history(hist: dict[tuple[str, str], QueueHistory], before: date) -> dict[tuple[str, str], Optional[float]]:
    """Mean patience in seconds per site × queue from the days before ``before`` whose waits are known:
    total wait ÷ abandons (None: no abandon among them, or no such day — Erlang C then).

    >>> from stream.planning.actuals import DayCounts, QueueHistory
    >>> qh = QueueHistory("s", "q", "UTC")
    >>> qh.days["2026-01-05"] = DayCounts(wait_s=900.0, abandoned=5)
    >>> qh.days["2026-01-06"] = DayCounts(wait_s=300.0, abandoned=1)
    >>> qh.days["2026-01-07"] = DayCounts()                          # waits unknown: left out
    >>> patience_from_history({("s", "q"): qh}, date(2026, 1, 7))
    {('s', 'q'): 200.0}
    >>> patience_from_history({("s", "q"): qh}, date(2026, 1, 6))
    {('s', 'q'): 180.0}
    """
    out: dict[tuple[str, str], Optional[float]] = {}
    for key, qh in hist.items():
        wait, ab = 0.0, 0
        for dstr, day in qh.days.items():
            if day.wait_s is None or math.isnan(day.wait_s) or day.abandoned is None or date.fromisoformat(dstr) >= before:
                continue
            wait += day.wait_s
            ab += day.abandoned
        out[key] = wait / ab if ab else None
    return out
