"""Prove a staffing plan on real days: the log's own contacts against the plan's agents.

``check_plan`` takes a log's contacts (``stream.planning.calls``), runs each
planned queue through the what-if engine (``stream.planning.whatif``) with
the plan's agents per interval on the phones (rostered × (1 − shrinkage),
rounded down), folds the simulated events with the core and reports, per
local day and queue, the core's service level, ASA and abandon rate beside
the queue's target and the plan's paid agent-hours::

    {"days": [{"date", "queues": {Q: {"sl_pct", "target_pct", "asa_s", "abandon_pct", "agent_hours"}}, "total": {...}}]}

(a queue name used by two sites is ``site/queue``, as in the replay report;
``total`` is the day's queues merged by the core, as the replay report's).
Contacts of queues or times the plan does not cover are left out.

A pool (``stream.planning.pools``: queues the same people answer) is one
simulation: its members' contacts against the sum of its rows' agents per
interval, each contact on its own queue with its own queue's patience; a
queue's ``agent_hours`` are its rows' (its share of the pool's).

``flat_peak`` is the baseline a plan must beat: each queue's (pool's)
busiest interval of the day staffed from its first to its last interval
with need.

>>> from stream.contracts.events import CallOffered, CallAnswered, CallEnded
>>> from stream.contracts.floor_config import FloorConfig
>>> from stream.planning.actuals import Log
>>> cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC"}}})
>>> evs = []
>>> for i in range(4):                                   # four 5-minute calls at 09:00, 09:01, ...
...     t = 9 * 3_600_000 + i * 60_000
...     evs += [CallOffered(id=f"o{i}", ts=t, site="s", call=f"c{i}", queue="q"),
...             CallAnswered(id=f"a{i}", ts=t, site="s", call=f"c{i}"),
...             CallEnded(id=f"e{i}", ts=t + 300_000, site="s", call=f"c{i}")]
>>> plan = [{"site": "s", "queue": "q", "start": "1970-01-01T09:00:00+00:00", "offered": 4, "aht_s": 300, "agents": 1}]
>>> day = check_plan(Log(evs, cfg), plan)["days"][0]
>>> day["queues"]["q"]["sl_pct"], day["queues"]["q"]["asa_s"], day["queues"]["q"]["agent_hours"]
(25.0, 240.0, 0.25)
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Iterable, Mapping

from stream.fold.calendar import INTERVAL_MS
from stream.planning.actuals import Log
from stream.planning.calls import contacts, patience
from stream.planning.plan import target_pct
from stream.planning.pools import shares, unit, workload
from stream.planning.whatif import simulate

__all__ = ["check_plan", "flat_peak"]

# Run r draws with seeds seed + RUN_SEEDS·r + k (k: the group's place), so that run 0 is the single run's draw
# and no two runs or groups share a seed.
RUN_SEEDS = 1_000


def _ms(start: str) -> int:
    t = datetime.fromisoformat(start)
    if t.tzinfo is None:
        raise ValueError(f"plan interval start without a UTC offset: {start!r}")
    return int(t.timestamp() * 1000)


def check_plan(log: Log, plan: Iterable[Mapping], *, shrinkage: float = 0.0, seed: int = 0, runs: int = 1) -> dict:
    """The plan's days replayed with the log's contacts (see the module docstring), ``runs`` times."""
    from stream.fold.floor import Floor

    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    cfg = log.config
    steps: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    paid: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for i, r in enumerate(plan):
        try:
            key = (str(r["site"]), str(r["queue"]))
            start = _ms(str(r["start"]))
            agents = r["agents"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"plan interval {i}: needs site, queue, start (with offset) and agents ({exc})") from None
        n = 0 if agents is None else agents
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0:
            raise ValueError(f"plan interval {i}: agents must be a number >= 0, got {agents!r}")
        steps[key][start] = n
        paid[key][start] = n * INTERVAL_MS / 3_600_000
    if not steps:
        raise ValueError("the plan has no intervals")
    # A pool's rows sum to the pool's agents; a queue alone is its own group.
    rostered: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (site, q), per in steps.items():
        for start, n in per.items():
            rostered[(site, unit(cfg, site, q))][start] += n
    every = contacts(log.events)
    mean_patience = patience(every)
    by_queue: dict[tuple[str, str], list] = defaultdict(list)
    for c in every:
        by_queue[(c.site, c.queue)].append(c)
    groups = []
    for group, per in sorted(rostered.items()):
        site = group[0]
        sched = {s: math.floor(a * (1.0 - shrinkage) + 1e-9) for s, a in per.items()}
        # A step at each planned interval; nobody between planned intervals or after the last.
        schedule: dict[int, int] = {}
        for s in sorted(sched):
            schedule[s] = sched[s]
            if s + INTERVAL_MS not in sched:
                schedule[s + INTERVAL_MS] = 0
        # Each member's contacts in the intervals its own rows cover. Every real UTC offset is a whole quarter
        # hour, so local intervals start on UTC quarter hours.
        queues = sorted(q for s, q in steps if s == site and unit(cfg, s, q) == group[1])
        mine = [c for q in queues for c in by_queue.get((site, q), [])
                if c.offered_ms - c.offered_ms % INTERVAL_MS in steps[(site, q)]]
        pats = {q: mean_patience.get((site, q)) for q in queues}
        groups.append((group, mine, sorted(schedule.items()), pats))
    reports = []
    for run in range(runs):
        events: list = []
        for k, (group, mine, schedule_, pats) in enumerate(groups):
            events.extend(simulate(mine, schedule_, patience_s=pats, seed=seed + RUN_SEEDS * run + k, site=group[0],
                                   group=group[1]))
        events.sort(key=lambda e: e.ts)
        floor = Floor(cfg)
        floor.apply_many(events)
        floor.flush()
        reports.append({d["date"]: d for d in floor.report()["days"]})
    # Agent-hours per local day, named as the report names queues.
    owners: dict[str, set] = defaultdict(set)
    for s, q in paid:
        owners[q].add(s)
    hours: dict[tuple[str, str], float] = defaultdict(float)
    for (s, q), per in paid.items():
        tz = floor.site(s).cal
        name = q if len(owners[q]) == 1 else f"{s}/{q}"
        for start, h in per.items():
            hours[(tz.date_of(start), name)] += h
    days_out = []
    dates = sorted({d for d, _ in hours})
    for d in dates:
        queues = {}
        for (dd, name), h in sorted(hours.items()):
            if dd != d:
                continue
            site, _, q = name.rpartition("/")
            site = site or next(iter(owners[q]))
            figs = [rep.get(d, {}).get("queues", {}).get(name, {}) for rep in reports]
            f = _figures(figs)
            queues[name] = {"sl_pct": f.pop("sl_pct"), "target_pct": target_pct(cfg, site, q), **f, "agent_hours": round(h, 2)}
        figs = [rep.get(d, {}).get("total", {}) for rep in reports]
        days_out.append({"date": d, "queues": queues, "total": {
            **_figures(figs), "agent_hours": round(sum(q["agent_hours"] for q in queues.values()), 2)}})
    return {"days": days_out, "runs": runs}


def _figures(figs: list[Mapping]) -> dict:
    """One queue-day's figures over the runs: each the runs' mean (None where no run has it), and with more
    than one run the service level's range over them (how much of the figure is the draw)."""
    out: dict = {}
    for key in ("sl_pct", "asa_s", "abandon_pct"):
        got = [f[key] for f in figs if isinstance(f.get(key), (int, float))]
        out[key] = round(sum(got) / len(got), 2) if got else None
    if len(figs) > 1:
        sl = [f["sl_pct"] for f in figs if isinstance(f.get("sl_pct"), (int, float))]
        out["sl_pct_range"] = [round(min(sl), 2), round(max(sl), 2)] if sl else None
    return out


