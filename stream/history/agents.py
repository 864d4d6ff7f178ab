"""Agent performance from history: per-agent days added up over a period (pure).

Handled and handle time add up; so do the milliseconds in each state, from
which occupancy comes as metrics.md defines it (busy + wrap-up over busy +
wrap-up + ready); not-ready time is split by reason. A team's row (the site's
agents together, or any group) adds its agents' sums the same way.
"""

from __future__ import annotations

from typing import Iterable, Optional

from stream.fold.agent import occupancy_pct


def agent_performance(days: Iterable[dict], states: Iterable[dict], team: Optional[str] = None) -> list[dict]:
    """Rows ``{"agent", "label", "handled", "aht_s", "occupancy_pct", "state_s", "not_ready_s"}``,
    by agent, plus a last ``agent: "*"`` row for all of them (labelled ``team``)."""
    acc: dict[str, dict] = {}
    for d in days:
        a = acc.setdefault(d["agent"], {"label": d["label"], "handled": 0, "handle_ms": 0, "ms": {}})
        a["handled"] += int(d["handled"])
        a["handle_ms"] += int(d["handle_sum_ms"])
        a["label"] = d["label"]
    for s in states:
        a = acc.setdefault(s["agent"], {"label": s["agent"], "handled": 0, "handle_ms": 0, "ms": {}})
        a["ms"][s["state"]] = a["ms"].get(s["state"], 0) + int(s["ms"])
    total = {"label": team or "*", "handled": 0, "handle_ms": 0, "ms": {}}
    out = []
    for name in sorted(acc):
        a = acc[name]
        out.append(_row(name, a))
        total["handled"] += a["handled"]
        total["handle_ms"] += a["handle_ms"]
        for k, v in a["ms"].items():
            total["ms"][k] = total["ms"].get(k, 0) + v
    if out:
        out.append(_row("*", total))
    return out


def _row(name: str, a: dict) -> dict:
    ms = a["ms"]
    return {
        "agent": name,
        "label": a["label"],
        "handled": a["handled"],
        "aht_s": a["handle_ms"] / a["handled"] / 1000.0 if a["handled"] else None,
        "occupancy_pct": occupancy_pct(ms),
        "state_s": {k: v / 1000.0 for k, v in sorted(ms.items()) if not k.startswith("not_ready")},
        "not_ready_s": {(k.split(":", 1)[1] if ":" in k else "-"): v / 1000.0 for k, v in sorted(ms.items()) if k.startswith("not_ready")},
    }


def agent_days_of(days: Iterable[dict], states: Iterable[dict], agent: str) -> list[dict]:
    """One agent's rows per local date (its drill-down), the same figures as ``agent_performance``."""
    by_date: dict[str, tuple[list, list]] = {}
    for d in days:
        if d["agent"] == agent:
            by_date.setdefault(d["date"], ([], []))[0].append(d)
    for s in states:
        if s["agent"] == agent:
            by_date.setdefault(s["date"], ([], []))[1].append(s)
    out = []
    for date in sorted(by_date):
        rows = agent_performance(*by_date[date])
        out.append({"date": date, **rows[0]})
    return out


# -- per agent x 15-minute interval (agent_queue_intervals, agent_state_intervals) ----------------

