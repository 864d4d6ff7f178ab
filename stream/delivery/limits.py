"""Per-recipient limits: a token bucket against floods, quiet hours against 3 a.m. texts.

Both are decisions, not delays: a message over the limit or inside quiet
hours is not sent, and the delivery log says why (``rate_limited``,
``quiet_hours``). Holding messages back to send later would deliver stale
alerts; the escalation ladder is what makes sure *someone* hears about an
unacknowledged alert.

The buckets live in memory: a restart refills them, which errs on the side of
telling people.

>>> from stream.delivery.config import QuietHours
>>> qh = QuietHours(start="22:00", end="07:00", timezone="Asia/Shanghai")
>>> in_quiet_hours(qh, "UTC", 1700000000000)   # 06:13 in Shanghai
True
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from stream.delivery.config import QuietHours, RateLimit


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``per_hour``; times are wall ms."""

    def __init__(self, limit: RateLimit, now_ms: int) -> None:
        self.capacity = float(limit.burst)
        self.per_hour = limit.per_hour
        self.tokens = self.capacity
        self.at_ms = now_ms

    def take(self, now_ms: int) -> bool:
        """Take one token if there is one."""
        elapsed = max(0, now_ms - self.at_ms)  # a clock stepping back refills nothing
        # Multiply before dividing: an hour at 1/hour must give exactly 1 token.
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_hour / 3_600_000)
        self.at_ms = now_ms
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """One bucket per recipient id."""

    def __init__(self) -> None:
        self.buckets: dict[str, TokenBucket] = {}

    def allow(self, recipient_id: str, limit: RateLimit | None, now_ms: int) -> bool:
        if limit is None:
            return True
        b = self.buckets.get(recipient_id)
        if b is None:
            b = self.buckets[recipient_id] = TokenBucket(limit, now_ms)
        return b.take(now_ms)


def in_quiet_hours(qh: QuietHours, recipient_tz: str, now_ms: int) -> bool:
    """True when ``now_ms`` falls in [start, end) local time; a window may cross midnight."""
    tz = ZoneInfo(qh.timezone or recipient_tz)
    local = datetime.fromtimestamp(now_ms / 1000, timezone.utc).astimezone(tz)
    minute = local.hour * 60 + local.minute
    start = int(qh.start[:2]) * 60 + int(qh.start[3:])
    end = int(qh.end[:2]) * 60 + int(qh.end[3:])
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def quiet_blocks(qh: QuietHours | None, recipient_tz: str, severity: str, now_ms: int) -> bool:
    """True when quiet hours hold this message back (its severity does not bypass them)."""
    return qh is not None and severity not in qh.bypass and in_quiet_hours(qh, recipient_tz, now_ms)