def flat_peak(plan: Iterable[Mapping], config=None) -> list[dict]:
    """The same intervals with each queue-day's peak agents from its first to its last interval with need.

    With ``config``, a pool's rows are held together: the pool's peak (its rows summed per interval) from its
    first to its last interval with need, split back to its rows by workload (offered × AHT) as the plan
    splits it (no workload in an interval: the pool-day's)."""
    rows = [dict(r) for r in plan]
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        group = unit(config, r["site"], r["queue"]) if config is not None else r["queue"]
        groups[(r["site"], group, str(r["start"])[:10])].append(r)
    for g in groups.values():
        by_start: dict[str, list[dict]] = defaultdict(list)
        for r in g:
            by_start[str(r["start"])].append(r)
        starts = sorted(by_start, key=_ms)
        need = [i for i, s in enumerate(starts) if sum(r.get("agents") or 0 for r in by_start[s])]
        if not need:
            continue
        peak = max(sum(r.get("agents") or 0 for r in by_start[starts[i]]) for i in need)
        day_work: dict[str, float] = defaultdict(float)
        for r in g:
            day_work[r["queue"]] += workload(r)
        for i, s in enumerate(starts):
            n = peak if need[0] <= i <= need[-1] else 0
            members = by_start[s]
            if len(members) == 1:
                members[0]["agents"] = n
                continue
            work = [workload(r) for r in members]
            if not any(work):
                work = [day_work[r["queue"]] for r in members]
            for r, a in zip(members, shares(n, work)):
                r["agents"] = a
    return rows
