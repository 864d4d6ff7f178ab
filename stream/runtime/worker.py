"""The Faust worker: folds ``floorwatch.events`` partitions into the core and publishes to Redis.

Each Kafka message holds one event or a JSON array of events of one site
(keyed by site, so a site lives in one partition and one worker). The agent
is a small loop: fold the message into its partition's ``PartitionFloor``,
send what was rejected to ``floorwatch.rejected``, mark the sites dirty. A
timer publishes dirty sites to Redis (``RedisSink``), throttled.

Surviving crashes (README, "Architecture"): a partition's state is a pure
function of its log. When a worker meets a partition it holds no state for,
or a message that is not the next offset it expects, it rebuilds that
partition by reading it from the beginning with a plain aiokafka consumer up
to the message in hand (hundreds of thousands of messages per second), then
goes on. Offsets it has already folded are skipped. So a worker killed with
SIGKILL, restarted, or whose partitions move to another worker ends with the
same figures as an uninterrupted run; Redis keys are *set* from that state, so
writing them again is harmless.

A partition assigned to a worker is rebuilt at once, not at its next message
(``prepare``), and its detector checkpoint saved once the rebuild is done: a
partition whose log is all folded gets no next message, and the checkpoint
its last owner left may be older than what it folded. Only the partition's
owner saves its checkpoint. A copy a worker kept after its partition moved
away is kept when the partition comes back if the log still holds its last
message (the copy is a prefix of the log); when the broker has lost that log
meanwhile, the copy is dropped for a rebuild if the partition's checkpoint is
no longer the one this worker saved (another worker folded the new log and
saved since).

    app = make_app(WorkerSettings(kafka_url="kafka://127.0.0.1:9092", redis_url="redis://127.0.0.1:6379/0"))
    app.main()   # or: floorwatch worker --kafka URL --redis URL
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import zlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional

import faust
import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream.contracts.floor_config import FloorConfig
from stream.contracts.events import EVENT_TYPES, encode_event
from stream.alerts.checkpoints import DetectorCheckpoints
from stream.runtime.redis_keys import Keys
from stream.runtime.partition import EventsHook, PartitionFloor
from stream.runtime.redis_sink import RedisSink
from stream.runtime.log_limit import install_repeat_limit
from stream.runtime.topics import ALERTS_TOPIC, DEFAULT_PARTITIONS, EVENTS_TOPIC, REJECTED_TOPIC, ensure_topics, forbid_auto_create

log = logging.getLogger("floorwatch.worker")


# Tansu answers a fetch only when its max wait expires, and Faust hard-codes
# that wait to 1500 ms for its consumer: events would reach the wall up to
# that late. So the worker's consumer gets a short max wait; an idle worker
# then polls ten times a second, which costs nothing (docs/measurements.md).
FETCH_MAX_WAIT_MS = 100

# How often a worker checks that its topics exist (and makes them if a broker lost them).
TOPICS_CHECK_S = 5.0


def _short_fetch_wait() -> None:
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread, "_floorwatch_short_wait", False):
        return
    create = thread._create_worker_consumer

    def _create_worker_consumer(self, transport):  # noqa: ANN001, ANN202 - Faust's signature
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    thread._create_worker_consumer = _create_worker_consumer
    thread._floorwatch_short_wait = True


def bootstrap_of(kafka_url: str) -> str:
    """``kafka://h:p[;kafka://h2:p2]`` → ``h:p,h2:p2`` for aiokafka."""
    parts = [p.strip() for p in kafka_url.replace(";", ",").split(",") if p.strip()]
    return ",".join(p.split("://", 1)[-1].rstrip("/") for p in parts)


@dataclass
class WorkerSettings:
    kafka_url: str
    redis_url: str
    config: FloorConfig = field(default_factory=FloorConfig)
    redis_prefix: Optional[str] = None
    app_id: str = "floorwatch"
    partitions: int = DEFAULT_PARTITIONS
    # Tansu forms a group only after the rebalance timeout; 3 s keeps start-up near 5 s.
    rebalance_timeout_s: float = 3.0
    publish_interval_ms: int = 100
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    # Makes one hook per partition (the alert engine), or None for figures only.
    on_events_factory: Optional[Callable[[], EventsHook]] = None
    # The history database (stream/history/sink.py), or None for no history.
    history_db: Optional[str] = None
    # Staffing advice published beside the snapshots (stream.runtime.advisor.Advisor), or None.
    advisor: Optional[object] = None


