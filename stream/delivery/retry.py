"""Retries with exponential backoff and full jitter.

Delay before attempt n+1 is uniform in [0, min(max_s, base_s * 2**n)]: the
jitter spreads out many senders retrying against the same gateway after it
recovers, instead of hitting it in lockstep.
"""

from __future__ import annotations

import asyncio
import random
from typing import Awaitable, Callable, TypeVar

from stream.delivery.http import DeliveryError

T = TypeVar("T")


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """The sleep after failed attempt ``attempt`` (0-based)."""
    cap = min(max_s, base_s * (2**attempt))
    return (rng or random).uniform(0, cap)


async def with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    base_s: float,
    max_s: float,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_attempt: Callable[[int], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, a permanent error, or ``attempts`` run out.

    ``on_attempt(n)`` is told the 1-based number of each attempt made, so the
    caller can log how many it took even when the last one raises.
    """
    for n in range(attempts):
        if on_attempt is not None:
            on_attempt(n + 1)
        try:
            return await fn()
        except DeliveryError as exc:
            if not exc.transient or n == attempts - 1:
                raise
        await sleep(backoff_delay(n, base_s, max_s, rng))
    raise AssertionError("unreachable")
