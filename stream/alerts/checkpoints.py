"""Detector checkpoints in Redis: what each partition's detectors have learnt, with the offset it reflects.

A partition's state is rebuilt from its Kafka log, but Kafka keeps two days
of it and the detectors' seasonal profiles need weeks. So the worker saves
each partition's detector checkpoint (``AlertHook.checkpoint``) in the hash
``<prefix>detectors`` (field: the partition), at most every ``every_s`` wall
seconds and only when the partition folded something new, with the CRC of
the message it was saved after. A partition rebuilt from a log that does not
hold what the checkpoint learnt from resumes from it: a log whose start is
gone (retention), or another log from offset 0 (a broker that lost its log,
as Tansu's memory storage does when it stops; a topic made again), told by
that message being gone or different. Boundaries the
checkpoint had learnt are not learnt again (``AlertEngine.resume``), so it
does not matter how far the retained log and the checkpoint overlap.

A checkpoint that holds a past its log does not (its partition resumed one,
warmed from the history store, or lived through its broker losing the log)
says so (``base``: the offset that past was joined at), and is resumed even
when the log still holds its last message: folding that log again from 0
would not learn the past (a second move or crash would forget it).

With no checkpoint at all (a new deployment, a Redis that lost it) and a
history store (docs/history.md), ``warm_from_history`` gives the hook one
learnt from the store's last four weeks of interval rows instead
(``stream.alerts.warm``), so the detectors do not start blind.

The shell's job only: the wall clock paces the saves, never what is learnt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, datetime, timezone
from typing import Any, Optional

import orjson

from stream.runtime.redis_keys import Keys

__all__ = ["DetectorCheckpoints", "history_checkpoint"]

log = logging.getLogger(__name__)


class DetectorCheckpoints:
    """Save and load partitions' detector checkpoints in one Redis hash."""

    def __init__(self, redis: Any, prefix: Optional[str] = None, every_s: float = 10.0) -> None:
        self.redis = redis
        self.key = Keys(prefix).prefix + "detectors"
        self.every_s = every_s
        # partition -> (wall time, offset, CRC) of this process's last save
        self._saved: dict[int, tuple[float, int, Optional[int]]] = {}

    async def maybe_save(self, partition: int, pf: Any) -> bool:
        """Save ``pf``'s checkpoint if it has a new one and the last save is ``every_s`` old."""
        hook = pf.on_events
        if hook is None or not hasattr(hook, "checkpoint"):
            return False
        now = time.monotonic()
        last = self._saved.get(partition)
        if last is not None and (now - last[0] < self.every_s or last[1] == pf.next_offset):
            return False
        ckpt = hook.checkpoint()
        if ckpt is None:
            return False
        # The CRC of the message it was saved after tells the log it reflects from another one.
        offset, crc = pf.next_offset, pf.last_crc
        saved = {"offset": offset, "crc": crc, "checkpoint": ckpt}
        if getattr(pf, "base", None) is not None:
            saved["base"] = pf.base
        await self.redis.hset(self.key, str(partition), orjson.dumps(saved))
        # What was saved, not what the partition has folded since: the agent folds on while the write
        # awaits Redis, and a partition whose last message came then would never be saved again.
        self._saved[partition] = (now, offset, crc)
        return True

    def due(self, partition: int) -> None:
        """Save ``partition``'s checkpoint at the next ``maybe_save``, however recent the last one (a
        partition just rebuilt: a second move or crash must find what the rebuild resumed and learnt)."""
        self._saved.pop(partition, None)

    def saved_here(self, partition: int, saved: dict) -> bool:
        """Is ``saved`` (as ``load`` gives it) the last checkpoint this process saved for ``partition``?
        Another one means another worker saved the partition since (or before, when this process never did)."""
        last = self._saved.get(partition)
        return last is not None and (saved["offset"], saved.get("crc")) == last[1:]

    @staticmethod
    def holds_a_past(saved: dict) -> bool:
        """Does ``saved`` hold what no log from offset 0 gives back (see the module's docstring)?"""
        return saved.get("base") is not None

    async def load(self, partition: int) -> Optional[dict]:
        """``{"offset": …, "checkpoint": …}`` saved for ``partition``, or None."""
        raw = await self.redis.hget(self.key, str(partition))
        return None if raw is None else orjson.loads(raw)

    async def resume(self, partition: int, pf: Any, saved: Optional[dict] = None) -> bool:
        """Give ``pf``'s hook the saved checkpoint (``saved``, else the one in Redis), for a log that does
        not hold what it learnt from (its start gone, or another log); False if there is none."""
        hook = pf.on_events
        if hook is None or not hasattr(hook, "resume"):
            return False
        if saved is None:
            saved = await self.load(partition)
        if saved is None:
            return False
        hook.resume(saved["checkpoint"])
        pf.base = pf.next_offset
        log.info("partition %d: detectors resumed from their checkpoint at offset %d", partition, saved["offset"])
        return True

    async def warm_from_history(self, partition: int, pf: Any, db_url: str, floor_config: Any) -> bool:
        """Give ``pf``'s hook a checkpoint learnt from the history store (a cold start); False if
        the store has nothing for it or cannot be read (then the detectors start blind, as before)."""
        hook = pf.on_events
        if hook is None or not hasattr(hook, "resume"):
            return False
        try:
            ckpt = await asyncio.to_thread(history_checkpoint, db_url, hook.alerts, floor_config)
        except Exception as exc:  # noqa: BLE001 - a cold start must never stop the worker
            log.warning("partition %d: detectors not warmed from history: %s", partition, exc)
            return False
        if not ckpt["detectors"]:
            return False
        hook.resume(ckpt)
        pf.base = pf.next_offset
        log.info("partition %d: detectors warmed from history (%d queues, up to %s)", partition, len(ckpt["detectors"]), ckpt["learnt"])
        return True


def history_checkpoint(db_url: str, alerts: Any, floor_config: Any, days: Optional[int] = None) -> dict:
    """A detector checkpoint learnt from the history store's last ``days`` days of each site (blocking)."""
    from stream.alerts.warm import HISTORY_DAYS, warm_checkpoint
    from stream.history.store import Store

    span_ms = (days or HISTORY_DAYS) * 86_400_000
    store = Store.open(db_url, migrate=False, must_exist=True)
    try:
        rows: list[dict] = []
        zones: dict[str, str] = {}
        for site in store.sites():
            last = store.last_date(site)
            if last is None:
                continue
            zones[site] = floor_config.site(site).timezone
            end = datetime.combine(date.fromisoformat(last), datetime.min.time(), tzinfo=timezone.utc).timestamp() * 1000
            rows += store.queue_rows(site, None, int(end) + 2 * 86_400_000 - span_ms, 1 << 62)
    finally:
        store.close()
    return warm_checkpoint(rows, alerts, zones)
