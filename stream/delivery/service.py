"""The delivery service: from ``fw:alerts:log`` to messages, escalation and acknowledgements.

Three loops share one :class:`DeliveryService`:

* **consume** - ``XREADGROUP`` on ``alerts:log`` (group ``delivery``). Entries
  this consumer held when it stopped are re-read first, entries a dead
  consumer held for ``reclaim_idle_s`` are taken over with ``XAUTOCLAIM``,
  then new ones. An entry is ``XACK``-ed only after every message it caused is
  finished (sent, failed for good, or suppressed), so a crash re-reads it.
* **tick** - every ``tick_s``: escalation deadlines that passed and
  acknowledgements that the pub/sub listener may have missed.
* **acks** - the ``acks:ch`` channel, so an acknowledgement stops the ladder
  and acknowledges the pager at once.

Each message is claimed in the ledger before it is sent (see ``ledger``), so
a change read twice - the worker re-emitted it, or this service crashed before
``XACK`` - still gives one message per recipient, channel and state.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import zlib
from collections import defaultdict
from typing import Any

import aiohttp

from stream.alerts.silences import candidate_keys, silence_for
from stream.delivery import config as C
from stream.delivery.change import kind_of
from stream.delivery.channels import Outbound, Sender, build_senders
from stream.delivery.clock import Clock, SystemClock
from stream.delivery.config import DeliveryConfig, load_delivery_config
from stream.delivery.http import DeliveryError
from stream.delivery.ledger import Ledger
from stream.delivery.limits import RateLimiter, quiet_blocks
from stream.delivery.privacy import install_redaction, log, mask_address, redact
from stream.delivery.retry import with_retries
from stream.runtime.redis_keys import Keys

__all__ = ["DeliveryService", "run_delivery"]

# The outcome of a message someone else has claimed and not finished.
IN_FLIGHT = "in_flight"


class DeliveryService:
    """Delivers AlertChanges for one floorwatch prefix."""

    def __init__(
        self,
        redis: Any,
        cfg: DeliveryConfig,
        *,
        prefix: str = "fw:",
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
        senders: dict[str, Sender] | None = None,
        consumer: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.r = redis
        self.cfg = cfg
        self.k = Keys(prefix)
        self.clock = clock or SystemClock()
        self.settings = cfg.settings
        self.ledger = Ledger(
            redis,
            self.k,
            ttl_ms=int(cfg.settings.record_ttl_days * 86_400_000),
            log_maxlen=cfg.settings.delivery_log_maxlen,
        )
        self.session = session
        self.senders = senders if senders is not None else (build_senders(cfg, session) if session else {})
        # A stable name, so a restarted runner re-reads the entries it held
        # (set ``consumer`` per runner when several share a host).
        self.consumer = consumer or cfg.settings.consumer or f"{socket.gethostname()}"
        self.owner = f"{self.consumer}:{os.getpid()}:{id(self):x}"
        self.rng = rng or random.Random()
        self.limiter = RateLimiter()
        # recipient -> messages the rate limit held back since their last one (in memory).
        self.held_back: defaultdict[str, int] = defaultdict(int)
        self.secrets = cfg.secrets()
        # One alert's changes, escalations and acks are handled one at a time;
        # striped locks keep that without a lock per alert id forever.
        self._stripes = [asyncio.Lock() for _ in range(64)]
        install_redaction(self.secrets)

    def _lock(self, alert_id: str) -> asyncio.Lock:
        return self._stripes[zlib.crc32(alert_id.encode()) % len(self._stripes)]

    # ------------------------------------------------------------ the stream

    async def setup(self) -> None:
        """Create the consumer group (from the start of the stream) if it is missing."""
        try:
            await self.r.xgroup_create(self.k.alerts_log, self.settings.group, id="0", mkstream=True)
        except Exception as exc:  # redis.ResponseError BUSYGROUP: it exists, fine
            if "BUSYGROUP" not in str(exc):
                raise

    async def recover(self) -> int:
        """Process what this consumer held, then what dead consumers held; returns entries handled."""
        n = 0
        after = "0"
        while True:
            # Our own pending entries, walked once with a cursor: entries left
            # pending (a message still in flight) must not be re-read forever.
            resp = await self.r.xreadgroup(
                self.settings.group, self.consumer, {self.k.alerts_log: after}, count=100
            )
            entries = resp[0][1] if resp else []
            if not entries:
                break
            for entry_id, fields in entries:
                await self.handle_entry(entry_id, fields)
                n += 1
                after = entry_id
        return n + await self.reclaim()

    async def reclaim(self) -> int:
        """Take over entries other consumers held longer than ``reclaim_idle_s`` (they crashed)."""
        n = 0
        start = "0-0"
        for _ in range(1000):  # a bound, not a limit anyone should reach
            resp = await self.r.xautoclaim(
                self.k.alerts_log, self.settings.group, self.consumer,
                min_idle_time=int(self.settings.reclaim_idle_s * 1000), start_id=start, count=100,
            )  # fmt: skip
            start, entries = resp[0], resp[1]
            for entry_id, fields in entries:
                await self.handle_entry(entry_id, fields)
                n += 1
            # An empty batch with a cursor only means these entries were not
            # idle long enough; the cursor says whether the PEL goes on.
            if start in ("0-0", b"0-0"):
                break
        return n

    async def consume_once(self, block_ms: int = 1000) -> int:
        """Read and handle new entries (waiting up to ``block_ms``)."""
        resp = await self.r.xreadgroup(
            self.settings.group, self.consumer, {self.k.alerts_log: ">"}, count=50, block=block_ms
        )
        entries = [e for _stream, batch in resp or [] for e in batch]
        # The batch is handled concurrently, so one slow gateway does not hold
        # up other alerts. One alert's changes still go in stream order: each
        # task takes the alert's lock before its first await, in creation order,
        # and asyncio locks are fair.
        await asyncio.gather(*(self.handle_entry(entry_id, fields) for entry_id, fields in entries))
        return len(entries)

    async def handle_entry(self, entry_id: str, fields: dict | None) -> bool:
        """Handle one stream entry and XACK it - unless a message of it is still in flight.

        A message another sender has claimed and not finished (its lease has not
        run out) may belong to a sender that crashed. Acking now would lose it,
        so the entry stays pending; ``reclaim`` brings it back and, once the
        lease is over, the claim is taken over and the message sent.
        Returns whether the entry was acked.
        """
        change = None
        try:
            change = json.loads((fields or {}).get("change", ""))
            if not isinstance(change, dict) or not change.get("id") or kind_of(change) is None:
                raise ValueError("not an AlertChange")
        except ValueError:
            # A poison entry would block the group forever; log it and move on.
            log.warning("alerts log entry %s is not an AlertChange; skipped", entry_id)
            change = None
        if change is not None:
            entry_ms = int(str(entry_id).split("-", 1)[0])
            age_min = (self.clock.now_ms() - entry_ms) / 60_000
            if age_min > self.settings.max_age_min:
                log.info("alert %s (%s) is %.0f min old; not delivered", change["id"], kind_of(change), age_min)
            else:
                outcomes = await self.handle_change(change)
                if IN_FLIGHT in outcomes:
                    return False
        await self.r.xack(self.k.alerts_log, self.settings.group, entry_id)
        return True

    async def handle_change(self, change: dict) -> list[str]:
        """Act on one AlertChange; returns the outcome of each message it caused."""
        async with self._lock(change["id"]):
            state = kind_of(change)
            if state == "raised":
                return await self._on_raised(change)
            if state == "repeated":
                return await self._on_repeated(change)
            return await self._on_resolved(change)

    # ------------------------------------------------------------ alert states

    async def _on_raised(self, change: dict) -> list[str]:
        aid = change["id"]
        route = self.cfg.route_for(change)
        if route is None:
            log.info("alert %s matches no route; not delivered", aid)
            return []
        now = self.clock.now_ms()
        rec = {"route": route.name, "level": 0, "started_ms": now, "status": "open", "change": change}
        if await self.r.hexists(self.k.acks, aid):
            # Acknowledged on the wall before we got to it (e.g. delivery was
            # down): someone is on it, so nobody is paged.
            rec["status"] = "acked"
            if await self.ledger.esc_create(aid, rec):
                log.info("alert %s was acknowledged before delivery; not sent", aid)
            return []
        if not await self.ledger.esc_create(aid, rec):
            rec = await self.ledger.esc_get(aid) or rec
            if rec.get("status") != "open":
                return []  # re-emitted raise of an alert already resolved or acked
            route = self.cfg.route_named(rec["route"]) or route
        # Again on a repeated raise: a crash right after creating the record
        # must not leave the alert off the ladder. NX keeps a deadline already set.
        await self.r.sadd(self.ledger.open, aid)
        await self.ledger.schedule(aid, self._next_due(route, rec, int(rec["level"])), only_new=True)
        return await self.deliver(change, "raised", 0, route.levels[0].notify)

    async def _on_repeated(self, change: dict) -> list[str]:
        rec = await self.ledger.esc_get(change["id"])
        if rec is None:
            # First news of this alert (delivery started after the raise): the
            # alert is live and nobody here was told, so treat it as the raise.
            return await self._on_raised(change)
        if rec.get("status") != "open":
            return []
        rec["change"] = change  # the ladder's messages carry the latest figures
        await self.ledger.esc_put(change["id"], rec)
        route = self.cfg.route_named(rec["route"])
        if route is not None and route.notify_repeated:
            return await self.deliver(change, "repeated", 0, route.levels[0].notify)
        return []

    async def _on_resolved(self, change: dict) -> list[str]:
        aid = change["id"]
        rec = await self.ledger.esc_get(aid) or {"route": "", "level": 0, "started_ms": self.clock.now_ms()}
        rec["status"] = "resolved"
        rec["change"] = change
        await self.ledger.esc_put(aid, rec)
        await self.ledger.schedule(aid, None)
        await self.r.srem(self.ledger.open, aid)
        targets = [C.Notify(to=to, via=via) for to, via in await self.ledger.notified(aid)]
        return await self.deliver(change, "resolved", int(rec.get("level", 0)), targets)

    async def on_ack(self, alert_id: str, by: str | None = None) -> None:
        """An acknowledgement: stop escalating, acknowledge the pager incidents."""
        async with self._lock(alert_id):
            rec = await self.ledger.esc_get(alert_id)
            if rec is None or rec.get("status") != "open":
                return
            rec["status"] = "acked"
            rec["acked_by"] = by
            await self.ledger.esc_put(alert_id, rec)
            await self.ledger.schedule(alert_id, None)
            await self.r.srem(self.ledger.open, alert_id)
            log.info("alert %s acknowledged; escalation stopped", alert_id)
            targets = [
                C.Notify(to=to, via=via)
                for to, via in await self.ledger.notified(alert_id)
                if via in self.cfg.channels and C.channel_type(self.cfg.channels[via]) == "pagerduty"
            ]
            await self.deliver(rec["change"], "acked", int(rec.get("level", 0)), targets)

    # ------------------------------------------------------------ escalation

    @staticmethod
    def _next_due(route: C.Route, rec: dict, level: int) -> int | None:
        if level + 1 >= len(route.levels):
            return None
        return int(rec["started_ms"] + route.levels[level + 1].after_min * 60_000)

    async def tick(self) -> None:
        """Apply acknowledgements, then escalate alerts whose deadline passed."""
        open_ids = sorted(await self.r.smembers(self.ledger.open))
        if open_ids:
            acks = await self.r.hmget(self.k.acks, open_ids)
            for aid, ack in zip(open_ids, acks):
                if ack is not None:
                    by = None
                    try:
                        by = json.loads(ack).get("by")
                    except (ValueError, AttributeError):
                        pass
                    await self.on_ack(aid, by)
        for aid in await self.ledger.due_ids(self.clock.now_ms()):
            await self._escalate(aid)

    async def _escalate(self, aid: str) -> None:
        async with self._lock(aid):
            rec = await self.ledger.esc_get(aid)
            route = self.cfg.route_named(rec["route"]) if rec else None
            if rec is None or rec.get("status") != "open" or route is None:
                await self.ledger.schedule(aid, None)
                return
            # The ack check again, under the lock: no page after an ack.
            if await self.r.hexists(self.k.acks, aid):
                return  # the next tick's ack pass closes it
            level = int(rec["level"]) + 1
            if level >= len(route.levels):
                await self.ledger.schedule(aid, None)
                return
            # Send first, then record the level: a crash in between re-sends,
            # and the ledger turns that into no second message.
            outcomes = await self.deliver(rec["change"], "raised", level, route.levels[level].notify)
            if IN_FLIGHT in outcomes:
                return  # another sender's claim, maybe a dead one: try again next tick
            rec["level"] = level
            await self.ledger.esc_put(aid, rec)
            await self.ledger.schedule(aid, self._next_due(route, rec, level))

    # ------------------------------------------------------------ sending

    async def deliver(self, change: dict, kind: str, level: int, targets: list[C.Notify]) -> list[str]:
        """Send ``kind`` of ``change`` to each target once; returns each target's outcome."""
        seen: set[tuple[str, str]] = set()
        unique = []
        for t in targets:
            if (t.to, t.via) not in seen:
                seen.add((t.to, t.via))
                unique.append(t)
        return list(await asyncio.gather(*(self._deliver_one(change, kind, level, t) for t in unique)))

    async def _deliver_one(self, change: dict, kind: str, level: int, t: C.Notify) -> str:
        aid = change["id"]
        recipient = self.cfg.recipients.get(t.to)
        channel_cfg = self.cfg.channels.get(t.via)
        sender = self.senders.get(t.via)
        if recipient is None or channel_cfg is None or sender is None:
            log.warning("alert %s: recipient %s or channel %s no longer configured", aid, t.to, t.via)
            return "unknown"
        ctype = C.channel_type(channel_cfg)
        # 'repeated' may happen many times for one alert: each is its own change.
        state_key = f"repeated@{change.get('at_ms')}" if kind == "repeated" else kind
        key = self.ledger.record_key(aid, state_key, t.to, t.via)
        won, prev = await self.ledger.claim(
            key, now_ms=self.clock.now_ms(), lease_ms=int(self.settings.lease_s * 1000), owner=self.owner
        )
        if not won:
            return IN_FLIGHT if (prev or {}).get("status") == "pending" else "duplicate"
        addr_kind = C.CHANNEL_ADDRESS[ctype]
        if ctype == "log":
            # The log channel stands in for a real one: show whom it would reach (masked).
            addr_kind = "phone" if recipient.phone else ("email" if recipient.email else None)
        entry = {
            "alert_id": aid,
            "state": kind,
            "level": level,
            "channel": t.via,
            "recipient": t.to,
            "to": mask_address(addr_kind, getattr(recipient, addr_kind) if addr_kind else None),
        }
        now = self.clock.now_ms()
        severity = str(change.get("severity", ""))
        if kind in ("raised", "repeated"):
            silence = await self.silence_over(change)
            if silence is not None:
                return await self._finish(key, entry, "silenced", 0, f"silenced by {silence.get('by')}: {silence.get('reason')}")
        at = change.get("at_ms")
        when = at if self.settings.quiet_hours_time == "event" and isinstance(at, int) else now
        if quiet_blocks(recipient.quiet_hours, recipient.timezone, severity, when):
            return await self._finish(key, entry, "quiet_hours", 0, f"quiet hours of {t.to}; {severity} does not bypass")
        # Resolves and pager acks close what the person already has; never drop them.
        if kind not in ("resolved", "acked") and not self.limiter.allow(t.to, recipient.rate_limit, now):
            self.held_back[t.to] += 1
            return await self._finish(
                key, entry, "rate_limited", 0, f"rate limit of {t.to} reached; counted in their next message"
            )
        attempts = 0

        def count(n: int) -> None:
            nonlocal attempts
            attempts = n

        held = self.held_back[t.to]
        out = Outbound(change=change, kind=kind, recipient_id=t.to, recipient=recipient, level=level, held_back=held)
        r = self.cfg.retry
        try:
            await with_retries(
                lambda: sender.send(out), attempts=r.attempts, base_s=r.base_s, max_s=r.max_s,
                rng=self.rng, on_attempt=count,
            )  # fmt: skip
        except DeliveryError as exc:
            return await self._finish(key, entry, "failed", attempts, str(exc))
        except asyncio.CancelledError:
            raise  # a stop or crash: the claim stays pending and is retried after its lease
        except Exception as exc:  # a bug in a sender must not stop the floor's alerts
            log.exception("alert %s: sender %s crashed", aid, t.via)
            return await self._finish(key, entry, "failed", attempts, f"internal error: {type(exc).__name__}")
        # The digest was delivered: start counting again (less what arrived meanwhile).
        self.held_back[t.to] = max(0, self.held_back[t.to] - held)
        if kind in ("raised", "repeated"):
            await self.ledger.add_notified(aid, t.to, t.via)
        return await self._finish(key, entry, "sent", attempts, "")

    async def silence_over(self, change: dict) -> dict | None:
        """The silence (``fw:silences``, set from the wall) in force over this change, if any."""
        key = change.get("key")
        if not isinstance(key, str) or not key:
            return None
        cands = candidate_keys(key)
        recs = []
        for raw in await self.r.hmget(self.k.silences, cands):
            try:
                recs.append(json.loads(raw) if raw else None)
            except ValueError:
                continue
        return silence_for(change, [r for r in recs if r])

    async def _finish(self, key: str, entry: dict, status: str, attempts: int, error: str) -> str:
        error = redact(error, self.secrets)
        now = self.clock.now_ms()
        record_status = {"sent": "sent", "failed": "failed"}.get(status, "suppressed")
        await self.ledger.finish(key, record_status, now_ms=now, attempts=attempts, error=error)
        await self.ledger.log({"at_ms": now, **entry, "status": status, "attempts": attempts, "error": error})
        level = log.warning if status in ("failed", "rate_limited") else log.info
        level(
            "alert %s %s -> %s via %s (%s): %s%s",
            entry["alert_id"], entry["state"], entry["recipient"], entry["channel"], entry["to"] or "-",
            status, f" after {attempts} attempt(s): {error}" if status == "failed" else (f": {error}" if error else ""),
        )  # fmt: skip
        return status

    # ------------------------------------------------------------ loops

    async def _consume_loop(self, stop: asyncio.Event) -> None:
        last_reclaim = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self.consume_once(block_ms=int(min(1.0, self.settings.tick_s) * 1000))
                if loop.time() - last_reclaim >= max(self.settings.tick_s, self.settings.reclaim_idle_s / 2):
                    last_reclaim = loop.time()
                    await self.reclaim()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if "NOGROUP" in str(exc):
                    # Redis lost the stream and its group (restarted without its data, or
                    # flushed): make the group again, from the start of whatever the stream holds.
                    log.warning("%s lost its consumer group %s; creating it again", self.k.alerts_log, self.settings.group)
                    try:
                        await self.setup()
                        continue
                    except Exception as again:  # Redis went away again: retried below
                        exc = again
                log.error("consuming %s failed: %s; retrying", self.k.alerts_log, exc)
                await _sleep_or_stop(stop, 1.0)

    async def _tick_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("escalation tick failed: %s", exc)
            await _sleep_or_stop(stop, self.settings.tick_s)

    async def _ack_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pubsub = self.r.pubsub()
            try:
                await pubsub.subscribe(self.k.acks_ch)
                while not stop.is_set():
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                    if msg is None:
                        continue
                    try:
                        data = json.loads(msg["data"])
                        aid = data["id"]
                    except (ValueError, KeyError, TypeError):
                        log.warning("unreadable acknowledgement on %s", self.k.acks_ch)
                        continue
                    await self.on_ack(aid, data.get("by"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The tick's poll of the acks hash covers the gap.
                log.error("ack listener failed: %s; resubscribing", exc)
                await _sleep_or_stop(stop, 1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then finish what is in flight (up to ``stop_grace_s``).

        Cancelling this task instead is a crash: sends in flight are abandoned,
        their claims stay pending and their entries unacknowledged.
        """
        await self.setup()
        await self.recover()
        tasks = [
            asyncio.create_task(self._consume_loop(stop), name="delivery-consume"),
            asyncio.create_task(self._tick_loop(stop), name="delivery-tick"),
            asyncio.create_task(self._ack_loop(stop), name="delivery-acks"),
        ]
        try:
            await stop.wait()
            # A graceful stop lets the sends in flight finish (and be recorded),
            # so they are not sent again after the restart; the loops notice
            # ``stop`` within a second.
            await asyncio.wait(tasks, timeout=self.settings.stop_grace_s)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


async def run_delivery(
    redis_url: str,
    config_path: str | None,
    prefix: str = "fw:",
    stop: asyncio.Event | None = None,
    *,
    config: DeliveryConfig | None = None,
    clock: Clock | None = None,
    consumer: str | None = None,
) -> None:
    """Deliver the alerts of the floorwatch at ``redis_url`` until ``stop`` is set (forever without one).

    ``config`` (already loaded) wins over ``config_path``; ``clock`` is the
    wall clock for deadlines and leases (tests pass a ManualClock).
    """
    import redis.asyncio as aioredis

    cfg = config if config is not None else load_delivery_config(config_path)
    stop = stop or asyncio.Event()
    r = aioredis.from_url(redis_url, decode_responses=True)
    try:
        async with aiohttp.ClientSession() as session:
            svc = DeliveryService(r, cfg, prefix=prefix, clock=clock, session=session, consumer=consumer)
            await svc.run(stop)
    finally:
        await r.aclose()
