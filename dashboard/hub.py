"""The dashboard's live state and its fan-out to the walls.

One :class:`Hub` per process. It holds one subscriber on Redis pub/sub
(``changes``, ``alerts:ch``, ``acks:ch``), keeps each site's snapshot current
by applying the workers' patches, projects it to the wall's view
(:mod:`dashboard.wall`), and sends each wall-level change, serialised once,
to every connected client.

Why a bounded queue per client: a TV that stops reading (asleep, on a bad
Wi-Fi) must not hold up the others nor the subscriber. ``put_nowait`` never
waits; when a client's queue is full its queued messages are dropped (counted)
and it is sent one full snapshot instead, which supersedes everything it
missed. A worker's patch with a new ``epoch`` or a gap in ``seq`` is not
applied: the site's snapshot is re-read from Redis and sent whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import orjson
import redis.asyncio as aioredis

from dashboard.wall import History, apply_in_place, project
from stream.contracts.floor_config import FloorConfig
from stream.fold.delta import diff
from stream.runtime.redis_keys import Keys

log = logging.getLogger("dashboard.hub")

_ALERT_FIELDS = ("id", "dedup_key", "rule", "site", "queue", "severity", "state", "value", "threshold", "since_ms", "at_ms", "message")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def wall_alert(rec: dict, ack: Optional[dict]) -> dict:
    """An alert as the wall and the API show it: known fields only, plus its ack."""
    out = {k: rec.get(k) for k in _ALERT_FIELDS}
    msg = rec.get("message") if isinstance(rec.get("message"), dict) else {}
    out["message"] = {k: str(v)[:300] for k, v in msg.items() if k in ("zh-CN", "en")}
    out["acknowledged"] = ack is not None
    out["ack_by"] = ack.get("by") if ack else None
    out["ack_at_ms"] = ack.get("at_ms") if ack else None
    return out


@dataclass
class SiteState:
    raw: dict
    view: dict
    epoch: Optional[str]
    seq: int
    history: History = field(default_factory=History)


class Client:
    """One websocket's outbox; ``resync`` means "send the whole floor next"."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize)
        self.resync = asyncio.Event()
        self.wake = asyncio.Event()


@dataclass
class Metrics:
    changes_received: int = 0
    messages_sent: int = 0
    messages_dropped: int = 0
    slow_clients_closed: int = 0
    resyncs: int = 0
    snapshot_reloads: int = 0
    last_published_ms: Optional[int] = None
    last_received_lag_ms: Optional[int] = None
    redis_up: bool = False


