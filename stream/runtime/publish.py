"""Publish events into a running stack: batches per site on ``floorwatch.events``.

The source side of the data flow (simulators, log replays). Events are sent
as JSON arrays of up to ``max_batch`` events of one site, keyed by the site
(one Kafka message carries many events: Faust's per-message cost would
otherwise cap a worker far below the core's speed). Input that is already
known to be broken still goes through the events topic, so the worker
counts it and dead-letters it like any other bad input: a broken JSON line
as its raw bytes; an adapter's broken log row with its reason in the
``floorwatch-rejected`` header.

Pacing uses event time (``stream.runtime.pacing.paced_batches``): at ``--speed 60`` an
hour of the day takes a minute; ``max`` sends as fast as the broker takes it.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional

import msgspec
from aiokafka import AIOKafkaProducer

from stream.runtime.pacing import paced_batches
from stream.runtime.partition import REJECTED_HEADER
from stream.runtime.topics import DEFAULT_PARTITIONS, ensure_topics, forbid_auto_create
from stream.runtime.worker import EVENTS_TOPIC, bootstrap_of

# Events per Kafka message: a worker pays Faust's cost per message, so more per message is
# cheaper (docs/measurements.md); a message stays under a broker's default limit of 1 MB
# (MAX_MESSAGE_BYTES).
MAX_BATCH = 5000
MAX_MESSAGE_BYTES = 900 * 1024


class Publisher:
    """An aiokafka producer sending site batches (``await send_batch(site, events)``)."""

    def __init__(self, kafka_url: str, *, linger_ms: int = 5, partitions: int = DEFAULT_PARTITIONS) -> None:
        self.kafka_url = kafka_url
        self.partitions = partitions
        # Sent batches not yet acknowledged: one the broker lost (it restarted) is sent again;
        # the core ignores an event id it has folded, so a batch sent twice counts once.
        self._inflight: list[tuple[asyncio.Future, str, list]] = []
        self.resent = 0
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_of(kafka_url),
            linger_ms=linger_ms,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
            acks="all",
            enable_idempotence=False,
        )
        self.enc = msgspec.json.Encoder()
        self.messages = 0
        self.events = 0
        # Delivery futures of the messages sent since the last flush/acked.
        self.pending: list[asyncio.Future] = []

    async def start(self) -> "Publisher":
        # The events topic is made here with its partition count if missing, never auto-created
        # by the first send (stream.runtime.topics).
        forbid_auto_create()
        await ensure_topics(self.kafka_url, self.partitions)
        await self.producer.start()
        return self

    async def stop(self) -> None:
        await self.producer.stop()

    async def send_batch(self, site: str, events: list) -> None:
        value = self.enc.encode(events)
        if len(value) > MAX_MESSAGE_BYTES and len(events) > 1:
            # Large events (long ids, many skills): halves, so no message nears the broker's limit.
            half = len(events) // 2
            await self.send_batch(site, events[:half])
            await self.send_batch(site, events[half:])
            return
        fut = await self._send(EVENTS_TOPIC, key=site.encode(), value=value)
        self._inflight.append((fut, site, events))
        if len(self._inflight) >= 256:
            await self._resend_failed(wait=False)
        self.messages += 1
        self.events += len(events)

    async def _send(self, topic: str, **kw) -> asyncio.Future:
        """``producer.send``, waiting out a broker that restarted (and lost the topic meanwhile)."""
        from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, UnknownTopicOrPartitionError

        for attempt in range(60):
            try:
                return await self.producer.send(topic, **kw)
            except (UnknownTopicOrPartitionError, KafkaConnectionError, KafkaTimeoutError) as exc:
                if attempt == 0:
                    print(f"floorwatch: the broker is not taking messages ({type(exc).__name__}); retrying", file=sys.stderr)
                await asyncio.sleep(1.0)
                try:
                    await ensure_topics(self.kafka_url, self.partitions)
                except Exception:  # still away: the next attempt says so
                    pass
        return await self.producer.send(topic, **kw)

    async def _resend_failed(self, wait: bool) -> None:
        """Send again each batch the broker did not acknowledge (``wait``: wait for all of them)."""
        while self._inflight:
            if wait:
                await asyncio.gather(*(f for f, _, _ in self._inflight), return_exceptions=True)
            still, failed = [], []
            for item in self._inflight:
                fut = item[0]
                if not fut.done():
                    still.append(item)
                elif fut.cancelled() or fut.exception() is not None:
                    failed.append(item)
            self._inflight = still
            if not failed:
                if not wait:
                    return
                continue
            for _fut, site, events in failed:
                self.resent += 1
                fut = await self._send(EVENTS_TOPIC, key=site.encode(), value=self.enc.encode(events))
                self._inflight.append((fut, site, events))
            if not wait:
                return

    async def send_raw(self, value: bytes, *, key: Optional[bytes] = None, reason: Optional[str] = None) -> None:
        headers = [(REJECTED_HEADER, reason.encode())] if reason is not None else None
        self.pending.append(await self.producer.send(EVENTS_TOPIC, key=key, value=value, headers=headers))
        self.messages += 1

    async def send_events(self, events: list, max_batch: int = MAX_BATCH) -> None:
        for site, batch in site_batches(events, max_batch):
            await self.send_batch(site, batch)

    async def flush(self) -> None:
        await self.producer.flush()
        await self._resend_failed(wait=True)
        self.pending.clear()

    async def acked(self) -> None:
        """Wait until the broker has every message sent so far (acks=all); a batch it refused is sent again."""
        await self._resend_failed(wait=True)
        pending, self.pending = self.pending, []
        if pending:
            await asyncio.gather(*pending)


def site_batches(events: Iterable, max_batch: int = MAX_BATCH) -> Iterator[tuple[str, list]]:
    """(site, events) in send order: each site's events in batches of at most ``max_batch``."""
    by_site: dict[str, list] = {}
    for ev in events:
        b = by_site.setdefault(ev.site, [])
        b.append(ev)
        if len(b) >= max_batch:
            yield ev.site, b
            by_site[ev.site] = []
    for site, b in by_site.items():
        if b:
            yield site, b


