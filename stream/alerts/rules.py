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

from typing import Iterator, Optional

from stream.alerts.config import Rule

__all__ = ["QUEUE_RULES", "AGENT_RULES", "queue_value", "agent_values"]

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


def agent_values(snap: dict) -> Iterator[tuple[str, str, Optional[str], float, Optional[str]]]:
    """(agent, rule, queue, seconds in state, not-ready reason) for agents in a watched state.

    The queue is the agent's first (primary) skill: its config and its display
    name are used for the alert.
    """
    for agent, row in snap.get("agents", {}).items():
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