class FloorWorker:
    """The worker's state: one ``PartitionFloor`` and one ``RedisSink`` per partition."""

    def __init__(self, settings: WorkerSettings, redis) -> None:
        self.s = settings
        self.redis = redis
        self.parts: dict[int, PartitionFloor] = {}
        self.sinks: dict[int, RedisSink] = {}
        self.events = 0
        self.messages = 0
        self.rebuilds = 0
        self.assigned: set[int] = set()
        self._publishing = asyncio.Lock()
        # Partitions whose log was checked since the last assignment (see handle).
        self.verified: set[int] = set()
        # Partitions whose state was kept through a revoke (checked when they come back; see prepare).
        self.revoked_copies: set[int] = set()
        # Partitions being made ready on assignment (prepare): their messages wait for it.
        self.building: dict[int, asyncio.Future] = {}
        # Wall times of the first and latest folded message (throughput benchmark).
        self.first_fold_ms: Optional[int] = None
        self.last_fold_ms: Optional[int] = None
        # The process's CPU seconds (all threads) at those two moments: steadier than wall time on a shared machine.
        self.first_fold_cpu_s = 0.0
        self.last_fold_cpu_s = 0.0
        # Wall ms spent folding since start (the sinks read how busy the worker is).
        self.fold_busy_ms = 0.0
        # Wall ms spent publishing to Redis (snapshots, deltas, reports, alerts) since start;
        # it overlaps folding, which goes on while a write awaits Redis.
        self.publish_busy_ms = 0.0
        self.redis_errors_in_row = 0
        # The value of Redis's instance key when we last looked (see _redis_lost); kept through
        # outages of any length, so a restart is noticed however long Redis was away.
        self._redis_instance: Optional[bytes] = None
        self.redis_heals = 0
        # What the detectors learnt, kept past the log's retention (stream.alerts.checkpoints).
        self.checkpoints = DetectorCheckpoints(redis, settings.redis_prefix)

    def _hook(self) -> Optional[EventsHook]:
        f = self.s.on_events_factory
        return f() if f is not None else None

    def _limits(self):
        """The core's bounds: the config's, with agent sums per interval kept when history is written."""
        if not self.s.history_db:
            return None
        from stream.history.rows import live_limits

        return live_limits(self.s.config)

    def _new_partition(self, p: int) -> PartitionFloor:
        pf = PartitionFloor(p, self.s.config, self._hook(), limits=self._limits())
        self.parts[p] = pf
        self.revoked_copies.discard(p)
        self.sinks[p] = RedisSink(
            self.redis,
            prefix=self.s.redis_prefix,
            partition=p,
            min_interval_ms=self.s.publish_interval_ms,
            worker_id=self.s.worker_id,
            advisor=self.s.advisor,
        )
        return pf

    async def _resume_detectors(self, p: int, pf: PartitionFloor) -> None:
        """Detectors for a partition whose log does not hold its past: its checkpoint, else
        (a cold start) what the history store's rows teach, else nothing."""
        if not await self.checkpoints.resume(p, pf) and self.s.history_db:
            await self.checkpoints.warm_from_history(p, pf, self.s.history_db, self.s.config)

    async def _checkpoint_unless_logged(self, p: int, pf: PartitionFloor) -> bool:
        """Detectors for a partition rebuilt from offset 0: its checkpoint, unless the log still holds
        the message the checkpoint was saved after (then folding the log learns it all again, exactly).
        A log from 0 may be another one than the checkpoint's: a broker that lost its log (Tansu keeps
        it in memory) or a topic made again, holding only what was published since. A checkpoint holding
        a past of its own (``DetectorCheckpoints.holds_a_past``) is resumed whatever the log holds. False
        when the partition has no checkpoint."""
        saved = await self.checkpoints.load(p)
        if saved is None:
            return False
        if (self.checkpoints.holds_a_past(saved) or saved["offset"] < 1
                or await self._message_differs(p, saved["offset"] - 1, saved.get("crc"))):
            await self.checkpoints.resume(p, pf, saved)
        return True

    async def rebuild(self, p: int, upto: int) -> tuple[PartitionFloor, list, list]:
        """Fold partition ``p`` from its first offset up to (not including) ``upto``."""
        t0 = time.perf_counter()
        pf = self._new_partition(p)
        dead: list = []
        alerts: list = []
        if upto == 0 and not await self._checkpoint_unless_logged(p, pf) and self.s.history_db:
            # A fresh log: nothing to rebuild, but the floor may have a past in the history store.
            await self.checkpoints.warm_from_history(p, pf, self.s.history_db, self.s.config)
        if upto > 0:
            tp = TopicPartition(EVENTS_TOPIC, p)
            consumer = AIOKafkaConsumer(
                bootstrap_servers=bootstrap_of(self.s.kafka_url),
                enable_auto_commit=False,
                group_id=None,
                max_partition_fetch_bytes=8 << 20,
            )
            await consumer.start()
            try:
                consumer.assign([tp])
                await consumer.seek_to_beginning(tp)
                first = await consumer.position(tp)
                if first > 0:
                    # Retention removed the start of the log: state starts where the log does.
                    log.warning("partition %d: log starts at offset %d, not 0", p, first)
                    pf.next_offset = first
                    await self._resume_detectors(p, pf)
                elif not await self._checkpoint_unless_logged(p, pf) and self.s.history_db:
                    # As for a fresh log: the log from 0 may be younger than the store's past (warmed
                    # boundaries are not learnt again, so a store holding the same days changes nothing).
                    await self.checkpoints.warm_from_history(p, pf, self.s.history_db, self.s.config)
                done = first >= upto
                while not done:
                    batch = await consumer.getmany(tp, timeout_ms=1000, max_records=5000)
                    for msg in batch.get(tp, ()):
                        if msg.offset >= upto:
                            done = True
                            break
                        if msg.offset != pf.next_offset:
                            pf.next_offset = msg.offset  # a hole in the log (compaction)
                        res = pf.fold(msg.offset, msg.value, dict(msg.headers or ()), msg.timestamp)
                        dead.extend((msg.offset, raw, why) for raw, why in res.dead)
                        alerts.extend(res.alerts)
                        self.sinks[p].mark(res.sites)
                        if res.dead:
                            self.sinks[p].mark_rejected()
                        if msg.offset + 1 >= upto:
                            done = True
            finally:
                await consumer.stop()
        self.rebuilds += 1
        # Saved at the next publish: what the rebuild resumed and learnt must survive a second move or crash.
        self.checkpoints.due(p)
        log.info("partition %d rebuilt: %d messages, %d events in %.2f s", p, upto, pf.events, time.perf_counter() - t0)
        return pf, dead, alerts

    async def handle(self, p: int, offset: int, value: Optional[bytes], headers: dict, timestamp_ms: Optional[int] = None) -> tuple[list, list]:
        """Fold one message; returns (dead letters as (offset, raw, reason), alert changes)."""
        building = self.building.get(p)
        if building is not None:
            await asyncio.wait([building])
        pf = self.parts.get(p)
        dead: list = []
        alerts: list = []
        if pf is not None and p not in self.verified and (
                offset < pf.next_offset or (offset == pf.next_offset and p in self.revoked_copies)):
            self.verified.add(p)
            self.revoked_copies.discard(p)
            if await self._log_replaced(p, pf):
                if await self._overtaken(p):
                    log.warning("partition %d: the broker's log was replaced and another worker saved the partition "
                                "since this copy; rebuilding", p)
                    pf = None
                else:
                    # The broker lost its log (an in-memory broker restarted): what it
                    # lost is in our state already; the new log continues it.
                    log.warning("partition %d: the broker's log was replaced; continuing at offset %d", p, offset)
                    pf.next_offset = offset
                    pf.base = offset
        if pf is None or offset > pf.next_offset:
            pf, dead, alerts = await self.rebuild(p, offset)
        t0 = time.perf_counter()
        res = pf.fold(offset, value, headers, timestamp_ms)
        self.fold_busy_ms += (time.perf_counter() - t0) * 1000.0
        if res.status != "ok":
            return dead, alerts
        t = time.time_ns() // 1_000_000
        cpu = time.process_time()
        if self.first_fold_ms is None:
            self.first_fold_ms = t
            self.first_fold_cpu_s = cpu
        self.last_fold_ms = t
        self.last_fold_cpu_s = cpu
        self.messages += 1
        self.events += res.events
        dead.extend((offset, raw, why) for raw, why in res.dead)
        alerts.extend(res.alerts)
        self.sinks[p].mark(res.sites)
        if res.dead:
            self.sinks[p].mark_rejected()
        return dead, alerts

    def assign(self, partitions: set[int], emit: Callable) -> None:
        """The group gave this worker ``partitions`` (all it holds now): each is checked and, if need be,
        rebuilt at once (``prepare_soon``)."""
        self.assigned = set(partitions)
        self.verified.clear()
        self.prepare_soon(self.assigned, emit)

    async def prepare(self, p: int, committed: int) -> tuple[list, list]:
        """Partition ``p`` was just assigned: rebuild it now, up to ``committed`` (the group's committed offset,
        0 if none: what its previous owners folded; the messages from there come to ``handle``), if this
        worker holds no state for it or a copy another worker has overtaken (``_overtaken``), so that its
        checkpoint is saved once the rebuild is done, not when (if ever) its next message comes. Returns the
        rebuild's (dead letters, alert changes), as ``handle`` does."""
        pf = self.parts.get(p)
        if pf is not None:
            if p not in self.revoked_copies:
                return [], []
            if not await self._log_replaced(p, pf):
                if pf.next_offset >= committed:
                    # A prefix of the log as far as the group got: the messages after it come to it.
                    self.revoked_copies.discard(p)
                    self.verified.add(p)
                    return [], []
                # Behind what another worker folded (and saved, maybe): rebuilt now, as the gap would at a next message.
            elif not await self._overtaken(p):
                return [], []  # the newest copy: its next message says where the new log continues it (handle)
            else:
                log.warning("partition %d: the broker's log was replaced and another worker saved the partition "
                            "since this copy; rebuilding", p)
        if pf is None and committed == 0:
            return [], []  # nothing folded yet: its first message rebuilds it (a fresh log may warm from history)
        _, dead, alerts = await self.rebuild(p, committed)
        self.verified.add(p)  # its next message is the one at ``committed``
        return dead, alerts

    def prepare_soon(self, partitions: set[int], emit: Callable) -> None:
        """``prepare`` ``partitions`` in a task (after any still preparing one of them); ``emit(self, p, dead,
        alerts)`` sends what a rebuild rejected and raised. ``handle`` waits for the task of its partition."""
        if not partitions:
            return
        before = {t for t in (self.building.get(p) for p in partitions) if t is not None}
        task = asyncio.ensure_future(self._prepare_all(sorted(partitions), before, emit))
        for p in partitions:
            self.building[p] = task

    async def _prepare_all(self, partitions: list[int], before: set, emit: Callable) -> None:
        try:
            if before:
                await asyncio.wait(before)
            committed = await self._committed(partitions)
            for p in partitions:
                try:
                    dead, alerts = await self.prepare(p, committed[p])
                    if dead or alerts:
                        await emit(self, p, dead, alerts)
                except Exception as exc:  # noqa: BLE001 - its next message rebuilds it, as before
                    log.warning("partition %d: not rebuilt on assignment (%s: %s); its next message will", p, type(exc).__name__, exc)
        except Exception as exc:  # noqa: BLE001 - the broker is away: each partition's next message rebuilds it
            log.warning("partitions not rebuilt on assignment (%s: %s); their next messages will", type(exc).__name__, exc)
        finally:
            me = asyncio.current_task()
            for p in partitions:
                if self.building.get(p) is me:
                    del self.building[p]

    async def _overtaken(self, p: int) -> bool:
        """Has another worker saved partition ``p``'s checkpoint since this one last did (or ever, when this
        one never did)? Then its copy here is older than that worker's, which folded the log after it."""
        saved = await self.checkpoints.load(p)
        return saved is not None and not self.checkpoints.saved_here(p, saved)

    async def _committed(self, partitions: list[int]) -> dict[int, int]:
        """The group's committed offset of each partition (0 where it has none), where Faust starts it; at
        most its log's end (a log the broker lost or truncated may end before what was committed on it)."""
        from aiokafka.admin import AIOKafkaAdminClient

        tps = [TopicPartition(EVENTS_TOPIC, p) for p in partitions]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_of(self.s.kafka_url))
        await admin.start()
        try:
            got = await admin.list_consumer_group_offsets(self.s.app_id, partitions=tps)
        finally:
            await admin.close()
        if not any(got[tp].offset > 0 for tp in tps if tp in got):
            return dict.fromkeys(partitions, 0)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_of(self.s.kafka_url), enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        return {tp.partition: max(0, min(got[tp].offset, ends[tp])) if tp in got else 0 for tp in tps}

    async def _log_replaced(self, p: int, pf: PartitionFloor) -> bool:
        """Is the last message we folded gone from the broker, or different? (No: we folded none.)"""
        if pf.last_crc is None:
            return False
        return await self._message_differs(p, pf.next_offset - 1, pf.last_crc)

    async def _message_differs(self, p: int, last: int, crc: Optional[int]) -> bool:
        """Is the message at offset ``last`` of partition ``p`` gone from the broker, or not the one whose
        value's CRC-32 is ``crc`` (None: not known, any message there will do)?"""
        tp = TopicPartition(EVENTS_TOPIC, p)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_of(self.s.kafka_url), enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            consumer.assign([tp])
            end = (await consumer.end_offsets([tp]))[tp]
            if end <= last:
                return True
            consumer.seek(tp, last)
            batch = await consumer.getmany(tp, timeout_ms=3000, max_records=1)
            msgs = batch.get(tp, [])
            return not msgs or msgs[0].offset != last or (crc is not None and zlib.crc32(msgs[0].value or b"") != crc)
        finally:
            await consumer.stop()

    def revoke(self, partitions: set[int]) -> None:
        """Partitions moved away: stop publishing them.

        Their state is kept: if one comes back and nobody folded anything in
        between, it is still right; if someone did, the next offset shows a gap
        and the partition is rebuilt. When the broker lost the log meanwhile,
        ``prepare`` and ``handle`` tell which copy is newest. A partition that
        is not ours is not checkpointed: its owner's checkpoint is newer.
        """
        self.assigned -= partitions
        self.revoked_copies |= partitions & self.parts.keys()
        for p in partitions:
            sink = self.sinks.get(p)
            if sink is not None:
                sink.dirty.clear()
                sink.report_dirty.clear()

    def queue_alerts(self, p: int, alerts: list) -> None:
        pf = self.parts[p]
        pf.alert_log.extend(alerts)
        self.sinks[p].pending_alerts.extend(alerts)

    async def publish(self, force: bool = False) -> None:
        # Two timers publish; one at a time, so neither sends what the other took.
        async with self._publishing:
            t0 = time.perf_counter()
            try:
                await self._publish_parts(force)
            finally:
                self.publish_busy_ms += (time.perf_counter() - t0) * 1000.0

    async def _publish_parts(self, force: bool) -> None:
        # The sinks with something to publish share the worker's budget for it (RedisSink.maybe_publish).
        sharing = sum(1 for s in self.sinks.values() if s.dirty or s.report_dirty)
        for p, pf in list(self.parts.items()):
            sink = self.sinks.get(p)
            if sink is None:
                continue
            if sink.restore_pending:
                await sink.restore_alerts(sink.restore_pending)
                sink.restore_pending = []
            if sink.pending_alerts:
                batch, sink.pending_alerts = sink.pending_alerts, []
                try:
                    await sink.publish_alerts(batch)
                except BaseException:
                    sink.pending_alerts[:0] = batch
                    raise
            sink.folded_ms = self.last_fold_ms
            sink.fold_busy_ms = self.fold_busy_ms
            await sink.maybe_publish(pf.floor, force=force, sharing=sharing)
            if p in self.assigned:
                await self.checkpoints.maybe_save(p, pf)

    async def _redis_lost(self) -> bool:
        """True when Redis lost what we wrote since we last looked: restarted without its data,
        flushed, or failed over to an empty replica (its instance key is gone or another's)."""
        k = Keys(self.s.redis_prefix).instance
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(k, uuid.uuid4().hex, nx=True)
        pipe.get(k)
        _, value = await pipe.execute()
        lost = self._redis_instance is not None and value != self._redis_instance
        self._redis_instance = value
        return lost

    def _republish_all(self) -> None:
        """Redis lost its data: every site, report, rejection and alert goes out again.

        Each alert's latest record is written back for the wall; only the alerts still open go
        to the delivery stream again (the delivery ledger went with the data, so a resolved
        alert sent again would page people about what is over).
        """
        for p, pf in self.parts.items():
            if p not in self.assigned:
                continue  # moved to another worker: its state here may be older than theirs
            sink = self.sinks[p]
            sink.mark(pf.floor.sites)
            sink.mark_rejected()
            latest: dict[str, dict] = {}
            for ch in pf.alert_log:
                latest[ch["id"]] = ch
            pending = {id(ch) for ch in sink.pending_alerts}
            sink.restore_pending = list(latest.values())
            sink.pending_alerts[:0] = [
                ch for ch in latest.values() if ch.get("state") != "resolved" and id(ch) not in pending
            ]

    async def publish_safely(self, force: bool = False, check_redis: bool = False) -> None:
        """Publish, surviving a Redis outage: what failed is published again next time."""
        try:
            # The instance is also read before the first write: a Redis that restarts before the
            # first heartbeat must still be told from the one that took our writes.
            if (check_redis or self._redis_instance is None) and await self._redis_lost():
                log.warning("Redis lost its data (restarted or flushed): publishing every site and alert again")
                self.redis_heals += 1
                self._republish_all()
            await self.publish(force=force)
            if check_redis:
                await self.heartbeat()
            self.redis_errors_in_row = 0
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
            self.redis_errors_in_row += 1
            if self.redis_errors_in_row in (1, 10) or self.redis_errors_in_row % 100 == 0:
                log.warning("Redis unavailable (%s); will retry", type(exc).__name__)
            # What failed stays dirty/pending and goes out once Redis is back; the instance
            # value is kept, so the next successful look tells whether Redis lost its data.

    async def heartbeat(self) -> None:
        info = {
            "partitions": sorted(self.assigned),
            "events": self.events,
            "messages": self.messages,
            "rebuilds": self.rebuilds,
            "redis_heals": self.redis_heals,
            "first_fold_ms": self.first_fold_ms,
            "last_fold_ms": self.last_fold_ms,
            "fold_busy_ms": round(self.fold_busy_ms),
            "fold_window_cpu_ms": round((self.last_fold_cpu_s - self.first_fold_cpu_s) * 1000),
            "publish_busy_ms": round(self.publish_busy_ms),
            "heartbeat_ms": time.time_ns() // 1_000_000,
        }
        await self.redis.hset(Keys(self.s.redis_prefix).workers, self.s.worker_id, orjson.dumps(info))


