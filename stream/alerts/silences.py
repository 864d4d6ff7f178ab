"""Silences: a supervisor's "quiet, we know" for one rule of one queue, for a while.

A silence is stored in Redis (``fw:silences``, docs/redis.md) under its key
``site/queue/rule`` and covers every alert of that rule on that queue,
agent alerts included (their key is ``site/queue/rule/agent``)::

    {"key": "gd-hotline/general/service_level", "site": "gd-hotline", "queue": "general",
     "rule": "service_level", "by": "alice", "reason": "system outage, known",
     "from_ms": 1795395630000, "until_ms": 1795397430000,   # the site's event time
     "at_ms": 1764680000000, "until_wall_ms": 1764681800000}  # the wall clock

``from_ms``/``until_ms`` are on the floor's clock (event time, what the wall
shows), so a silence of 30 minutes is 30 minutes of the floor's day in a
replay at any speed as in live use; ``at_ms``/``until_wall_ms`` are when it was
set on the wall clock (the audit log's time).

What silences do: the alert engine keeps evaluating (it is a pure fold of the
events, and the alert's state must be right the moment the silence ends); the
outputs obey them. Delivery sends no message for a change whose event time
falls inside a silence (logged as ``silenced``), and the wall shows the alert
muted, with who silenced it, until when and why, without flash or chime.

>>> covers("s/q/longest_wait", "s/q/longest_wait"), covers("s/q/agent_not_ready", "s/q/agent_not_ready/a7")
(True, True)
>>> covers("s/q/longest_wait", "s/q/longest_wait_x")
False
>>> candidate_keys("s/q/agent_not_ready/a7")
['s/q/agent_not_ready', 's/q/agent_not_ready/a7']
>>> holds({"until_ms": 100}, 99), holds({"until_ms": 100}, 100)
(True, False)
"""

from __future__ import annotations

from typing import Iterable, Optional

__all__ = ["silence_key", "covers", "candidate_keys", "holds", "silence_for", "MAX_MINUTES"]

MAX_MINUTES = 12 * 60  # a silence longer than a shift is a config change, not a silence


def silence_key(site: str, queue: str, rule: str) -> str:
    return f"{site}/{queue}/{rule}"


def covers(skey: str, alert_key: str) -> bool:
    """Does the silence ``skey`` cover the alert condition ``alert_key``?"""
    return alert_key == skey or alert_key.startswith(skey + "/")


def candidate_keys(alert_key: str) -> list[str]:
    """The silence keys that could cover ``alert_key`` (for one HMGET)."""
    parts = alert_key.split("/")
    return ["/".join(parts[:3])] + (["/".join(parts)] if len(parts) > 3 else [])


def holds(rec: dict, at_ms: Optional[int]) -> bool:
    """Is the silence in force at event time ``at_ms``?"""
    until = rec.get("until_ms")
    return isinstance(until, (int, float)) and at_ms is not None and at_ms < until


def silence_for(alert: dict, silences: Iterable[dict], at_ms: Optional[int] = None) -> Optional[dict]:
    """The silence in force over ``alert`` (an AlertChange) at ``at_ms`` (default: the change's time)."""
    key = alert.get("key") or "/".join(str(alert.get(k)) for k in ("site", "queue", "rule"))
    t = alert.get("at_ms") if at_ms is None else at_ms
    for rec in silences:
        if isinstance(rec, dict) and covers(str(rec.get("key", "")), key) and holds(rec, t):
            return rec
    return None
