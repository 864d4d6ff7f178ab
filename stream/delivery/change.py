"""Reading an AlertChange, in either of the two shapes it comes in.

The delivery brief's shape says what happened in ``state`` (raised /
repeated / resolved) and names the rule's incident in ``dedup_key``. The alert
engine's shape (stream/alerts, docs/alerts.md) says what happened in
``change``, keeps the alert's resulting state (raised / acknowledged /
resolved) in ``state``, names the incident in ``key`` and makes ``dedup_key``
unique per change. These helpers read both, so neither side has to move first.

>>> kind_of({"state": "raised"}), kind_of({"change": "repeated", "state": "acknowledged"})
('raised', 'repeated')
>>> incident_key({"key": "gd/vip/longest_wait", "dedup_key": "gd/vip/longest_wait@1#raised"})
'gd/vip/longest_wait'

A pool's alert (``understaffed`` on queues answered by the same agents,
stream/planning/pools.py) names the pool in ``queue`` and its member queues
in ``queues``; it is about all of them:

>>> alert_queues({"queue": "phones", "queues": ["PS", "PE"]}), alert_queues({"queue": "vip"})
(('phones', 'PS', 'PE'), ('vip',))
"""

from __future__ import annotations

KINDS = ("raised", "repeated", "resolved")

# Severities of both shapes, most urgent first.
SEVERITIES = ("critical", "major", "warning", "minor", "info")


def kind_of(change: dict) -> str | None:
    """What happened: ``raised``, ``repeated`` or ``resolved`` (None if neither field says)."""
    for field in ("change", "state"):
        v = change.get(field)
        if v in KINDS:
            return v
    return None


def incident_key(change: dict) -> str:
    """The key that groups one rule's alerts into one incident (PagerDuty's ``dedup_key``)."""
    if change.get("key"):
        return str(change["key"])
    return str(change.get("dedup_key") or change.get("id"))


def alert_queues(change: dict) -> tuple[str, ...]:
    """The queues ``change`` is about: its ``queue``, then a pool alert's member ``queues`` (empty for an
    alert of no queue). A route naming any of them takes it."""
    q = change.get("queue")
    own = (q,) if isinstance(q, str) else ()
    more = change.get("queues")
    if not isinstance(more, (list, tuple)):
        return own
    return own + tuple(m for m in more if isinstance(m, str) and m != q)
