"""Who holds a partition's newest state after moves, restarts and a lost log: ``FloorWorker`` itself on a real
embedded Tansu and Redis (the agent's part played by reading the partition with aiokafka, as Faust delivers it).

* A partition assigned with its log all folded gets no next message: it is rebuilt and checkpointed at once,
  and the copy the previous owner kept does not write its older checkpoint over the new owner's.
* A checkpoint holding a past its log does not (resumed from an earlier log, or kept by a worker that lived
  through the broker losing its log) is resumed by the next rebuild, though the log holds its last message:
  a second move or crash forgets nothing.
* A copy that comes back to a worker after the broker lost the log: dropped for a rebuild when another worker
  folded the new log and saved since (it would skip what that worker folded), kept when it is the newest.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.alerts.runtime import hook_factory
from stream.contracts.floor_config import load_config
from stream.fold.report import stats_to_sums
from stream.local import embedded
from stream.runtime.partition import PartitionFloor
from stream.runtime.topics import EVENTS_TOPIC, ensure_topics
from stream.runtime.worker import FloorWorker, WorkerSettings
from tests.runtime.test_detector_checkpoints import fold_all, messages
from tests.stack_helpers import HAVE_SERVERS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries"),
]

P = 0
SITE = "gd-hotline"
PREFIX = "h:"


@pytest.fixture(scope="module")
def day() -> dict:
    """A busy day as 400-event messages, and the detectors of a partition that folded all of them unbroken."""
    from simulators import busy_day

    cfg = load_config()
    msgs = messages(list(busy_day.generate(cfg, seed=5, calls=6000)))
    factory = hook_factory(cfg)
    unbroken = PartitionFloor(P, cfg, factory())
    fold_all(unbroken, msgs, 0)
    return {"cfg": cfg, "factory": factory, "msgs": msgs, "detectors": detectors(unbroken)}


@pytest.fixture
def servers(tmp_path):
    with embedded.EmbeddedKafka(log_dir=str(tmp_path)) as kafka, embedded.EmbeddedRedis(log_dir=str(tmp_path)) as redis:
        yield kafka, redis


def sums(pf: PartitionFloor) -> dict:
    """The report's day sums of the hotline, as ``floorwatch report`` gives them."""
    return {d: {q: stats_to_sums(st) for q, st in qs.items()} for d, qs in pf.floor.day_sums(SITE).items()}


def detectors(pf: PartitionFloor) -> dict:
    return pf.on_events.driver.engine.to_dict()["detectors"]


class Node:
    """One worker process's ``FloorWorker`` as Faust drives it: assignments, the agent's messages, the timers."""

    def __init__(self, day: dict, kafka_url: str, redis_url: str) -> None:
        self.r = aioredis.from_url(redis_url)
        settings = WorkerSettings(kafka_url=kafka_url, redis_url=redis_url, config=day["cfg"], redis_prefix=PREFIX,
                                  on_events_factory=day["factory"])
        self.w = FloorWorker(settings, self.r)
        self.w.checkpoints.every_s = 0.0  # every publish saves what is new: the tests see each save
        self.emitted: list = []

    async def _emit(self, w, p, dead, alerts) -> None:
        self.emitted += alerts

    async def assign(self, broker_away: bool = False) -> None:
        """Faust's ``on_partitions_assigned`` (``broker_away``: the broker does not answer while it runs)."""
        url = self.w.s.kafka_url
        if broker_away:
            self.w.s.kafka_url = f"kafka://127.0.0.1:{embedded.free_port()}"
        try:
            self.w.assign({P}, self._emit)
            if P in self.w.building:
                await asyncio.wait([self.w.building[P]])
        finally:
            self.w.s.kafka_url = url

    async def deliver(self, bootstrap: str, start: int) -> int:
        """The partition's messages from ``start`` (the group's committed offset) to its end, through ``handle``;
        then the group commits the end, as Faust does for what its agent processed."""
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=self.w.s.app_id,
                             max_partition_fetch_bytes=8 << 20)
        await c.start()
        tp = TopicPartition(EVENTS_TOPIC, P)
        try:
            c.assign([tp])
            end = (await c.end_offsets([tp]))[tp]
            c.seek(tp, start)
            n = start
            while n < end:
                for msg in (await c.getmany(tp, timeout_ms=2000)).get(tp, []):
                    await self.w.handle(P, msg.offset, msg.value, {}, msg.timestamp)
                    n = msg.offset + 1
            await c.commit({tp: end})
            return end
        finally:
            await c.stop()

    async def publish(self) -> None:
        await self.w.publish_safely(force=True)

    async def take(self, bootstrap: str) -> None:
        """Assigned the partition, it folds all of it from the group's offset (none: 0) and saves."""
        await self.assign()
        await self.deliver(bootstrap, 0)
        await self.publish()

    async def saved(self) -> dict:
        return await self.w.checkpoints.load(P)

    async def close(self) -> None:
        await self.r.aclose()


