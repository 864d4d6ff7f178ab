"""The HTTP POST shared by the SMS, pager and webhook channels.

Its job is the split every retry decision hangs on: 5xx, 429, timeouts and
connection errors are *transient* (try again later), any other non-2xx is
*permanent* (the request itself is wrong: retrying sends the same wrong
request). Error texts carry the status and a short, redacted body excerpt,
never the URL's credentials or the request.
"""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

import aiohttp

from stream.delivery.privacy import redact


class DeliveryError(Exception):
    """A send failed; ``transient`` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


def is_transient_status(status: int) -> bool:
    # 429 is a 4xx but means "slow down", the one client error worth retrying.
    return status >= 500 or status == 429 or status == 408


async def post(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout_s: float,
    json: Any = None,
    data: Mapping[str, str] | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: list[str] | None = None,
) -> tuple[int, str]:
    """POST; return ``(status, body)`` on 2xx, raise :class:`DeliveryError` otherwise."""
    try:
        async with session.post(
            url,
            json=json,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            body = await resp.text(errors="replace")
            if 200 <= resp.status < 300:
                return resp.status, body
            excerpt = redact(body[:200].replace("\n", " "), secrets or [])
            raise DeliveryError(
                f"HTTP {resp.status}: {excerpt}", transient=is_transient_status(resp.status), status=resp.status
            )
    except asyncio.TimeoutError:
        raise DeliveryError(f"timeout after {timeout_s:g} s", transient=True) from None
    except aiohttp.ClientError as exc:
        # The exception text can hold the URL; name only the kind of failure.
        raise DeliveryError(f"connection error: {type(exc).__name__}", transient=True) from None
