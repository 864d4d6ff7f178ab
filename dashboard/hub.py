"""The dashboard's live state and its fan-out to the walls.

One :class:`Hub` per process. It holds one subscriber on Redis pub/sub
(``changes``, ``alerts:ch``, ``acks:ch``, ``silences:ch``, ``feed:ch``), keeps each site's snapshot current
by applying the workers' patches, projects it to the wall's view
(:mod:`dashboard.wall`), and sends each wall-level change, serialised once,
to every connected client.

Why a bounded queue per client: a TV that stops reading (asleep, on a bad
Wi-Fi) must not hold up the others nor the subscriber. ``put_nowait`` never
waits; when a client's queue is full its queued messages are dropped (counted)
and it is sent one full snapshot instead, which supersedes everything it
missed. A worker's patch with a new ``epoch`` or a gap in ``seq`` is not
applied: the site's snapshot is re-read from Redis and sent whole.

It also writes what people do from the page (:mod:`dashboard.actions`):
acknowledgements (the first one stands), silences, and an audit entry for each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import orjson
import redis.asyncio as aioredis

from dashboard.ahead import advice_view, apply_advice
from dashboard.wall import History, apply_in_place, live_alert, project, reason_names, wall_alert
from stream.alerts.silences import silence_key
from stream.contracts.figures import wall_figures
from stream.contracts.floor_config import FloorConfig
from stream.fold.delta import diff
from stream.runtime.redis_keys import Keys

log = logging.getLogger("dashboard.hub")

AUDIT_MAXLEN = 100_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


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
        self.silences: dict[str, dict] = {}
        self.feed: Optional[dict] = None
        # site -> the workers' staffing advice record (dashboard.ahead), as published
        self.advice: dict[str, dict] = {}
        self.reasons = reason_names(config)
        self.clients: set[Client] = set()
        self.metrics = Metrics()
        self._task: Optional[asyncio.Task] = None
        self._ready = asyncio.Event()
        self._last_text: dict[str, dict] = {}
        self._open: dict[str, set[str]] = {}

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
                await pubsub.subscribe(k.changes, k.alerts_ch, k.acks_ch, k.silences_ch, k.feed_ch, k.advice_ch)
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
            adv = await self.r.get(k.advice(s))
            if adv is not None:
                self.advice[s] = orjson.loads(adv)
            await self._reload_site(s)
        raw_alerts = await self.r.hgetall(k.alerts)
        raw_acks = await self.r.hgetall(k.acks)
        self.alerts = {i.decode(): orjson.loads(v) for i, v in raw_alerts.items()}
        self._open = {}
        for rec in self.alerts.values():
            self._index(rec)
        self.acks = {i.decode(): orjson.loads(v) for i, v in raw_acks.items()}
        self.silences = {i.decode(): orjson.loads(v) for i, v in (await self.r.hgetall(k.silences)).items()}
        feed = await self.r.get(k.feed)
        self.feed = orjson.loads(feed) if feed else None

    async def _reload_site(self, site: str) -> Optional[SiteState]:
        data = await self.r.get(self.keys.snap(site))
        if data is None:
            return None
        raw = orjson.loads(data)
        self.metrics.snapshot_reloads += 1
        view = self._project(site, raw)
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
            self._index(rec)
            self.broadcast(dumps({"t": "alert", "alert": self.shown_alert(rec["id"])}))
        elif ch == k.acks_ch:
            ack = orjson.loads(data)
            # The first acknowledgement stands: a later one (another dashboard's) never replaces it.
            first = self.acks.setdefault(ack["id"], {k: ack.get(k) for k in ("by", "at_ms", "floor_ms")})
            self.broadcast(dumps({"t": "ack", "id": ack["id"], "by": first.get("by"), "at_ms": first.get("at_ms"),
                                  "floor_ms": first.get("floor_ms")}))
        elif ch == k.silences_ch:
            msg = orjson.loads(data)
            if msg.get("lifted"):
                self.silences.pop(msg["key"], None)
            else:
                self.silences[msg["key"]] = msg
            self.broadcast(dumps({"t": "silences", "silences": self.silence_list()}))
        elif ch == k.feed_ch:
            self.feed = orjson.loads(data)
            self.broadcast(dumps({"t": "feed", "feed": self.feed}))
        elif ch == k.advice_ch:
            self._on_advice(orjson.loads(data))

    def _project(self, site: str, raw: dict) -> dict:
        """The wall's view of a site: its snapshot projected, with the staffing advice on its queues."""
        return apply_advice(project(raw, self.config), advice_view(self.advice.get(site)))

    def _on_advice(self, rec: dict) -> None:
        """New staffing advice for a site: its view again, and what changed to the walls."""
        site = rec.get("site")
        if not isinstance(site, str):
            return
        self.advice[site] = rec
        st = self.sites.get(site)
        if st is None:
            return
        old = st.view
        st.view = self._project(site, st.raw)
        ops = diff(old, st.view)
        if ops:
            # Same seq: the advice rides on the site's current snapshot (a wall patches it in place).
            self.broadcast(dumps({"t": "advice", "site": site, "epoch": st.epoch, "seq": st.seq, "patch": ops}))

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
        st.view = self._project(site, st.raw)
        st.history.add(st.view)
        self.broadcast(dumps({"t": "patch", "site": site, "epoch": epoch, "seq": seq, "published_ms": published,
                              "patch": diff(old, st.view)}))
        self._refresh_alerts(site)

    def _refresh_alerts(self, site: str) -> None:
        """Re-word the site's open alerts with the live figures; send those whose text changed."""
        for aid in list(self._open.get(site, ())):
            before = self._last_text.get(aid)
            shown = self.shown_alert(aid)
            if shown["message"] != before:
                self.broadcast(dumps({"t": "alert", "alert": shown}))

    def _index(self, rec: dict) -> None:
        """Keep the per-site set of open alerts (the only ones re-worded on each change)."""
        open_ = self._open.setdefault(str(rec.get("site")), set())
        if rec.get("state") == "resolved":
            open_.discard(rec["id"])
            self._last_text.pop(rec["id"], None)
        else:
            open_.add(rec["id"])

    def shown_alert(self, aid: str) -> dict:
        """The alert as walls show it: live figures when its site's snapshot has them, and its ack."""
        rec = self.alerts[aid]
        st = self.sites.get(rec.get("site"))
        live = live_alert(rec, st.raw) if st is not None else None
        out = wall_alert(live or rec, self.acks.get(aid))
        self._last_text[aid] = out["message"]
        return out

    # -- fan-out -----------------------------------------------------------

    def full_message(self) -> bytes:
        """Everything a wall needs to start: every site's view and history, and the alerts."""
        return dumps(
            {
                "t": "snapshot",
                "sites": {s: {"view": st.view, "epoch": st.epoch, "seq": st.seq, "history": st.history.as_list()}
                          for s, st in sorted(self.sites.items())},
                "alerts": self.alert_list(active_only=True),
                "silences": self.silence_list(),
                "feed": self.feed,
                "reasons": self.reasons,
                "figures": wall_figures(),
                "server_ms": now_ms(),
            }
        )

    def alert_list(self, *, active_only: bool = False) -> list[dict]:
        out = [self.shown_alert(i) for i, rec in self.alerts.items()
               if not active_only or rec.get("state") != "resolved"]
        out.sort(key=lambda a: (a.get("at_ms") or 0), reverse=True)
        return out

    def silence_list(self) -> list[dict]:
        return sorted(self.silences.values(), key=lambda x: x.get("key", ""))

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

    # -- what people do from the page -------------------------------------

    async def audit(self, who: Any, action: str, target: str, **detail: Any) -> dict:
        """Append to the audit log (``audit``, a Redis stream): who, what, when."""
        entry = {"at_ms": now_ms(), "by": who.name, "role": who.role, "action": action, "target": target, **detail}
        await self.r.xadd(self.keys.audit, {"entry": dumps(entry)}, maxlen=AUDIT_MAXLEN, approximate=True)
        return entry

    async def read_audit(self, limit: int = 200) -> list[dict]:
        """The newest ``limit`` audit entries, newest first."""
        rows = await self.r.xrevrange(self.keys.audit, count=limit)
        return [orjson.loads(f[b"entry"]) for _id, f in rows]

    async def ack(self, alert_id: str, who: Any) -> Optional[tuple[dict, bool]]:
        """Acknowledge an alert; (the alert as shown, whether this was the first ack), or None if no such alert.

        ``HSETNX``: the first acknowledgement is the one that stands, across
        every dashboard process; a second click records an audit entry only.
        """
        k = self.keys
        if alert_id not in self.alerts:
            raw = await self.r.hget(k.alerts, alert_id)
            if raw is None:
                return None
            self.alerts[alert_id] = orjson.loads(raw)
        ack = {"by": who.name, "at_ms": now_ms()}
        # Also when on the floor's clock (event time), which the wall shows: in a
        # replay or a simulated day the two differ.
        floor = self.site_clock(str(self.alerts[alert_id].get("site")))
        if floor is not None:
            ack["floor_ms"] = floor
        first = bool(await self.r.hsetnx(k.acks, alert_id, dumps(ack)))
        if first:
            await self.r.publish(k.acks_ch, dumps({"id": alert_id, **ack}))
            self.acks[alert_id] = ack
        else:
            self.acks[alert_id] = orjson.loads(await self.r.hget(k.acks, alert_id))
        await self.audit(who, "ack", alert_id, result="acknowledged" if first else "already acknowledged",
                         first_by=self.acks[alert_id].get("by"))
        return self.shown_alert(alert_id), first

    def site_clock(self, site: str) -> Optional[int]:
        st = self.sites.get(site)
        c = st.view.get("clock") if st is not None else None
        return int(c) if isinstance(c, (int, float)) else None

    async def silence(self, who: Any, site: str, queue: str, rule: str, minutes: int, reason: str) -> dict:
        """Silence ``rule`` on ``site``'s ``queue`` for ``minutes`` of the floor's time (stream.alerts.silences)."""
        key = silence_key(site, queue, rule)
        wall = now_ms()
        start = self.site_clock(site) or wall
        rec = {"key": key, "site": site, "queue": queue, "rule": rule, "by": who.name, "reason": reason,
               "minutes": minutes, "from_ms": start, "until_ms": start + minutes * 60_000,
               "at_ms": wall, "until_wall_ms": wall + minutes * 60_000}
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.silences, key, dumps(rec))
        pipe.publish(self.keys.silences_ch, dumps(rec))
        await pipe.execute()
        self.silences[key] = rec
        await self.audit(who, "silence", key, minutes=minutes, reason=reason, until_ms=rec["until_ms"])
        return rec

    async def lift_silence(self, who: Any, key: str) -> bool:
        """End a silence early; False if there was none."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(self.keys.silences, key)
        pipe.publish(self.keys.silences_ch, dumps({"key": key, "lifted": True}))
        gone, _ = await pipe.execute()
        self.silences.pop(key, None)
        await self.audit(who, "lift silence", key, result="lifted" if gone else "no such silence")
        return bool(gone)
