"""History queries: intervals rolled up into hours, days and site totals by adding sums.

The database adds each bucket's interval sums (``SUM`` of the counters,
``MAX`` of the largest wait); the figures are then computed from the summed
``QueueStats`` exactly as the replay report computes them
(``stream.fold.report.stats_from_sums`` → ``QueueStats.report``). A site's
total (queue ``"*"``) merges its queues' sums, never their figures.

Hours and days are read from ``queue_hours`` (the intervals of each local
hour, added up when they were written): a month by hour reads one row per
queue and hour and groups nothing; 15-minute buckets read the intervals.

Buckets are in the site's local time: a row's local start is ``start_ms`` plus
the site's UTC offset then (stored with the row), so a day is midnight to
midnight local, and an hour on a DST day keeps its own offset.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa

from stream.fold.stats import REPORT_KEYS, QueueStats
from stream.history.schema import ADDED_SUMS, QUEUE_SUMS, queue_hours, queue_intervals

STEPS = {"15m": 15 * 60_000, "1h": 3_600_000, "1d": 86_400_000}
TOTAL = "*"
# No site is more than 14 h from UTC: a query by local dates reads this much either side.
_MARGIN_MS = 14 * 3_600_000
_COL = dict(QUEUE_SUMS)  # QueueStats attribute -> column


class QueryError(ValueError):
    """A history query asks for something that cannot be answered (bad step, dates)."""


def parse_date(s: str, what: str) -> date:
    try:
        return date.fromisoformat(s)
    except (TypeError, ValueError):
        raise QueryError(f"{what} must be a date YYYY-MM-DD, not {s!r}") from None


def local_iso(local_ms: int, offset_min: int) -> str:
    """A local start (ms since the epoch *in local time*) as ISO 8601 with its offset."""
    tz = timezone(timedelta(minutes=offset_min))
    return datetime.fromtimestamp((local_ms - offset_min * 60_000) / 1000, tz=tz).isoformat(timespec="seconds")


def local_day_bounds(first: date, last: date) -> tuple[int, int]:
    """Local dates ``first..last`` as [start, end) in local-time epoch ms (a row's start_ms
    plus its offset falls in it exactly when it is on one of those dates)."""
    day0 = int(datetime(first.year, first.month, first.day, tzinfo=timezone.utc).timestamp() * 1000)
    day1 = int(datetime(last.year, last.month, last.day, tzinfo=timezone.utc).timestamp() * 1000) + 86_400_000
    return day0, day1


def bucket_sums(store, site: str, queue: Optional[str], first: date, last: date, step: str,
                from_intervals: bool = False) -> list:
    """Per (bucket, offset, queue, variant): the summed interval sums of local dates first..last
    (from ``queue_hours`` for 1h and 1d unless ``from_intervals``), as rows of
    (bucket, utc_offset_min, queue, sl_variant, min_start, *QUEUE_SUMS in order)."""
    if step not in STEPS:
        raise QueryError(f"--step must be one of {', '.join(STEPS)}, not {step!r}")
    if last < first:
        raise QueryError(f"--to ({last}) is before --from ({first})")
    step_ms = STEPS[step]
    day0, day1 = local_day_bounds(first, last)
    T = queue_intervals if from_intervals or step == "15m" else queue_hours
    local = T.c.start_ms + T.c.utc_offset_min * 60_000
    # Floor division in the database (SQLAlchemy's ``//``: integer division in both), so it groups.
    bucket = (local // sa.literal(step_ms, sa.BigInteger)).label("bucket")
    sums = [
        (sa.func.max(T.c[col]) if attr == "max_wait" else sa.func.sum(T.c[col])).label(attr)
        for attr, col in QUEUE_SUMS
    ]
    # The site total alone: the database adds the queues too (their sums add like intervals).
    queue_col = sa.literal(TOTAL).label("queue") if queue == TOTAL else T.c.queue
    keys = [bucket, T.c.utc_offset_min, T.c.sl_variant] + ([] if queue == TOTAL else [T.c.queue])
    q = (
        sa.select(bucket, T.c.utc_offset_min, queue_col, T.c.sl_variant, sa.func.min(T.c.start_ms).label("min_start"), *sums)
        .where(T.c.site == site, T.c.start_ms >= day0 - _MARGIN_MS, T.c.start_ms < day1 + _MARGIN_MS,
               local >= day0, local < day1)
        .group_by(*keys)
    )
    if queue is not None and queue != TOTAL:
        q = q.where(T.c.queue == queue)
    with store.engine.connect() as conn:
        return conn.execute(q).all()


_ATTRS = tuple(a for a, _ in QUEUE_SUMS)
# Sums added by a later migration are NULL in rows written before it (unknown); the report's figures do not
# read them, so they count as 0 here, as ``stats_from_sums`` counts them (stream.planning.stored tells them apart).
_ADDED_AT = frozenset(i for i, (_, col) in enumerate(QUEUE_SUMS, 5) if col in ADDED_SUMS)


def _stats(g) -> QueueStats:
    """A group's sums (``bucket_sums`` row: sums from position 5) as a QueueStats, as
    stats_from_sums builds it, by position (a month by hour has thousands)."""
    st = QueueStats(g[3])
    for i, a in enumerate(_ATTRS, 5):
        v = g[i]
        setattr(st, a, int(v or 0) if i in _ADDED_AT else int(v))
    return st


def history(store, site: str, queue: Optional[str], first: date, last: date, step: str,
            from_intervals: bool = False) -> dict:
    """``{"rows": [{"site", "queue", "start", <the replay report's figures>}]}`` in time then queue order.

    ``queue`` None: each queue's rows and the site total (``"*"``) per bucket;
    a queue name: that queue's; ``"*"``: the total only.
    """
    step_ms = STEPS.get(step, 0)
    groups = bucket_sums(store, site, queue, first, last, step, from_intervals)
    # Buckets of a day merge across a DST change; shorter ones keep their offset apart.
    per: dict[tuple, dict[str, QueueStats]] = {}
    label_off: dict[tuple, tuple[int, int]] = {}
    for g in groups:
        b = int(g[0])
        off = int(g[1])
        key = (b,) if step == "1d" else (b, off)
        st = _stats(g)
        qs = per.get(key)
        if qs is None:
            qs = per[key] = {}
        q = g[2]
        if q in qs:
            qs[q].merge(st)
        else:
            qs[q] = st
        # A day is labelled with the offset of its first interval (its midnight's).
        first_start = int(g[4])
        lo = label_off.get(key)
        if lo is None or first_start < lo[1]:
            label_off[key] = (off, first_start)
    rows = []
    each = queue is None or queue != TOTAL
    totals = queue is None or queue == TOTAL
    for key in sorted(per, key=lambda k: label_off[k][1]):  # in time order (a repeated DST hour too)
        qs = per[key]
        start = local_iso(key[0] * step_ms, label_off[key][0])
        if each:
            for qn in sorted(qs):  # never "*" here: only the total-only query names it
                rows.append({"site": site, "queue": qn, "start": start, **qs[qn].report()})
        if totals:
            total = None
            for st in qs.values():
                total = st.copy() if total is None else total.merge(st)
            rows.append({"site": site, "queue": TOTAL, "start": start, **total.report()})
    return {"rows": rows}


ROW_KEYS = ("site", "queue", "start", *REPORT_KEYS)
