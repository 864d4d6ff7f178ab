"""Pure parts: token bucket, quiet hours, backoff (no servers)."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.delivery.config import QuietHours, RateLimit
from stream.delivery.http import DeliveryError
from stream.delivery.limits import RateLimiter, TokenBucket, in_quiet_hours, quiet_blocks
from stream.delivery.retry import backoff_delay, with_retries


@settings(max_examples=200, deadline=None)
@given(
    burst=st.integers(1, 10),
    per_hour=st.floats(0.5, 120),
    gaps=st.lists(st.integers(0, 600_000), min_size=1, max_size=80),
)
def test_bucket_never_allows_more_than_burst_plus_refill(burst: int, per_hour: float, gaps: list[int]) -> None:
    t0 = 1_700_000_000_000
    b = TokenBucket(RateLimit(burst=burst, per_hour=per_hour), t0)
    t, allowed = t0, 0
    for g in gaps:
        t += g
        allowed += b.take(t)
        assert allowed <= burst + (t - t0) * per_hour / 3_600_000 + 1e-6


def test_bucket_allows_burst_then_refills() -> None:
    lim = RateLimiter()
    rl = RateLimit(burst=3, per_hour=6)  # one token per 10 minutes
    t = 1_700_000_000_000
    assert [lim.allow("a", rl, t) for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b", rl, t)  # per recipient
    assert not lim.allow("a", rl, t + 9 * 60_000)
    assert lim.allow("a", rl, t + 10 * 60_000)
    assert lim.allow("a", None, t)  # no limit configured


def _sh(hh: int, mm: int) -> int:
    return int(datetime(2026, 11, 23, hh, mm, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


def test_quiet_hours_across_midnight_in_the_recipients_zone() -> None:
    qh = QuietHours(start="22:00", end="07:00")
    inside = [(22, 0), (23, 59), (0, 0), (6, 59)]
    outside = [(7, 0), (12, 0), (21, 59)]
    assert all(in_quiet_hours(qh, "Asia/Shanghai", _sh(h, m)) for h, m in inside)
    assert not any(in_quiet_hours(qh, "Asia/Shanghai", _sh(h, m)) for h, m in outside)
    # 23:00 in Shanghai is 15:00 UTC: not quiet for someone on UTC.
    assert not in_quiet_hours(qh, "UTC", _sh(23, 0))
    # The window's own timezone wins over the recipient's.
    assert in_quiet_hours(QuietHours(start="22:00", end="07:00", timezone="Asia/Shanghai"), "UTC", _sh(23, 0))


def test_quiet_hours_same_day_window_and_bypass() -> None:
    lunch = QuietHours(start="12:00", end="13:30", bypass=["critical", "warning"])
    assert in_quiet_hours(lunch, "Asia/Shanghai", _sh(12, 45))
    assert not in_quiet_hours(lunch, "Asia/Shanghai", _sh(13, 30))
    assert not quiet_blocks(lunch, "Asia/Shanghai", "warning", _sh(12, 45))
    assert quiet_blocks(lunch, "Asia/Shanghai", "info", _sh(12, 45))
    assert not quiet_blocks(None, "Asia/Shanghai", "info", _sh(12, 45))


def test_backoff_grows_exponentially_with_jitter_under_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(10):
        cap = min(30.0, 0.5 * 2**attempt)
        samples = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > 0.8 * cap  # jitter spreads over the whole range...
        assert len(set(samples)) > 150  # ...rather than a fixed delay


def test_with_retries_stops_on_permanent_errors_and_sleeps_between_transient_ones() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise DeliveryError("503", transient=True)
        return "ok"

    async def bad() -> str:
        calls.append(1)
        raise DeliveryError("400", transient=False)

    assert asyncio.run(with_retries(flaky, attempts=5, base_s=1, max_s=10, sleep=sleep)) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[0] <= 1 and sleeps[1] <= 2
    calls.clear()
    sleeps.clear()
    try:
        asyncio.run(with_retries(bad, attempts=5, base_s=1, max_s=10, sleep=sleep))
    except DeliveryError as exc:
        assert str(exc) == "400"
    else:
        raise AssertionError("a permanent error must be raised")
    assert len(calls) == 1 and sleeps == []
