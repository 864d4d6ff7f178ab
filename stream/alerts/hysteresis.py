"""The life of one alert condition: quiet → pending → raised (→ acknowledged) → resolved.

One pure function, :func:`step`, moves a condition's state (a plain dict, or
``None`` when quiet) given the value now. Hysteresis: the value must go past
the *raise* level to start, and back past the *clear* level to stop, so a
value wandering around one level does not flap. A pending condition raises
after it has held ``for_s``; a value back past the clear level (or unknown)
cancels it. A raised, unacknowledged alert re-notifies every ``repeat_s``.

>>> st, ev = step(None, 200, raise_at=180, clear_at=120, for_s=60, repeat_s=0, lower_is_worse=False, now=0)
>>> (st["phase"], ev)
('pending', None)
>>> st, ev = step(st, 170, raise_at=180, clear_at=120, for_s=60, repeat_s=0, lower_is_worse=False, now=30_000)
>>> (st["phase"], ev)                 # under raise but above clear: still pending
('pending', None)
>>> st, ev = step(st, 170, raise_at=180, clear_at=120, for_s=60, repeat_s=0, lower_is_worse=False, now=60_000)
>>> (st["phase"], ev)                 # held long enough, but under raise just now
('pending', None)
>>> st, ev = step(st, 190, raise_at=180, clear_at=120, for_s=60, repeat_s=0, lower_is_worse=False, now=90_000)
>>> (st["phase"], ev, st["raised_ms"])
('raised', 'raised', 90000)
>>> st, ev = step(st, 100, raise_at=180, clear_at=120, for_s=60, repeat_s=0, lower_is_worse=False, now=120_000)
>>> (st, ev)
(None, 'resolved')
"""

from __future__ import annotations

from typing import Optional

__all__ = ["step", "beyond", "cleared"]


def beyond(value: Optional[float], level: float, lower_is_worse: bool) -> bool:
    """Past the raise level (strictly: a wait *above* X, a service level *below* its target)."""
    if value is None:
        return False
    return value < level if lower_is_worse else value > level


def cleared(value: Optional[float], level: float, lower_is_worse: bool) -> bool:
    """Back at or past the clear level (an unknown value counts as clear)."""
    if value is None:
        return True
    return value >= level if lower_is_worse else value <= level


def step(
    st: Optional[dict],
    value: Optional[float],
    *,
    raise_at: float,
    clear_at: float,
    for_s: int,
    repeat_s: int,
    lower_is_worse: bool,
    now: int,
) -> tuple[Optional[dict], Optional[str]]:
    """The condition's next state and what happened: None, "raised", "repeated" or "resolved"."""
    if st is None:
        if not beyond(value, raise_at, lower_is_worse):
            return None, None
        st = {"phase": "pending", "since_ms": now, "raised_ms": None, "notified_ms": None, "acked_by": None, "acked_ms": None}
    elif cleared(value, clear_at, lower_is_worse):
        return None, ("resolved" if st["phase"] == "raised" else None)
    if st["phase"] == "pending":
        # Raise only while the value is past the raise level now (pending may
        # have dipped between the levels), so the message never says "above"
        # of a value below.
        if now - st["since_ms"] >= for_s * 1000 and beyond(value, raise_at, lower_is_worse):
            st = {**st, "phase": "raised", "raised_ms": now, "notified_ms": now}
            return st, "raised"
        return st, None
    if repeat_s > 0 and st["acked_by"] is None and now - st["notified_ms"] >= repeat_s * 1000:
        return {**st, "notified_ms": now}, "repeated"
    return st, None
