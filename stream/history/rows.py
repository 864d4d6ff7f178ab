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


class SiteRead:
    """What the rows of one site are built from, read from its core (plain copies: building the
    rows from it needs the floor no more, so it can run in another thread)."""

    __slots__ = ("site", "cal", "as_of", "until_ms", "intervals", "agent_days", "day_rows", "states", "handled")

    def __init__(self, site: str, cal, as_of: int, until_ms: Optional[int]) -> None:
        self.site = site
        self.cal = cal
        self.as_of = as_of
        self.until_ms = until_ms
        self.intervals: dict = {}
        self.agent_days: dict = {}
        self.day_rows: dict[str, dict] = {}  # date -> agent_rows of that date
        self.states: dict = {}  # agent interval totals (interval -> agent -> label -> ms)
        self.handled: dict = {}  # interval -> (agent, queue) -> [handled, handle, talk, wrap]


def read_site(floor, site: str, *, dates: Optional[Iterable[str]] = None, until_ms: Optional[int] = None,
              agent_window: Optional[tuple[Optional[int], Optional[int]]] = (None, None)) -> SiteRead:
    """Read the site's sums from its core: queue intervals (those starting before ``until_ms``),
    agent days (of ``dates`` if given) and, unless ``agent_window`` is None, the agent intervals
    starting in that [since, until) window (None: unbounded) and before ``until_ms``."""
    sc = floor.sites[site]
    wanted = set(dates) if dates is not None else None
    days, intervals, agent_days = sc.totals(wanted)
    r = SiteRead(site, sc.cal, sc.watermark if sc.clock is not None else 0, until_ms)
    r.intervals = intervals
    r.agent_days = agent_days
    now = sc.clock if sc.clock is not None else 0
    for d in sorted(wanted if wanted is not None else set(days) | set(agent_days)):
        r.day_rows[d] = sc.agent_rows(now, d, agent_days)
    if agent_window is not None:
        r.states, r.handled = read_agent_window(sc, *agent_window, until_ms)
    return r


def read_agent_window(sc, since: Optional[int], until: Optional[int], until_ms: Optional[int] = None) -> tuple[dict, dict]:
    """The site core's agent interval totals starting in [since, min(until, until_ms))."""
    hi = until if until_ms is None else until_ms if until is None else min(until, until_ms)
    return sc.agent_interval_totals(sc.clock if sc.clock is not None else 0, since, hi)


def build_batch(r: SiteRead) -> Batch:
    """The rows of a ``SiteRead`` (pure), as of the site's watermark when it was read."""
    site, cal, as_of, until_ms = r.site, r.cal, r.as_of, r.until_ms
    out = Batch()
    offsets: dict[int, int] = {}

    def off_at(start: int) -> int:
        off = offsets.get(start)
        if off is None:
            off = offsets[start] = offset_min(cal, start)
        return off

    intervals = r.intervals
    for start in sorted(intervals):
        if until_ms is not None and start >= until_ms:
            continue
        off = off_at(start)
        for q, st in sorted(intervals[start].items()):
            out.queue.append(queue_row(site, q, start, off, st, as_of))
    for start in sorted(r.handled):
        if until_ms is not None and start >= until_ms:
            continue
        off = off_at(start)
        for (name, q), (n, hms, talk, wrap) in sorted(r.handled[start].items()):
            out.agent_queue_ival.append({"site": site, "start_ms": start, "agent": name, "queue": q, "utc_offset_min": off,
                                         "handled": int(n), "handle_sum_ms": int(hms), "talk_sum_ms": int(talk),
                                         "wrap_sum_ms": int(wrap), "as_of_ms": as_of})
    for start in sorted(r.states):
        if until_ms is not None and start >= until_ms:
            continue
        off = off_at(start)
        for name, labels in sorted(r.states[start].items()):
            for state, v in sorted(labels.items()):
                if v:
                    out.agent_state_ival.append({"site": site, "start_ms": start, "agent": name, "state": state,
                                                 "utc_offset_min": off, "ms": int(v), "as_of_ms": as_of})
    for d, rows in r.day_rows.items():
        handled = r.agent_days.get(d, {})
        for name, row in sorted(rows.items()):
            h = handled.get(name)
            n, ms = (int(h[0]), int(h[1])) if h else (0, 0)
            states = {k: int(round(v * 1000)) for k, v in (row.get("state_s") or {}).items() if v}
            if not n and not states:
                continue
            out.agent.append({"site": site, "agent": name, "date": d, "label": row["label"], "handled": n,
                              "handle_sum_ms": ms, "as_of_ms": as_of})
            for state, v in sorted(states.items()):
                out.agent_state.append({"site": site, "agent": name, "date": d, "state": state, "ms": v, "as_of_ms": as_of})
    return out


def site_batch(floor, site: str, *, dates: Optional[Iterable[str]] = None, until_ms: Optional[int] = None) -> Batch:
    """The site's rows: every interval (starting before ``until_ms`` if given) and agent day
    (of ``dates`` if given), as of the site's watermark."""
    return build_batch(read_site(floor, site, dates=dates, until_ms=until_ms))


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



def live_limits(cfg):
    """The core's bounds for a worker that writes history: the config's, agent sums per
    interval kept."""
    from stream.fold.site import Limits

    return Limits(lateness_ms=cfg.lateness_s * 1000, max_ahead_ms=cfg.max_ahead_s * 1000, agent_intervals=True)


def backfill_limits(cfg):
    """The core's bounds for a backfill: every interval of the log is kept until written,
    agent sums per interval too."""
    from stream.fold.site import Limits

    return Limits(lateness_ms=cfg.lateness_s * 1000, keep_interval_days=None, agent_intervals=True)
