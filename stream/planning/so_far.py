"""The day so far at a site, as an intraday re-plan's recovery reads it: contacts offered and service level.

``intraday.site_margins`` needs, per site, ``(offered, service level %)`` of
the day up to the re-plan: the floor's own figures. They live in three
places, one reader each here, all ending in the same sum (``site_figure``):

* a fold of the log up to the re-plan (``Floor.day_sums``): ``staffing --plan --replay --recover``;
* the history store's interval rows (``queue_intervals``): ``staffing --plan --db --recover``;
* the live floor's interval rows in Redis (``fw:intervals:{site}:{date}``, ``Floor.interval_rows``):
  the ``/staffing`` page.

From interval rows only the intervals over by the re-plan count (those
ending at or before it): what the floor's figures showed at that time.
Each queue's service level is the core's (``QueueStats.figures``, by the
queue's variant, docs/metrics.md); the site's is its queues' weighted by
their offered contacts. Functions of what they are given (a log, a store
already open, rows): no clock.

>>> rows = [{"queue": "q", "start": 0, "end": 900_000, "offered": 10, "answered": 8, "abandoned": 2,
...          "short_abandoned": 0, "answered_within_t": 6},
...         {"queue": "q", "start": 900_000, "end": 1_800_000, "offered": 30, "answered": 30, "abandoned": 0,
...          "short_abandoned": 0, "answered_within_t": 30}]
>>> site_figure(stats_from_live_rows(rows, cut_ms=900_000))      # only the first interval is over
(10.0, 60.0)
>>> site_figure(stats_from_live_rows(rows, cut_ms=1_800_000))
(40.0, 90.0)
>>> site_figure({})
(0.0, None)
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Mapping, Optional

from stream.fold.calendar import INTERVAL_MS
from stream.fold.stats import QueueStats

__all__ = ["site_figure", "stats_from_live_rows", "stats_from_store_rows", "of_log", "of_store"]

_LEAD_IN_MS = 6 * 3_600_000


def site_figure(per_queue: Mapping[str, QueueStats]) -> tuple[float, Optional[float]]:
    """``(offered, service level %)`` of a site's queues: each queue's figure weighted by its offered
    contacts (queues with no service level yet left out); ``(0.0, None)`` when none has one."""
    n = w = 0.0
    for st in per_queue.values():
        f = st.figures(percentiles=False)
        if f["sl_pct"] is not None and f["offered"]:
            n += f["offered"]
            w += f["offered"] * f["sl_pct"]
    return float(n), (w / n if n else None)


def _over(start_ms: int, cut_ms: int) -> bool:
    return int(start_ms) + INTERVAL_MS <= cut_ms


def stats_from_live_rows(rows: Iterable[Mapping], cut_ms: int,
                         variant: Callable[[str], str] = lambda q: "standard") -> dict[str, QueueStats]:
    """Per queue, the sums of the live interval rows (``Floor.interval_rows``: figures with their counts) of
    the intervals over by ``cut_ms``; ``variant(queue)`` its service-level variant (the config's)."""
    out: dict[str, QueueStats] = {}
    for r in rows:
        if not _over(r["start"], cut_ms):
            continue
        q = str(r["queue"])
        st = out.get(q)
        if st is None:
            st = out[q] = QueueStats(variant(q))
        st.offered += int(r.get("offered") or 0)
        st.answered += int(r.get("answered") or 0)
        st.abandoned += int(r.get("abandoned") or 0)
        st.short_abandoned += int(r.get("short_abandoned") or 0)
        st.within += int(r.get("answered_within_t") or 0)
    return out


def stats_from_store_rows(rows: Iterable[Mapping], cut_ms: int) -> dict[str, QueueStats]:
    """Per queue, the sums of the history store's interval rows (``queue_intervals``, as ``Store.queue_rows``
    returns them) of the intervals over by ``cut_ms``."""
    from stream.history.schema import QUEUE_SUMS

    out: dict[str, QueueStats] = {}
    for r in rows:
        if not _over(r["start_ms"], cut_ms):
            continue
        st = QueueStats(str(r["sl_variant"]))
        for attr, col in QUEUE_SUMS:
            setattr(st, attr, int(r.get(col) or 0))  # abandon_wait_sum_ms NULL before its migration: not read here
        q = str(r["queue"])
        if q in out:
            out[q].merge(st)
        else:
            out[q] = st
    return out


def of_log(log, start: datetime) -> dict[str, tuple[float, Optional[float]]]:
    """Each site's day up to ``start`` from a log (``stream.planning.actuals.Log``): its events before then
    folded by the core, the day's totals (``Floor.day_sums``) as the floor's own figures showed them. Only
    the events from 6 hours before the site's local midnight are folded: the day's contacts are offered
    after it (and a contact offered the evening before is whole), so the day's totals are those of the
    whole log's fold, at a day's cost rather than the log's."""
    from stream.contracts.floor_config import zone
    from stream.fold.floor import Floor
    from stream.planning.actuals import cutoff_for

    cfg = log.config
    span: dict[str, tuple[int, int]] = {}
    for site in {e.site for e in log.events}:
        tz = cfg.site(site).timezone
        span[site] = (cutoff_for(start.astimezone(zone(tz)).date(), tz) - _LEAD_IN_MS, cutoff_for(start, tz))
    floor = Floor(cfg)
    floor.apply_many([e for e in log.events if span[e.site][0] <= e.ts < span[e.site][1]])
    floor.flush()
    out = {}
    for site in floor.sites:
        today = start.astimezone(zone(cfg.site(site).timezone)).date().isoformat()
        out[site] = site_figure(floor.day_sums(site).get(today, {}))
    return out


def of_store(store, config, start: datetime, sites: Optional[Iterable[str]] = None) -> dict[str, tuple[float, Optional[float]]]:
    """Each site's (or each of ``sites``') day up to ``start`` from an open history store
    (``stream.history.store.Store``): its interval rows of the local day over by then."""
    from stream.contracts.floor_config import zone
    from stream.planning.actuals import cutoff_for

    out = {}
    for site in (store.sites() if sites is None else sites):
        tz = config.site(site).timezone
        cut = cutoff_for(start, tz)
        day0 = cutoff_for(start.astimezone(zone(tz)).date(), tz)
        out[site] = site_figure(stats_from_store_rows(store.queue_rows(site, None, day0, cut), cut))
    return out
