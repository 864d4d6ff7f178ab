"""The runtime's figures: a worker's events/s beside raw aiokafka, and publish→Redis latency.

    python -m bench pipeline [--calls 150000] [--rate 3000] [--seconds 30]

1. Throughput: a busy day is published into ``floorwatch.events`` of a fresh
   embedded broker; then, in the same run, a plain aiokafka consumer reads
   the whole topic three times (the ceiling: the fastest read) and one
   floorwatch worker folds it. Both are reported in events/s (and
   messages/s) with the ratio worker ÷ raw.
2. Latency: events published at a steady rate (``--rate``/s, in small
   batches every 50 ms, event time = wall time), each batch's send time
   against the moment a snapshot containing it is published in Redis
   (``published_ms`` of the change whose snapshot counts that many events);
   p50 and p99.

Absolute figures on shared machines are noisy; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import numpy as np
import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer

from bench.bench_replay import ensure_day
from stream.local import embedded
from stream.runtime.redis_keys import Keys
from stream.runtime.publish import Publisher, publish_async
from stream.local.up import Stack
from stream.runtime.worker import EVENTS_TOPIC


async def raw_consume(bootstrap: str, total_msgs: int) -> tuple[float, int, int]:
    """Read the whole topic with plain aiokafka; (seconds, messages, payload bytes)."""
    c = AIOKafkaConsumer(
        EVENTS_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, max_partition_fetch_bytes=8 << 20
    )
    await c.start()
    n = size = 0
    t0 = None
    try:
        while n < total_msgs:
            batch = await c.getmany(timeout_ms=1000, max_records=10_000)
            if t0 is None and batch:
                t0 = time.perf_counter()
            for msgs in batch.values():
                n += len(msgs)
                size += sum(len(m.value) for m in msgs)
        return time.perf_counter() - (t0 or time.perf_counter()), n, size
    finally:
        await c.stop()


async def wait_worker(redis_url: str, events: int, timeout: float = 600) -> dict:
    r = aioredis.from_url(redis_url)
    k = Keys()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            infos = [orjson.loads(v) for v in (await r.hgetall(k.workers)).values()]
            done = sum(i["events"] for i in infos)
            if done >= events:
                return infos[0]
            await asyncio.sleep(0.5)
        raise TimeoutError(f"worker folded {done} of {events} events")
    finally:
        await r.aclose()


def throughput(calls: int, seed: int) -> None:
    from stream.sources.jsonl import read_jsonl

    path = ensure_day(calls, seed)
    events = [e for e in read_jsonl(path) if hasattr(e, "site")]
    with Stack(dashboard=False, delivery=False, workers=0) as st:
        msgs, n = asyncio.run(publish_async(events, st.kafka_url))
        bootstrap = st.kafka_url.split("://", 1)[1]
        # The ceiling is the fastest of three reads (a read varies by a fifth here): the
        # ratio is then the least flattering one.
        reads = [asyncio.run(raw_consume(bootstrap, msgs)) for _ in range(3)]
        raw_s, raw_n, raw_bytes = min(reads)
        st.add_worker()
        info = asyncio.run(wait_worker(st.redis_url, n))
        w_s = (info["last_fold_ms"] - info["first_fold_ms"]) / 1000.0
    print(f"throughput: busy day {calls:,} calls = {n:,} events in {msgs:,} messages ({raw_bytes / 1e6:.0f} MB)")
    print(f"  raw aiokafka consume   {raw_s:6.2f} s   {raw_n / raw_s:>10,.0f} msg/s   {n / raw_s:>12,.0f} events/s"
          f"   (fastest of {', '.join(f'{r[0]:.2f}' for r in reads)} s)")
    print(f"  floorwatch worker      {w_s:6.2f} s   {msgs / w_s:>10,.0f} msg/s   {n / w_s:>12,.0f} events/s")
    print(f"  worker / raw           = {raw_s / w_s:.1%}")
    if "fold_busy_ms" in info:
        fold_s, pub_s = info["fold_busy_ms"] / 1000.0, info["publish_busy_ms"] / 1000.0
        print(f"  worker's time: folding (core + alerts) {fold_s:.2f} s, publishing to Redis {pub_s:.2f} s "
              "(it overlaps folding: the worker folds while a write awaits Redis)")
        cpu_s = info["fold_window_cpu_ms"] / 1000.0
        print(f"  worker's CPU over those {w_s:.2f} s: {cpu_s:.2f} s ({n / cpu_s:,.0f} events per CPU second)")


async def _latency(kafka_url: str, redis_url: str, rate: int, seconds: float) -> tuple[list[float], list[float]]:
    site = "gd-hotline"
    r = aioredis.from_url(redis_url)
    k = Keys()
    ps = r.pubsub()
    await ps.subscribe(k.changes)
    sent: list[tuple[int, float]] = []  # (cumulative events, wall ms sent)
    seen: list[tuple[int, float, float]] = []  # (events in snapshot, published_ms, folded_ms)
    stop = asyncio.Event()

    async def listen() -> None:
        while not stop.is_set():
            m = await ps.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if m is None:
                continue
            ch = orjson.loads(m["data"])
            if ch["site"] != site:
                continue
            snap = await r.get(k.snap(site))
            if snap is not None:
                s = orjson.loads(snap)
                seen.append((s["health"]["events"], ch["published_ms"], ch.get("folded_ms") or ch["published_ms"]))

    from stream.contracts.events import CallAnswered, CallEnded, CallOffered

    pub = await Publisher(kafka_url, linger_ms=0).start()
    listener = asyncio.create_task(listen())
    # Each 50 ms tick offers new calls, answers the previous tick's and ends
    # those answered a second ago: a steady floor, not an ever-growing queue.
    per_tick = max(3, rate // 20)
    calls_per_tick = per_tick // 3
    total = 0
    i = 0
    answered: list[list[str]] = []
    offered_prev: list[str] = []
    t_end = time.monotonic() + seconds
    next_t = time.monotonic()
    while time.monotonic() < t_end:
        now = time.time_ns() // 1_000_000
        batch = []
        for c in offered_prev:
            batch.append(CallAnswered(id=f"a{c}", ts=now, site=site, call=c, agent=f"a{hash(c) % 40}"))
        answered.append(offered_prev)
        if len(answered) > 20:
            for c in answered.pop(0):
                batch.append(CallEnded(id=f"e{c}", ts=now, site=site, call=c))
        offered_prev = []
        for _ in range(calls_per_tick):
            i += 1
            batch.append(CallOffered(id=f"o{i}", ts=now, site=site, call=f"c{i}", queue="general"))
            offered_prev.append(f"c{i}")
        await pub.send_batch(site, batch)
        await pub.flush()
        total += len(batch)
        sent.append((total, time.time_ns() / 1e6))
        next_t += 0.05
        await asyncio.sleep(max(0.0, next_t - time.monotonic()))
    await asyncio.sleep(3)
    stop.set()
    await listener
    await pub.stop()
    await r.aclose()
    lat, fold = [], []
    j = 0
    for cum, t_sent in sent:
        while j < len(seen) and seen[j][0] < cum:
            j += 1
        if j < len(seen):
            lat.append(seen[j][1] - t_sent)
            fold.append(seen[j][2] - t_sent)
    return lat, fold


def latency(rate: int, seconds: float) -> None:
    with Stack(dashboard=False, delivery=False) as st:
        # Wait for the worker's group to form (Tansu: about the rebalance timeout).
        asyncio.run(_warmup(st.kafka_url, st.redis_url))
        lat, fold = (np.array(x) for x in asyncio.run(_latency(st.kafka_url, st.redis_url, rate, seconds)))
    print(f"latency publish → figure in Redis at {rate:,} events/s for {seconds:.0f} s ({len(lat)} batches):")
    print(f"  p50 {np.percentile(lat, 50):7.1f} ms   p99 {np.percentile(lat, 99):7.1f} ms   max {lat.max():7.1f} ms")
    print(f"  (of which send → latest fold before publishing: p50 {np.percentile(fold, 50):.1f} ms, p99 {np.percentile(fold, 99):.1f} ms)")


async def _warmup(kafka_url: str, redis_url: str) -> None:
    from stream.contracts.events import CallOffered

    pub = await Publisher(kafka_url).start()
    await pub.send_batch("gd-hotline", [CallOffered(id="warm", ts=time.time_ns() // 1_000_000, site="gd-hotline", call="w", queue="general")])
    await pub.flush()
    await pub.stop()
    r = aioredis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not await r.exists(Keys().snap("gd-hotline")):
        await asyncio.sleep(0.2)
    await r.aclose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench pipeline")
    ap.add_argument("--calls", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--only", choices=("throughput", "latency"))
    args = ap.parse_args(argv)
    if args.only != "latency":
        throughput(args.calls, args.seed)
    if args.only != "throughput":
        latency(args.rate, args.seconds)
    return 0
