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
| ``understaffed`` | agents short now: needed (staffing advice) − logged in; None without advice or agent states | above |
| ``agent_not_ready`` / ``agent_wrap_up`` | the agent's time in that state, s (per agent) | above |
"""

from __future__ import annotations

from typing import Collection, Final, Iterable, Iterator, Optional

from stream.alerts.config import AlertsConfig, Rule
from stream.fold.interface import StateAges

__all__ = [
    "QUEUE_RULES", "AGENT_RULES", "RULE_CODES", "queue_value", "rule_value", "agent_values", "agent_threshold",
    "agent_floor", "AgentFloor", "AgentFloors", "agent_floors", "agents_past",
]

QUEUE_RULES: Final = ("longest_wait", "service_level", "abandon_rate", "no_agent_ready", "vip_wait", "understaffed")
AGENT_RULES: Final = {"not_ready": "agent_not_ready", "wrap_up": "agent_wrap_up"}

# The queue rules by number (their place in QUEUE_RULES): the engine resolves a
# rule's name once, and compiled, an int compare is cheaper than a string's.
LONGEST_WAIT: Final = 0
SERVICE_LEVEL: Final = 1
ABANDON_RATE: Final = 2
NO_AGENT_READY: Final = 3
VIP_WAIT: Final = 4
UNDERSTAFFED: Final = 5
RULE_CODES: Final = {name: i for i, name in enumerate(QUEUE_RULES)}


def queue_value(rule: str, snap: dict, queue: str, cfg: Rule) -> Optional[float]:
    """The value ``rule`` watches for ``queue`` in the snapshot ``snap``."""
    code = RULE_CODES.get(rule)
    if code is None:
        raise ValueError(f"unknown queue rule {rule!r}")
    return rule_value(code, snap, snap["queues"][queue], max(cfg.min_offered, 1))


def rule_value(code: int, snap: dict, q: dict, min_n: int) -> Optional[float]:
    """:func:`queue_value` by the rule's code, given the queue's figures ``q`` (``snap["queues"][queue]``)
    and the contacts a rate needs (``max(min_offered, 1)``): what the engine calls, rule after rule."""
    if code == LONGEST_WAIT:
        return q["longest_wait_s"]
    if code == VIP_WAIT:
        return q["longest_vip_wait_s"]
    if code == SERVICE_LEVEL or code == ABANDON_RATE:
        w = q["sliding"]["15m"]
        if w["offered"] - w["short_abandoned"] < min_n:
            return None
        return w["sl_pct"] if code == SERVICE_LEVEL else w["abandon_pct"]
    if code == NO_AGENT_READY:
        if snap.get("kind") == "hall":
            nobody = snap.get("counters", {}).get("open", 0) == 0
        else:
            nobody = q["agents"]["ready"] == 0
        return float(q["waiting"]) if nobody else 0.0
    if code == UNDERSTAFFED:
        # The worker's staffing advice (stream.runtime.advisor) on the queue; absent or without a need: no verdict.
        adv = q.get("advice")
        if adv is None or adv.get("need_now") is None or adv.get("have") is None:
            return None
        return float(adv["need_now"] - adv["have"])
    raise ValueError(f"unknown queue rule code {code!r}")


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
        names = agents_past(agents, AgentFloors({state: AgentFloor(floor_s, {}) for state in AGENT_RULES}), set(held))
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
    """The lowest raise level an agent of ``site`` can meet, over every queue and reason (inf: none enabled)."""
    return agent_floors(cfg, site).low


class AgentFloor:
    """The lowest raise level an agent in one watched state can meet at a site, by its not-ready reason.

    ``by_reason`` has the reasons some queue's rule has a level of its own
    for; any other reason (or none) is held to ``base``, the lowest rule level.
    """

    def __init__(self, base: float, by_reason: dict[Optional[str], float]) -> None:
        self.base = base
        self.by_reason = by_reason


class AgentFloors:
    """A site's :class:`AgentFloor` per watched state, and ``low``, the lowest of them all.

    ``ages`` is the same as the fold is asked it (``SiteFold.agents_in``'s
    ``older_than``): per state, the time in state an agent must pass to be read.
    """

    def __init__(self, by_state: dict[str, AgentFloor]) -> None:
        self.by_state = by_state
        low = float("inf")
        for f in by_state.values():
            low = min(low, f.base, *f.by_reason.values())
        self.low = low
        self.ages: StateAges = {state: (f.base, f.by_reason) for state, f in by_state.items()}


def agent_floors(cfg: AlertsConfig, site: str) -> AgentFloors:
    """The lowest levels an agent of ``site`` can meet, by watched state and reason, over every queue
    (inf: the state's rule is enabled nowhere).

    A queue without its own level in the config resolves as the site's
    level, so the site's level and the configured queues' are all there is.
    """
    queues: list[Optional[str]] = [None]
    sl = cfg.sites.get(site)
    if sl is not None:
        queues += list(sl.queues)
    by_state: dict[str, AgentFloor] = {}
    for state, rule in AGENT_RULES.items():
        rcs = [rc for q in queues if (rc := cfg.rule(site, q, rule)).enabled]
        reasons: set[Optional[str]] = {r for rc in rcs for r in rc.by_reason}
        by_state[state] = AgentFloor(
            min((rc.raise_ for rc in rcs), default=float("inf")),
            {r: min(agent_threshold(rc, r) for rc in rcs) for r in reasons},
        )
    return AgentFloors(by_state)


def agents_past(agents: dict[str, dict], floors: AgentFloors, held: set[str]) -> list[str]:
    """The names, sorted, of the agents in ``agents`` (a snapshot's rows) that an agent rule may act on.

    Those in a watched state for longer than its floor (``floors``, from
    :func:`agent_floors`: the lowest level any queue's rule has for the
    agent's state and reason) and those in ``held`` (agents with a condition
    pending or raised). The others are under every level that can apply to
    them and have nothing to clear: skipping them changes nothing, and on a
    busy floor they are almost all of the agents (many of the not-ready ones
    at lunch or in training, past the lowest level but far under their own).
    """
    picked: list[str] = []
    low = floors.low
    by_state = floors.by_state
    for agent, row in agents.items():
        t = row["time_in_state_s"]
        # Most rows: under the lowest level of all, and nothing held. Their state
        # and reason are not even read (one lookup per agent on a busy floor).
        if isinstance(t, float) and t <= low and not (held and agent in held):
            continue
        f = by_state.get(row["state"])
        if f is None:
            continue  # a state no agent rule watches
        # None is kept: it fails later as it always did, rather than passing silently.
        if t is None:
            picked.append(agent)
            continue
        level = f.base
        if f.by_reason:
            lv = f.by_reason.get(row.get("reason"))
            if lv is not None:
                level = lv
        if t > level or (held and agent in held):
            picked.append(agent)
    picked.sort()
    return picked
