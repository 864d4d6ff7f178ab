"""A folded floor's sums as history rows (pure: a ``Floor`` in, dicts out).

The queue rows are the core's own 15-minute interval sums (sealed contacts
plus those still open, as every report of the core counts them), so the
history adds up to exactly what the replay report prints. Agent rows are the
core's per-day agent totals and, where the core keeps them
(``Limits(agent_intervals=True)``), its per-interval agent sums. Nothing here
computes a figure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

import orjson

from stream.fold.stats import QueueStats
from stream.history.schema import QUEUE_SUMS
from stream.history.store import Batch


def hist_json(st: QueueStats) -> str:
    """The wait histogram as sparse JSON ``{"bin": count}`` (bins of stream.fold.histogram)."""
    h = st.hist
    if h is None or not h.bins:
        return "{}"
    return orjson.dumps({str(k): v for k, v in sorted(h.bins.items())}).decode()


def queue_row(site: str, queue: str, start_ms: int, offset_min: int, st: QueueStats, as_of_ms: int) -> dict:
    row = {"site": site, "queue": queue, "start_ms": start_ms, "utc_offset_min": offset_min, "sl_variant": st.sl_variant}
    for attr, col in QUEUE_SUMS:
        row[col] = int(getattr(st, attr))
    row["wait_hist"] = hist_json(st)
    row["as_of_ms"] = as_of_ms
    return row


def offset_min(cal, ms: int) -> int:
    """The site's UTC offset at ``ms``, in minutes."""
    off = datetime.fromtimestamp(ms / 1000, tz=cal.tz).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def site_batch(floor, site: str, *, dates: Optional[Iterable[str]] = None, until_ms: Optional[int] = None) -> Batch:
    """The site's rows: every interval (starting before ``until_ms`` if given) and agent day
    (of ``dates`` if given), as of the site's watermark."""
    sc = floor.sites[site]
    cal = sc.cal
    wanted = set(dates) if dates is not None else None
    days, intervals, agent_days = sc.totals(wanted)
    as_of = sc.watermark if sc.clock is not None else 0
    out = Batch()
    offsets: dict[int, int] = {}
    for start in sorted(intervals):
        if until_ms is not None and start >= until_ms:
            continue
        for q, st in sorted(intervals[start].items()):
            off = offsets.get(start)
            if off is None:
                off = offsets[start] = offset_min(cal, start)
            out.queue.append(queue_row(site, q, start, off, st, as_of))
    now = sc.clock if sc.clock is not None else 0
    states, handled = sc.agent_interval_totals(now)
    for start in sorted(handled):
        if until_ms is not None and start >= until_ms:
            continue
        off = offsets.get(start)
        if off is None:
            off = offsets[start] = offset_min(cal, start)
        for (name, q), (n, hms, talk, wrap) in sorted(handled[start].items()):
            out.agent_queue_ival.append({"site": site, "start_ms": start, "agent": name, "queue": q, "utc_offset_min": off,
                                         "handled": int(n), "handle_sum_ms": int(hms), "talk_sum_ms": int(talk),
                                         "wrap_sum_ms": int(wrap), "as_of_ms": as_of})
    for start in sorted(states):
        if until_ms is not None and start >= until_ms:
            continue
        off = offsets.get(start)
        if off is None:
            off = offsets[start] = offset_min(cal, start)
        for name, labels in sorted(states[start].items()):
            for state, v in sorted(labels.items()):
                if v:
                    out.agent_state_ival.append({"site": site, "start_ms": start, "agent": name, "state": state,
                                                 "utc_offset_min": off, "ms": int(v), "as_of_ms": as_of})
    for d in sorted(wanted if wanted is not None else set(days) | set(agent_days)):
        handled = agent_days.get(d, {})
        for name, r in sorted(sc.agent_rows(now, d, agent_days).items()):
            h = handled.get(name)
            n, ms = (int(h[0]), int(h[1])) if h else (0, 0)
            states = {k: int(round(v * 1000)) for k, v in (r.get("state_s") or {}).items() if v}
            if not n and not states:
                continue
            out.agent.append({"site": site, "agent": name, "date": d, "label": r["label"], "handled": n,
                              "handle_sum_ms": ms, "as_of_ms": as_of})
            for state, v in sorted(states.items()):
                out.agent_state.append({"site": site, "agent": name, "date": d, "state": state, "ms": v, "as_of_ms": as_of})
    return out


def floor_batch(floor) -> Batch:
    """Every site's rows (after a replay)."""
    out = Batch()
    for site in sorted(floor.sites):
        out.extend(site_batch(floor, site))
    return out


def alert_row(ch: dict) -> dict:
    """An alert change (stream.alerts.engine) as an ``alert_changes`` row."""
    msg = ch.get("message") if isinstance(ch.get("message"), dict) else {}
    return {
        "dedup_key": str(ch.get("dedup_key") or f"{ch.get('id')}#{ch.get('change')}@{ch.get('at_ms')}"),
        "alert_id": str(ch.get("id")),
        "change": str(ch.get("change") or ch.get("state") or ""),
        "state": str(ch.get("state") or ""),
        "at_ms": int(ch.get("at_ms") or 0),
        "site": str(ch.get("site") or ""),
        "queue": ch.get("queue"),
        "rule": ch.get("rule"),
        "severity": ch.get("severity"),
        "value": _num(ch.get("value")),
        "threshold": _num(ch.get("threshold")),
        "message_en": msg.get("en"),
        "message_zh": msg.get("zh-CN"),
        "agent": ch.get("agent"),
        "acked_by": ch.get("acked_by"),
    }


def ack_row(alert: dict, ack: dict) -> dict:
    """A supervisor's acknowledgement (``fw:acks``: ``{"by", "at_ms"}``) of an alert (its latest
    record in ``fw:alerts``) as an ``alert_changes`` row. Acks are not in the event log, so the
    engine never emits them; this is their record."""
    row = alert_row({**alert, "change": "acknowledged", "state": "acknowledged", "at_ms": ack.get("at_ms"),
                     "acked_by": ack.get("by"), "dedup_key": f"{alert.get('id')}#acknowledged"})
    return row


def _num(v) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) else None



def backfill_limits(cfg):
    """The core's bounds for a backfill: every interval of the log is kept until written,
    agent sums per interval too."""
    from stream.fold.site import Limits

    return Limits(lateness_ms=cfg.lateness_s * 1000, keep_interval_days=None, agent_intervals=True)
