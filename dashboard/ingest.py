"""``POST /api/events``: events pushed over HTTP (a hall's ticket machine, a vendor CTI) into Kafka.

The body is NDJSON (one event per line) or a JSON array of events, decoded by
the same strict decoder as every other input. Good events go to
``floorwatch.events`` (batched per site, as every publisher sends them);
broken ones are answered with their index and reason *and* dead-lettered
(counted in the floor's rejections like any other broken input; a caller
number in them masked). The answer comes only after the broker has every
message (acks=all): a 200 means stored. A client may resend after an error:
ids make a repeat harmless.

* Auth: a token with the ``ingest`` role (``Authorization: Bearer ...``),
  which may do nothing else (dashboard/auth.py).
* Limits: bodies over ``FLOORWATCH_INGEST_MAX_BYTES`` (default 2 MiB) get
  413; each token may make ``FLOORWATCH_INGEST_RATE`` requests a second
  (default 10, bursts of twice that): beyond, 429 with ``Retry-After``.
* Kafka: ``FLOORWATCH_KAFKA`` (``floorwatch dashboard --kafka URL`` sets it;
  ``floorwatch up`` passes its own). Without it the endpoint answers 503.

Answer: ``{"accepted": n, "rejected": [{"index": i, "reason": "..."}]}`` with
200, or 422 when no item was accepted (all rejected), 400 when the body is not
a JSON array or lines of JSON at all. ``index`` is the item's position in the
array, or its line (from 0) in NDJSON. docs/sources.md has a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
import time
from typing import Any, AsyncIterator, Callable

import msgspec
import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import Response

from dashboard.auth import Principal

__all__ = ["TokenBuckets", "ingest_router", "parse_body"]

MAX_BYTES = int(os.environ.get("FLOORWATCH_INGEST_MAX_BYTES", 2 << 20))
RATE = float(os.environ.get("FLOORWATCH_INGEST_RATE", 10))

_raw_items = msgspec.json.Decoder(list[msgspec.Raw])
_CALLER = re.compile(rb'("caller"\s*:\s*")([^"]*)(")')


class TokenBuckets:
    """Requests allowed per key: ``rate`` a second, bursts of ``burst``. Keys are token digests."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0 if allowed now (one taken), else the seconds until one is."""
        now = self.clock()
        tokens, at = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


def parse_body(body: bytes) -> tuple[list, list[tuple[int, bytes, str]]]:
    """Events and (index, raw, reason) of the items rejected; ValueError if it is no JSON at all."""
    from stream.contracts.decode import decode_one

    good: list = []
    bad: list[tuple[int, bytes, str]] = []
    text = body.strip()
    if text.startswith(b"["):
        try:
            items = _raw_items.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"not a JSON array of events: {exc}") from None
        raws = [bytes(x) for x in items]
        indexed = list(enumerate(raws))
    else:
        indexed = [(i, ln.strip()) for i, ln in enumerate(body.split(b"\n")) if ln.strip()]
    for i, raw in indexed:
        evs, why = decode_one(raw)
        if evs:
            good.extend(evs)
        else:
            bad.append((i, raw, why[0][1]))
    return good, bad


def _scrub(raw: bytes) -> bytes:
    """A rejected item as it may be dead-lettered: the caller masked, phone numbers in free text too."""
    from stream.delivery.privacy import mask_phone, redact

    raw = _CALLER.sub(lambda m: m[1] + mask_phone(m[2].decode("utf-8", "replace")).encode() + m[3], raw)
    return redact(raw.decode("utf-8", "replace")).encode()


class _Sink:
    """One Kafka producer for the server's lifetime, started at the first request."""

    def __init__(self) -> None:
        self.pub: Any = None
        self.lock = asyncio.Lock()

    async def get(self) -> Any:
        url = os.environ.get("FLOORWATCH_KAFKA")
        if not url:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                "ingest needs Kafka: start the dashboard with --kafka URL")
        async with self.lock:
            if self.pub is None:
                from stream.runtime.publish import Publisher

                self.pub = await Publisher(url, linger_ms=2).start()
        return self.pub

    async def stop(self) -> None:
        if self.pub is not None:
            await self.pub.stop()
            self.pub = None


def ingest_router(require: Callable[[str], Callable[..., Principal]]) -> APIRouter:
    """The router, authorising with the app's ``require`` (dashboard/app.py includes it)."""
    sink = _Sink()
    buckets = TokenBuckets(RATE, max(1.0, 2 * RATE))
    lock = asyncio.Lock()  # one request at a time talks to the producer: acks are per request

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sink.stop()

    router = APIRouter(lifespan=lifespan)

    @router.post(
        "/api/events",
        tags=["ingest"],
        responses={200: {"description": '{"accepted": n, "rejected": [{"index": i, "reason": "..."}]}'},
                   413: {"description": "body too large"}, 429: {"description": "rate limit (Retry-After)"}},
    )
    async def post_events(request: Request, who: Principal = Depends(require("ingest"))) -> Response:
        """Store events (NDJSON or a JSON array); answered once Kafka has them."""
        tok = request.headers.get("authorization", "") + "|" + (request.query_params.get("token") or "")
        wait = buckets.take(hashlib.sha256(tok.encode()).hexdigest())
        if wait > 0:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many requests for this token",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        body = await _read_limited(request)
        try:
            good, bad = parse_body(body)
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        pub = await sink.get()
        try:
            async with lock:
                for _, raw, reason in bad:
                    await pub.send_raw(_scrub(raw), reason=f"ingest: {reason}")
                if good:
                    await pub.send_events(good)
                await pub.acked()
        except Exception as exc:  # the broker refused or is away: nothing is acknowledged
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"not stored, retry: {type(exc).__name__}") from None
        answer = {"accepted": len(good), "rejected": [{"index": i, "reason": r} for i, _, r in bad]}
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if bad and not good else status.HTTP_200_OK
        return Response(orjson.dumps(answer), status_code=code, media_type="application/json")

    return router


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BYTES} bytes")
    parts: list[bytes] = []
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > MAX_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BYTES} bytes")
        parts.append(chunk)
    return b"".join(parts)
