"""Raw aiokafka throughput against the embedded Tansu broker (not a test).

Produces N small messages to a fresh embedded broker, then reads them back
with a plain aiokafka consumer and prints msgs/s for both directions. This is
the ceiling a Faust worker on the same broker cannot beat.

    .venv/bin/python bench/kafka_raw.py                     # 100k x 100 B, 4 partitions
    .venv/bin/python bench/kafka_raw.py -n 20000 --size 2000 --partitions 1
    .venv/bin/python bench/kafka_raw.py --group            # consume through a group join

The machine is shared: keep N modest (the default run takes a few seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.local.embedded import EmbeddedKafka


async def produce(bootstrap: str, topic: str, n: int, size: int, linger_ms: int) -> float:
    payload = os.urandom(size // 2).hex().encode()[:size]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=linger_ms, max_batch_size=256 * 1024)
    await producer.start()
    try:
        t0 = time.perf_counter()
        pending = []
        for i in range(n):
            pending.append(await producer.send(topic, payload, key=str(i).encode()))
            # Bound the in-flight futures so memory stays flat for large N.
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, partitions: int, n: int, group: bool, max_fetch: int) -> tuple[float, float]:
    """Return (seconds from first record to last, seconds including startup/join)."""
    common = dict(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=max_fetch,
        fetch_max_bytes=max_fetch * max(1, partitions),
    )
    if group:
        consumer = AIOKafkaConsumer(topic, group_id="bench", session_timeout_ms=6000, heartbeat_interval_ms=500, **common)
    else:
        consumer = AIOKafkaConsumer(**common)
    t_start = time.perf_counter()
    await consumer.start()
    if not group:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    try:
        seen = 0
        t_first = None
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            got = sum(len(v) for v in batch.values())
            if got and t_first is None:
                t_first = time.perf_counter()
            seen += got
        t_end = time.perf_counter()
        assert t_first is not None
        return t_end - t_first, t_end - t_start
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> None:
    with EmbeddedKafka() as kafka:
        kafka.create_topics({"bench": args.partitions})
        produced = await produce(kafka.bootstrap, "bench", args.messages, args.size, args.linger_ms)
        steady, total = await consume(kafka.bootstrap, "bench", args.partitions, args.messages, args.group, args.max_fetch)
    n = args.messages
    print(f"embedded Tansu, {n} msgs x {args.size} B, {args.partitions} partitions, group={args.group}")
    print(f"  produce : {n / produced:>10,.0f} msgs/s  ({produced:.2f} s)")
    print(f"  consume : {n / steady:>10,.0f} msgs/s  ({steady:.2f} s from first record; {total:.2f} s with start-up)")
    print(f"  consume : {n * args.size / steady / 1e6:>10,.1f} MB/s payload")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--messages", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=100, help="payload bytes per message")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--linger-ms", type=int, default=5)
    ap.add_argument("--max-fetch", type=int, default=1024 * 1024, help="max_partition_fetch_bytes")
    ap.add_argument("--group", action="store_true", help="subscribe through a consumer group instead of assign()")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
