"""The day-to-date report: per local day, per queue and in total.

One function builds it from per-site day sums, wherever they come from: the
in-process core after a replay (``Floor.report``) or the sums the workers keep
in Redis (``floorwatch report --redis``). Both paths therefore print the same
JSON for the same events. ``stats_to_sums`` / ``stats_from_sums`` carry a
``QueueStats`` through JSON without its histogram (the report has no
percentiles).

>>> from stream.fold.stats import QueueStats
>>> s = QueueStats(); s.offered = 2; s.add_answered(10_000, sl_t_ms=20_000)
>>> r = build_report({"s1": {"2024-02-01": {"general": s}}}, {"count": 0, "reasons": {}})
>>> r["total"]["offered"], r["days"][0]["queues"]["general"]["sl_pct"]
(2, 50.0)
"""

from __future__ import annotations

from typing import Mapping

from stream.fold.stats import COUNTERS, QueueStats, merged

# Every additive field of QueueStats (the histogram stays out: the report has no percentiles).
_SUM_FIELDS = COUNTERS
_ADDED = frozenset({"abandon_wait_sum"})  # counters added after sums were first stored

DaySums = Mapping[str, Mapping[str, Mapping[str, QueueStats]]]  # site -> date -> queue -> stats


def stats_to_sums(st: QueueStats) -> dict:
    """The additive fields of ``st`` as a JSON-able dict."""
    out = {f: getattr(st, f) for f in _SUM_FIELDS}
    out["sl_variant"] = st.sl_variant
    return out


def stats_from_sums(d: Mapping) -> QueueStats:
    """A ``QueueStats`` rebuilt from ``stats_to_sums`` output (histogram left empty)."""
    st = QueueStats(d.get("sl_variant", "standard"))
    for f in _SUM_FIELDS:
        # Sums written before a counter existed (Redis keys of an older worker, history rows before its
        # migration: absent or NULL) count it as 0 here; stream.planning.stored tells them apart.
        setattr(st, f, int(d.get(f) or 0) if f in _ADDED else int(d[f]))
    return st


def build_report(per_site: DaySums, rejected: Mapping) -> dict:
    """``{"rejected", "days": [{"date", "queues", "total"}], "total"}`` from per-site day sums."""
    per_date: dict[str, dict[tuple[str, str], QueueStats]] = {}
    for site, days in per_site.items():
        for d, qs in days.items():
            bucket = per_date.setdefault(d, {})
            for q, st in qs.items():
                bucket[(site, q)] = st
    owners: dict[str, set] = {}
    for bucket in per_date.values():
        for s, q in bucket:
            owners.setdefault(q, set()).add(s)

    def key(s: str, q: str) -> str:
        # A queue name used by two sites is told apart by its site.
        return q if len(owners[q]) == 1 else f"{s}/{q}"

    out_days = []
    grand = QueueStats()
    for d in sorted(per_date):
        bucket = per_date[d]
        day_total = merged(list(bucket.values()))
        grand.merge(day_total)
        out_days.append(
            {
                "date": d,
                "queues": {key(s, q): bucket[(s, q)].report() for s, q in sorted(bucket, key=lambda k: key(*k))},
                "total": day_total.report(),
            }
        )
    return {"rejected": dict(rejected), "days": out_days, "total": grand.report()}


def merge_rejected(parts: list[Mapping]) -> dict:
    """Sum several ``{"count", "reasons"}`` summaries (one per partition)."""
    reasons: dict[str, int] = {}
    for p in parts:
        for r, n in p.get("reasons", {}).items():
            reasons[r] = reasons.get(r, 0) + int(n)
    return {"count": sum(reasons.values()), "reasons": dict(sorted(reasons.items()))}