class Hub:
    """Live floor state of one dashboard process, fed by Redis, fanned out to clients."""

    def __init__(self, redis_url: str, *, prefix: Optional[str] = None, config: Optional[FloorConfig] = None,
                 client_queue: int = 64) -> None:
        self.redis_url = redis_url
        self.keys = Keys(prefix)
        self.config = config
        self.client_queue = client_queue
        self.r: aioredis.Redis = aioredis.from_url(redis_url)
        self.sites: dict[str, SiteState] = {}
        self.alerts: dict[str, dict] = {}
        self.acks: dict[str, dict] = {}
        self.clients: set[Client] = set()
        self.metrics = Metrics()
        self._task: Optional[asyncio.Task] = None
        self._ready = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dashboard-subscriber")
        try:
            await asyncio.wait_for(self._ready.wait(), 5.0)
        except asyncio.TimeoutError:
            log.warning("redis not reachable yet; serving empty until it is")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self.r.aclose()

    async def _run(self) -> None:
        """Subscribe, load everything, then apply messages; on any Redis error start over."""
        k = self.keys
        backoff = 0.2
        while True:
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            try:
                # Subscribe before loading so nothing published in between is lost
                # (patches already contained in the loaded snapshot are skipped by seq).
                await pubsub.subscribe(k.changes, k.alerts_ch, k.acks_ch)
                await self._load_all()
                self.metrics.redis_up = True
                self._ready.set()
                self._resync_all()
                backoff = 0.2
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None:
                        continue
                    await self._on_message(msg["channel"], msg["data"])
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception as exc:  # Redis went away: keep serving what we have, retry
                self.metrics.redis_up = False
                log.warning("redis subscriber: %s; retrying in %.1fs", type(exc).__name__, backoff)
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    # -- loading -----------------------------------------------------------

    async def _load_all(self) -> None:
        k = self.keys
        names = sorted(n.decode() for n in await self.r.hkeys(k.sites))
        for s in names:
            await self._reload_site(s)
        raw_alerts = await self.r.hgetall(k.alerts)
        raw_acks = await self.r.hgetall(k.acks)
        self.alerts = {i.decode(): orjson.loads(v) for i, v in raw_alerts.items()}
        self.acks = {i.decode(): orjson.loads(v) for i, v in raw_acks.items()}

    async def _reload_site(self, site: str) -> Optional[SiteState]:
        data = await self.r.get(self.keys.snap(site))
        if data is None:
            return None
        raw = orjson.loads(data)
        self.metrics.snapshot_reloads += 1
        view = project(raw, self.config)
        st = self.sites.get(site)
        if st is None:
            st = self.sites[site] = SiteState(raw=raw, view=view, epoch=raw.get("epoch"), seq=int(raw.get("seq") or 0))
        else:
            st.raw, st.view, st.epoch, st.seq = raw, view, raw.get("epoch"), int(raw.get("seq") or 0)
        st.history.add(view)
        return st

    # -- messages ----------------------------------------------------------

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        ch = channel.decode()
        k = self.keys
        if ch == k.changes:
            await self._on_change(orjson.loads(data))
        elif ch == k.alerts_ch:
            rec = orjson.loads(data)
            self.alerts[rec["id"]] = rec
            self.broadcast(dumps({"t": "alert", "alert": wall_alert(rec, self.acks.get(rec["id"]))}))
        elif ch == k.acks_ch:
            ack = orjson.loads(data)
            self.acks[ack["id"]] = {"by": ack.get("by"), "at_ms": ack.get("at_ms")}
            self.broadcast(dumps({"t": "ack", "id": ack["id"], "by": ack.get("by"), "at_ms": ack.get("at_ms")}))

    async def _on_change(self, ch: dict) -> None:
        m = self.metrics
        m.changes_received += 1
        site, epoch, seq = ch["site"], ch.get("epoch"), int(ch["seq"])
        published = ch.get("published_ms")
        if isinstance(published, int):
            m.last_published_ms = published
            m.last_received_lag_ms = now_ms() - published
        st = self.sites.get(site)
        if st is not None and epoch == st.epoch and seq <= st.seq:
            return  # already in the snapshot we loaded
        if st is None or epoch != st.epoch or seq != st.seq + 1:
            # New epoch or a gap: patches only apply to the snapshot they came from.
            st = await self._reload_site(site)
            if st is not None:
                self.broadcast(dumps({"t": "site", "site": site, "view": st.view, "epoch": st.epoch, "seq": st.seq,
                                      "published_ms": published}))
            return
        st.raw = apply_in_place(st.raw, ch.get("patch") or [])
        st.seq = seq
        old = st.view
        st.view = project(st.raw, self.config)
        st.history.add(st.view)
        self.broadcast(dumps({"t": "patch", "site": site, "epoch": epoch, "seq": seq, "published_ms": published,
                              "patch": diff(old, st.view)}))

    # -- fan-out -----------------------------------------------------------

    def full_message(self) -> bytes:
        """Everything a wall needs to start: every site's view and history, and the alerts."""
        return dumps(
            {
                "t": "snapshot",
                "sites": {s: {"view": st.view, "epoch": st.epoch, "seq": st.seq, "history": st.history.as_list()}
                          for s, st in sorted(self.sites.items())},
                "alerts": self.alert_list(active_only=True),
                "server_ms": now_ms(),
            }
        )

    def alert_list(self, *, active_only: bool = False) -> list[dict]:
        out = [wall_alert(rec, self.acks.get(i)) for i, rec in self.alerts.items()
               if not active_only or rec.get("state") != "resolved"]
        out.sort(key=lambda a: (a.get("at_ms") or 0), reverse=True)
        return out

    def connect(self) -> Client:
        c = Client(self.client_queue)
        c.resync.set()  # its first message is the whole floor
        c.wake.set()
        self.clients.add(c)
        return c

    def disconnect(self, c: Client) -> None:
        self.clients.discard(c)

    def broadcast(self, data: bytes) -> None:
        """Queue ``data`` for every client without ever waiting on one."""
        msg = data.decode()  # once, not once per client (websockets send text frames as str)
        for c in self.clients:
            if c.resync.is_set():
                continue  # a full snapshot is already due; it will contain this change
            try:
                c.queue.put_nowait(msg)
            except asyncio.QueueFull:
                self._fall_behind(c)
            c.wake.set()

    def _fall_behind(self, c: Client) -> None:
        dropped = c.queue.qsize() + 1
        while not c.queue.empty():
            c.queue.get_nowait()
        self.metrics.messages_dropped += dropped
        self.metrics.resyncs += 1
        c.resync.set()
        c.wake.set()

    def request_resync(self, c: Client) -> None:
        """The client saw a gap it cannot patch over: send it the whole floor."""
        if c.queue.empty():
            c.resync.set()
        else:
            self._fall_behind(c)  # what is queued is superseded by the snapshot
        c.wake.set()

    def _resync_all(self) -> None:
        for c in self.clients:
            self.request_resync(c)

    async def next_messages(self, c: Client) -> list[str]:
        """What to send this client next (waits until there is something)."""
        while True:
            await c.wake.wait()
            c.wake.clear()
            if c.resync.is_set():
                c.resync.clear()
                while not c.queue.empty():
                    c.queue.get_nowait()
                return [self.full_message().decode()]
            out = []
            while not c.queue.empty():
                out.append(c.queue.get_nowait())
            if out:
                return out

    # -- acks --------------------------------------------------------------

    async def ack(self, alert_id: str, by: str) -> Optional[dict]:
        """Record a supervisor's acknowledgement; None if no such alert."""
        k = self.keys
        if alert_id not in self.alerts:
            raw = await self.r.hget(k.alerts, alert_id)
            if raw is None:
                return None
            self.alerts[alert_id] = orjson.loads(raw)
        ack = {"by": by, "at_ms": now_ms()}
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(k.acks, alert_id, dumps(ack))
        pipe.publish(k.acks_ch, dumps({"id": alert_id, **ack}))
        await pipe.execute()
        # Our own subscriber will hear it too; recording now makes the reply consistent.
        self.acks[alert_id] = ack
        return wall_alert(self.alerts[alert_id], ack)