def dead_letter_value(raw: object) -> bytes:
    """What ``floorwatch.rejected`` carries for a rejection: the input as it came (bytes), or, for
    an event the core rejected (late, contradicting its contact), that event in the wire format,
    so it can be fixed and fed again."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, tuple(EVENT_TYPES.values())):
        return encode_event(raw)
    return str(raw).encode()


# A dead letter's value is cut to this size: a producer refuses a message over its limit
# (1 MB by default, MessageSizeTooLargeError), which would stop the fold agent. The source's
# topic, partition and offset say where the whole input still is.
MAX_DEAD_LETTER_BYTES = 256 * 1024
MAX_REASON_BYTES = 2000


def dead_letter(p: int, offset: int, raw: object, why: str) -> tuple[bytes, bytes, dict[str, bytes]]:
    """(key, value, headers) of the dead letter for rejected input ``raw`` of ``EVENTS_TOPIC``/p@offset.

    >>> k, v, h = dead_letter(3, 17, b"x" * (MAX_DEAD_LETTER_BYTES + 5), "not JSON")
    >>> k, len(v), h["source"], h["truncated"]
    (b'3:17', 262144, b'floorwatch.events/3@17', b'262149')
    """
    value = dead_letter_value(raw)
    source = f"{EVENTS_TOPIC}/{p}@{offset}"
    headers = {"reason": why.encode("utf-8", "replace")[:MAX_REASON_BYTES], "source": source.encode()}
    if len(value) > MAX_DEAD_LETTER_BYTES:
        # The original size says it was cut; the source offset holds all of it.
        headers["truncated"] = str(len(value)).encode()
        value = value[:MAX_DEAD_LETTER_BYTES]
    return f"{p}:{offset}".encode(), value, headers


def make_app(settings: WorkerSettings) -> faust.App:
    """The Faust app of a floorwatch worker (its agent, timers and topics)."""
    _short_fetch_wait()
    # A broker restarted without its log must not re-create floorwatch.events with its own
    # partition count when this worker asks for it: the topics timer below creates it.
    forbid_auto_create()
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.partitions,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=max(6.0, settings.rebalance_timeout_s * 2),
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        # Up to 4 MB a partition per fetch (Faust's default: 1 MB, three 2,000-event messages):
        # a worker behind fetches its backlog in fewer round trips (bench pipeline).
        consumer_max_fetch_size=4 << 20,
    )
    events = app.topic(
        EVENTS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=settings.partitions
    )
    rejected = app.topic(REJECTED_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(ALERTS_TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    holder: dict[str, FloorWorker] = {}

    async def worker() -> FloorWorker:
        w = holder.get("w")
        if w is None:
            w = holder["w"] = FloorWorker(settings, aioredis.from_url(settings.redis_url))
        return w

    async def _emit(w: FloorWorker, p: int, dead: list, alerts: list) -> None:
        for offset, raw, why in dead:
            key, value, headers = dead_letter(p, offset, raw, why)
            await rejected.send(key=key, value=value, headers=headers)
        if alerts:
            for ch in alerts:
                await alerts_topic.send(key=str(ch.get("site", "")).encode(), value=orjson.dumps(ch))
            w.queue_alerts(p, alerts)

    @app.agent(events)
    async def fold(stream):  # noqa: ANN001 - Faust's stream type
        w = await worker()
        async for ev in stream.events():
            msg = ev.message
            headers = {k: v for k, v in (msg.headers or ())} if not isinstance(msg.headers, dict) else msg.headers
            # Faust gives the Kafka timestamp in seconds; the fold judges event times against it (ms).
            ts = msg.timestamp
            dead, alerts = await w.handle(msg.partition, msg.offset, ev.value, headers, None if ts is None else round(ts * 1000))
            if dead or alerts:
                await _emit(w, msg.partition, dead, alerts)

    @app.timer(settings.publish_interval_ms / 1000.0)
    async def publish() -> None:
        w = await worker()
        # Once the input goes quiet, everything still pending goes out at once.
        idle = w.last_fold_ms is None or time.time_ns() // 1_000_000 - w.last_fold_ms > 1000
        await w.publish_safely(force=idle)

    @app.timer(2.0)
    async def heartbeat() -> None:
        await (await worker()).publish_safely(check_redis=True)

    @app.task
    async def quiet_outages() -> None:
        # Faust has set up logging by now: an outage of the broker or Redis is a few lines, not thousands.
        install_repeat_limit()

    @app.timer(TOPICS_CHECK_S)
    async def topics() -> None:
        try:
            created = await ensure_topics(settings.kafka_url, settings.partitions)
        except Exception as exc:  # the broker is away: Faust's own reconnects say so
            log.warning("cannot check the topics (%s); will retry", type(exc).__name__)
            return
        if created:
            log.warning("created %s (the broker lost them: restarted without its log?)", ", ".join(created))

    @app.on_partitions_revoked.connect
    async def on_revoked(sender, revoked, **kwargs) -> None:  # noqa: ANN001
        w = holder.get("w")
        if w is not None:
            w.revoke({tp.partition for tp in revoked if tp.topic == EVENTS_TOPIC})

    @app.on_partitions_assigned.connect
    async def on_assigned(sender, assigned, **kwargs) -> None:  # noqa: ANN001
        w = await worker()
        # Rebuilt and checkpointed in a task (FloorWorker.prepare): the rebalance does not wait for it.
        w.assign({tp.partition for tp in assigned if tp.topic == EVENTS_TOPIC}, _emit)

    if settings.history_db:
        from stream.history.sink import attach_history

        attach_history(app, settings, holder)
    app.floorwatch = holder  # for tests and the CLI
    return app


def run_worker(settings: WorkerSettings, loglevel: str = "warning") -> None:
    """Run a worker until SIGINT/SIGTERM (``floorwatch worker``)."""
    app = make_app(settings)
    app.finalize()
    from faust.worker import Worker

    from stream.runtime.gc_tuning import tune_for_folding

    tune_for_folding()

    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