def interval_sums(store, site: str, first, last, step: Optional[str] = None, hour: Optional[int] = None,
                  agents: Optional[list[str]] = None) -> tuple[list[dict], list[dict]]:
    """The site's agent interval rows of local dates ``first..last`` added up by the database:
    per (bucket, offset, agent, queue) the handled sums, per (bucket, offset, agent, state) the ms.
    ``step`` "1h"/"1d" buckets by local hour/day (None: the whole period, bucket 0); ``hour``
    keeps one local hour of each day; ``agents`` only those."""
    import sqlalchemy as sa

    from stream.history.rollup import _MARGIN_MS, STEPS, QueryError, local_day_bounds
    from stream.history.schema import agent_queue_intervals as A, agent_state_intervals as B

    if step is not None and step not in ("1h", "1d"):
        raise QueryError(f"step must be 1h or 1d, not {step!r}")
    if hour is not None and not 0 <= hour <= 23:
        raise QueryError(f"hour must be 0..23, not {hour!r}")
    day0, day1 = local_day_bounds(first, last)

    def grouped(t, keys: list, sums: list):
        local = t.c.start_ms + t.c.utc_offset_min * 60_000
        bucket = (local // sa.literal(STEPS[step], sa.BigInteger)) if step else sa.literal(0, sa.BigInteger)
        off = t.c.utc_offset_min if step == "1h" else sa.literal(0, sa.Integer)
        q = (sa.select(bucket.label("bucket"), off.label("offset"), *keys, *sums)
             .where(t.c.site == site, t.c.start_ms >= day0 - _MARGIN_MS, t.c.start_ms < day1 + _MARGIN_MS,
                    local >= day0, local < day1)
             .group_by(bucket, off, *keys))
        if hour is not None:
            q = q.where((local // sa.literal(3_600_000, sa.BigInteger)) % 24 == hour)
        if agents is not None:
            q = q.where(t.c.agent.in_(agents))
        return q

    qa = grouped(A, [A.c.agent, A.c.queue], [sa.func.sum(A.c[c]).label(c) for c in ("handled", "handle_sum_ms", "talk_sum_ms", "wrap_sum_ms")])
    qb = grouped(B, [B.c.agent, B.c.state], [sa.func.sum(B.c.ms).label("ms")])
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(qa).mappings()], [dict(r) for r in conn.execute(qb).mappings()]


def interval_performance(handled: Iterable[dict], states: Iterable[dict], *, key=None, labels: Optional[dict] = None,
                         step: Optional[str] = None, total: Optional[str] = "*") -> list[dict]:
    """Rows of ``interval_sums`` added up per bucket and per ``key(agent)`` (the agent itself by
    default; a team with ``key=teams.team_of``): ``{"key", "label", ["start"], "handled", "aht_s",
    "aht_by_queue_s", "talk_s", "wrap_s", "occupancy_pct", "state_s", "not_ready_s"}``, in bucket
    then key order, each bucket closed by a ``total`` row (all keys together) unless ``total`` is None.
    Every figure comes from summed ms, never from averages."""
    from stream.history.rollup import local_iso

    key = key or (lambda a: a)
    labels = labels or {}
    acc: dict[tuple, dict] = {}

    def slot(b: int, off: int, k: str) -> dict:
        s = acc.get((b, off, k))
        if s is None:
            s = acc[(b, off, k)] = {"handled": 0, "handle_ms": 0, "talk_ms": 0, "wrap_ms": 0, "by_queue": {}, "ms": {}}
        return s

    for r in handled:
        b, off = int(r["bucket"]), int(r["offset"])
        for k in (key(r["agent"]),) + ((total,) if total else ()):
            s = slot(b, off, k)
            n, h = int(r["handled"]), int(r["handle_sum_ms"])
            s["handled"] += n
            s["handle_ms"] += h
            s["talk_ms"] += int(r["talk_sum_ms"])
            s["wrap_ms"] += int(r["wrap_sum_ms"])
            q = s["by_queue"].setdefault(r["queue"], [0, 0])
            q[0] += n
            q[1] += h
    for r in states:
        b, off = int(r["bucket"]), int(r["offset"])
        for k in (key(r["agent"]),) + ((total,) if total else ()):
            ms = slot(b, off, k)["ms"]
            ms[r["state"]] = ms.get(r["state"], 0) + int(r["ms"])
    step_ms = {"1h": 3_600_000, "1d": 86_400_000}.get(step or "", 0)
    out = []
    for (b, off, k) in sorted(acc, key=lambda x: (x[0], x[1], x[2] == total, x[2])):
        a = acc[(b, off, k)]
        row = {"key": k, "label": labels.get(k, k)}
        if step == "1h":
            row["start"] = local_iso(b * step_ms, off)
        elif step == "1d":
            row["start"] = local_iso(b * step_ms, 0)[:10]
        row.update(_row(k, {"label": row["label"], "handled": a["handled"], "handle_ms": a["handle_ms"], "ms": a["ms"]}))
        row.pop("agent")
        row["aht_by_queue_s"] = {q: v[1] / v[0] / 1000.0 for q, v in sorted(a["by_queue"].items()) if v[0]}
        row["talk_s"] = a["talk_ms"] / 1000.0
        row["wrap_s"] = a["wrap_ms"] / 1000.0
        out.append(row)
    return out


def agent_report(store, site: str, first, last, *, teams=None, by: str = "agent", team: Optional[str] = None,
                 agent: Optional[str] = None, step: Optional[str] = None, hour: Optional[int] = None,
                 labels: Optional[dict] = None) -> dict:
    """Agent or team performance from the agent interval rows: ``{"rows": [...], "teams": {id: {"en", "zh"}}}``.

    ``by`` "agent" (each agent, with its ``team``) or "team" (each team: its agents' sums added);
    ``team`` keeps that team's agents (``unassigned``: those in no team); ``agent`` one agent;
    ``step`` 1h/1d splits by local hour/day; ``hour`` keeps one local hour. Each bucket ends
    with the total row (``key`` "*"): the site's, or the team's when ``team`` is given.
    """
    from stream.history.rollup import QueryError
    from stream.history.teams import UNASSIGNED, Teams

    teams = teams if teams is not None else Teams()
    if by not in ("agent", "team"):
        raise QueryError(f"by must be agent or team, not {by!r}")
    only = None
    if agent is not None:
        only = [agent]
    elif team is not None and team != UNASSIGNED:
        try:
            only = teams.members(site, team)
        except KeyError:
            raise QueryError(f"site {site} has no team {team!r} (config/teams.yaml)") from None
    handled, states = interval_sums(store, site, first, last, step, hour, only)
    if team == UNASSIGNED:
        handled = [r for r in handled if teams.team_of(site, r["agent"]) == UNASSIGNED]
        states = [r for r in states if teams.team_of(site, r["agent"]) == UNASSIGNED]
    names = teams.names(site)
    if by == "team":
        rows = interval_performance(handled, states, key=lambda a: teams.team_of(site, a), step=step,
                                    labels={k: v["en"] for k, v in names.items()})
        for r in rows:
            r["team"] = r["key"]
            r["name"] = names.get(r["key"])
    else:
        rows = interval_performance(handled, states, labels=labels, step=step, total=None if agent else "*")
        for r in rows:
            r["agent"] = r["key"]
            r["team"] = teams.team_of(site, r["key"]) if r["key"] != "*" else team
    return {"rows": rows, "teams": names}