async def publish_async(
    items: Iterable,
    kafka_url: str,
    speed: float = math.inf,
    *,
    broken: Iterable[tuple[bytes, Optional[str]]] = (),
    stop: Optional[asyncio.Event] = None,
    clock=time.monotonic,
) -> tuple[int, int]:
    """Publish ``items`` (events) paced at ``speed``; ``broken`` is (raw, header reason or None).

    Returns (messages, events) sent.
    """
    pub = await Publisher(kafka_url).start()
    try:
        for raw, reason in broken:
            await pub.send_raw(raw, reason=reason)
        for batch, _now in paced_batches(items, speed, max_batch=MAX_BATCH * 8, clock=clock, sleep=lambda s: None):
            if stop is not None and stop.is_set():
                break
            if batch:
                await pub.send_events(batch)
            elif not math.isinf(speed):
                await asyncio.sleep(0.05)
            if not math.isinf(speed):
                await asyncio.sleep(0)  # let a paced run yield to the loop between batches
        await pub.flush()
        return pub.messages, pub.events
    finally:
        await pub.stop()


def _file_items(path: Path, fmt: str, config=None, site: Optional[str] = None) -> tuple[list, list[tuple[bytes, Optional[str]]]]:
    """A file's events, and its dead letters as (raw, header reason or None)."""
    from stream.contracts.floor_config import load_config
    from stream.sources import formats

    f = formats.get(fmt)
    cfg = config if config is not None else load_config()
    events: list = []
    broken: list[tuple[bytes, Optional[str]]] = []
    for item in f.read(path, cfg, site):
        if isinstance(item, formats.Dead):
            broken.append((item.raw, item.reason))
        else:
            events.append(item)
    return events, broken


def publish_file(path: Path, fmt: str, kafka_url: str, speed: float = math.inf, *, config=None,
                 site: Optional[str] = None) -> int:
    """``floorwatch replay FILE --kafka URL``: publish a log into a running stack."""
    items, broken = _file_items(Path(path), fmt, config, site)
    t = time.perf_counter()
    msgs, n = asyncio.run(publish_async(items, kafka_url, speed, broken=broken))
    print(
        f"floorwatch: published {n:,} events in {msgs:,} messages ({len(broken)} broken) in {time.perf_counter() - t:.1f} s",
        file=sys.stderr,
    )
    return 0


def publish_events(events: Iterable, kafka_url: str, speed: float = math.inf) -> int:
    """``floorwatch simulate ... --kafka URL``."""
    t = time.perf_counter()
    msgs, n = asyncio.run(publish_async(events, kafka_url, speed))
    print(f"floorwatch: published {n:,} events in {msgs:,} messages in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0
