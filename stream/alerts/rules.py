"""What each threshold rule measures, read from a site snapshot (``Floor.snapshot``).

Pure functions: a snapshot in, values out; ``None`` means "no verdict" (too
few contacts in the window), which counts as clear. The figures are those of
docs/metrics.md, so an alert and the wall always agree.

| rule | value | worse when |
| --- | --- | --- |
| ``longest_wait`` | longest wait now, s | above |
| ``service_level`` | service level over the last 15 min, % (None under ``min_offered``) | below |
| ``abandon_rate`` | abandon rate over the last 15 min, % (None under ``min_offered``) | above |
| ``no_agent_ready`` | contacts waiting, when no agent of the queue is ready (hotline) or no counter is open (hall); else 0 | above |
| ``vip_wait`` | longest VIP wait now, s | above |
| ``agent_not_ready`` / ``agent_wrap_up`` | the agent's time in that state, s (per agent) | above |
"""

from __future__ import annotations

from typing import Collection, Iterable, Iterator, Optional

from stream.alerts.config import AlertsConfig, Rule

__all__ = ["QUEUE_RULES", "AGENT_RULES", "queue_value", "agent_values", "agent_threshold", "agent_floor"]

QUEUE_RULES = ("longest_wait", "service_level", "abandon_rate", "no_agent_ready", "vip_wait")
AGENT_RULES = {"not_ready": "agent_not_ready", "wrap_up": "agent_wrap_up"}


def queue_value(rule: str, snap: dict, queue: str, cfg: Rule) -> Optional[float]:
    """The value ``rule`` watches for ``queue`` in the snapshot ``snap``."""
    q = snap["queues"][queue]
    if rule == "longest_wait":
        return q["longest_wait_s"]
    if rule == "vip_wait":
        return q["longest_vip_wait_s"]
    if rule in ("service_level", "abandon_rate"):
        w = q["sliding"]["15m"]
        if w["offered"] - w["short_abandoned"] < max(cfg.min_offered, 1):
            return None
        return w["sl_pct"] if rule == "service_level" else w["abandon_pct"]
    if rule == "no_agent_ready":
        if snap.get("kind") == "hall":
            nobody = snap.get("counters", {}).get("open", 0) == 0
        else:
            nobody = q["agents"]["ready"] == 0
        return float(q["waiting"]) if nobody else 0.0
    raise ValueError(f"unknown queue rule {rule!r}")


def agent_values(
    snap: dict, floor_s: Optional[float] = None, held: Collection[str] = ()
) -> Iterator[tuple[str, str, Optional[str], float, Optional[str]]]:
    """(agent, rule, queue, seconds in state, not-ready reason) for agents in a watched state.

    The queue is the agent's first (primary) skill: its config and its display
    name are used for the alert. With ``floor_s`` (the lowest raise level any
    agent rule of the site can have), only the agents that may matter are
    given: those in a watched state for longer than ``floor_s`` and those in
    ``held`` (agents with a condition pending or raised). The others are under
    every level and have nothing to clear, so skipping them changes nothing;
    on a busy floor they are almost all of the agents. Those picked come by
    name (the order of Floor's snapshots), whatever the order of ``snap``'s.
    """
    agents = snap.get("agents", {})
    if floor_s is None:
        names: Iterable[str] = agents  # the snapshot's order (by name, in Floor's snapshots)
    else:
        picked = []
        for agent, row in agents.items():
            if row["state"] in AGENT_RULES:
                t = row["time_in_state_s"]
                # None is kept: it fails below as it always did, rather than passing silently.
                if t is None or t > floor_s or agent in held:
                    picked.append(agent)
        names = sorted(picked)
    for agent in names:
        row = agents[agent]
        rule = AGENT_RULES.get(row["state"])
        if rule is None:
            continue
        queues = row.get("queues") or []
        yield agent, rule, (queues[0] if queues else None), float(row["time_in_state_s"]), row.get("reason")


def agent_threshold(cfg: Rule, reason: Optional[str]) -> float:
    """The raise level for an agent, by its not-ready reason when one is configured."""
    if reason is not None and reason in cfg.by_reason:
        return float(cfg.by_reason[reason])
    return cfg.raise_


def agent_floor(cfg: AlertsConfig, site: str) -> float:
    """The lowest raise level an agent of ``site`` can meet, over every queue and reason (inf: none enabled).

    A queue without its own level in the config resolves as the site's
    level, so the site's level and the configured queues' are all there is.
    """
    queues: list[Optional[str]] = [None]
    sl = cfg.sites.get(site)
    if sl is not None:
        queues += list(sl.queues)
    floor = float("inf")
    for q in queues:
        for rule in AGENT_RULES.values():
            rc = cfg.rule(site, q, rule)
            if rc.enabled:
                floor = min(floor, rc.raise_, *(float(v) for v in rc.by_reason.values()))
    return floor