async def produce(bootstrap: str, msgs: list[bytes]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
    await p.start()
    try:
        for m in msgs:
            await p.send_and_wait(EVENTS_TOPIC, m, partition=P)
    finally:
        await p.stop()


async def lose_the_log(kafka) -> None:
    """The broker restarts without its log (Tansu keeps it in memory); Redis keeps its data."""
    kafka.kill()
    kafka.start()
    await ensure_topics(kafka.url, 8)


async def moved_then_lost(a: Node, kafka, old: list[bytes], new: list[bytes]) -> PartitionFloor:
    """``a`` folds and saves the log ``old`` and loses the partition, keeping its copy (returned); the broker
    loses the log, and ``new`` is published on the new one."""
    await ensure_topics(kafka.url, 8)
    await produce(kafka.bootstrap, old)
    await a.take(kafka.bootstrap)
    a.w.revoke({P})
    await lose_the_log(kafka)
    await produce(kafka.bootstrap, new)
    return a.w.parts[P]


def test_a_partition_assigned_with_its_log_all_folded_is_rebuilt_and_checkpointed_at_once(day, servers):
    kafka, redis = servers
    msgs = day["msgs"]
    half, more = len(msgs) // 2, len(msgs) * 3 // 4

    async def go() -> None:
        await ensure_topics(kafka.url, 8)
        await produce(kafka.bootstrap, msgs[:half])
        a, b = Node(day, kafka.url, redis.url), Node(day, kafka.url, redis.url)
        try:
            await a.assign()
            assert a.w.rebuilds == 0  # a new group: its first message rebuilds it
            await a.deliver(kafka.bootstrap, 0)
            assert a.w.rebuilds == 1 and a.w.parts[P].next_offset == half
            await a.publish()
            assert (await a.saved())["offset"] == half
            a.w.checkpoints.every_s = 3600.0  # its next save is not due before the partition moves
            await produce(kafka.bootstrap, msgs[half:more])
            await a.deliver(kafka.bootstrap, half)
            await a.publish()
            assert (await a.saved())["offset"] == half
            # A rebalance: the partition moves to b with every message folded and committed: no next message.
            a.w.revoke({P})
            await b.assign()
            assert b.w.rebuilds == 1 and b.w.parts[P].next_offset == more
            await b.publish()
            saved = await b.saved()
            assert saved["offset"] == more and "base" not in saved
            # b folds on; a's copy, no longer its partition and now older than b's, is not saved over b's
            # checkpoint (a save of it is due).
            await produce(kafka.bootstrap, msgs[more:])
            await b.deliver(kafka.bootstrap, more)
            await b.publish()
            saved = await b.saved()
            assert saved["offset"] == len(msgs) and detectors(b.w.parts[P]) == day["detectors"]
            a.w.checkpoints.every_s = 0.0
            await a.publish()
            assert await a.saved() == saved
            # The partition comes back to a, still all folded: a's copy is behind the group's offset, and
            # is rebuilt at once (it would save its older checkpoint over b's).
            b.w.revoke({P})
            stale = a.w.parts[P]
            await a.assign()
            assert a.w.parts[P] is not stale and a.w.parts[P].next_offset == len(msgs)
            await a.publish()
            assert (await a.saved())["offset"] == len(msgs)
            assert detectors(a.w.parts[P]) == day["detectors"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


@pytest.mark.parametrize("cut", [2, 3], ids=["checkpoint-past-the-new-log", "checkpoint-on-another-message"])
def test_a_checkpoint_holding_a_past_is_resumed_by_every_later_rebuild(day, servers, cut):
    # Redis keeps its data, the broker loses its log and a new one begins: the first rebuild resumes the old
    # log's checkpoint (its last message is gone from the new log, or another message is at its offset: the
    # CRC). The checkpoint saved next holds that past, and the new log holds its last message: a second
    # rebuild must resume it too, or it would fold the new log alone and forget the old one.
    kafka, redis = servers
    msgs = day["msgs"]
    k = len(msgs) * (cut - 1) // cut  # the old log
    new = k - len(msgs) // 6  # the new one: published again from before the checkpoint's last boundary, as after a loss

    async def go() -> None:
        await ensure_topics(kafka.url, 8)
        await produce(kafka.bootstrap, msgs[:k])
        a, b, c = (Node(day, kafka.url, redis.url) for _ in range(3))
        try:
            await a.take(kafka.bootstrap)
            assert (await a.saved())["offset"] == k
            await lose_the_log(kafka)
            await produce(kafka.bootstrap, msgs[new:])
            a.w.revoke({P})
            await b.assign()  # the broker lost the group's offsets with its log
            await b.deliver(kafka.bootstrap, 0)
            assert b.w.parts[P].base == 0 and detectors(b.w.parts[P]) == day["detectors"]
            await b.publish()
            saved = await b.saved()
            assert saved["offset"] == len(msgs) - new and saved["base"] == 0
            b.w.revoke({P})
            await c.assign()  # at the offset b committed: rebuilt at once
            assert c.w.rebuilds == 1 and detectors(c.w.parts[P]) == day["detectors"]
            # Without that past the same log gives other detectors (what the fix keeps from happening).
            alone = PartitionFloor(P, day["cfg"], day["factory"]())
            fold_all(alone, msgs[new:], 0)
            assert detectors(alone) != day["detectors"]
        finally:
            for n in (a, b, c):
                await n.close()

    asyncio.run(go())


@pytest.mark.parametrize("broker_away", [False, True], ids=["on-assignment", "at-its-next-message"])
def test_a_copy_coming_back_after_its_log_was_lost_yields_to_a_newer_checkpoint(day, servers, broker_away):
    # a folds the old log and loses the partition, keeping its copy; the broker loses the log; b resumes a's
    # checkpoint, folds the new log (and commits it) and saves; the partition comes back to a. a's copy
    # lacks what b folded: a must rebuild from b's checkpoint and the log, on assignment or, when the broker
    # did not answer then, at the first message it is given (past b's committed offset, below a's own).
    kafka, redis = servers
    msgs = day["msgs"]
    # The old log [0, k); the new one published again from before its checkpoint: [new, k2), then [k2, end).
    k, new, k2 = len(msgs) // 2, len(msgs) // 3, len(msgs) * 3 // 4

    async def go() -> None:
        a, b = Node(day, kafka.url, redis.url), Node(day, kafka.url, redis.url)
        try:
            stale = await moved_then_lost(a, kafka, msgs[:k], msgs[new:k2])
            await b.take(kafka.bootstrap)  # the broker lost the group's offsets with its log
            b.w.revoke({P})
            await produce(kafka.bootstrap, msgs[k2:])
            await a.assign(broker_away=broker_away)
            assert (a.w.parts[P] is stale) is broker_away  # dropped at once when the broker answers
            await a.deliver(kafka.bootstrap, k2 - new)  # from b's committed offset
            pf = a.w.parts[P]
            assert pf is not stale and a.w.rebuilds == 2
            assert detectors(pf) == day["detectors"]
            # Its figures are the log's (what b published), not the old log's with the new one's start missing.
            log = PartitionFloor(P, day["cfg"])
            fold_all(log, msgs[new:], 0)
            assert pf.events == log.events and sums(pf) == sums(log)
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_the_newest_copy_is_kept_across_a_lost_log_and_its_checkpoint_then_holds_that_past(day, servers, caplog):
    # Nobody saved the partition since a did: a's copy is the newest. It continues on the new log (as a
    # worker that lived through a broker restart does), and the checkpoint it saves next says it holds a
    # past the new log does not, so a worker rebuilding from that log later resumes it.
    kafka, redis = servers
    msgs = day["msgs"]
    k = len(msgs) // 2

    async def go() -> None:
        a, c = Node(day, kafka.url, redis.url), Node(day, kafka.url, redis.url)
        try:
            kept = await moved_then_lost(a, kafka, msgs[:k], msgs[k:])
            await a.assign()
            assert a.w.parts[P] is kept
            await a.deliver(kafka.bootstrap, 0)  # the broker lost the group's offsets too
            assert a.w.parts[P] is kept and a.w.rebuilds == 1 and kept.base == 0
            assert [r.getMessage() for r in caplog.records if "replaced" in r.getMessage()] == [
                "partition 0: the broker's log was replaced; continuing at offset 0"]
            assert detectors(kept) == day["detectors"]
            await a.publish()
            saved = await a.saved()
            assert saved["offset"] == len(msgs) - k and saved["base"] == 0
            a.w.revoke({P})
            await c.assign()
            assert c.w.rebuilds == 1 and detectors(c.w.parts[P]) == day["detectors"]
        finally:
            await a.close()
            await c.close()

    asyncio.run(go())


def test_an_offset_committed_past_the_logs_end_rebuilds_what_the_log_holds(day, servers):
    # A log the broker truncated or made again can end before what the group committed on the old one:
    # the rebuild on assignment stops at the log's end (it would wait for messages that never come).
    kafka, redis = servers
    msgs = day["msgs"][:10]

    async def go() -> None:
        await ensure_topics(kafka.url, 8)
        await produce(kafka.bootstrap, msgs)
        c = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id="floorwatch", enable_auto_commit=False)
        await c.start()
        try:
            tp = TopicPartition(EVENTS_TOPIC, P)
            c.assign([tp])
            await c.commit({tp: 1000})
        finally:
            await c.stop()
        a = Node(day, kafka.url, redis.url)
        try:
            await asyncio.wait_for(a.assign(), 60)
            assert a.w.rebuilds == 1 and a.w.parts[P].next_offset == len(msgs)
        finally:
            await a.close()

    asyncio.run(go())
