"""The worker's history hook: sealed intervals of its partitions, written as idempotent upserts.

Every ``every_s`` (5 s) the sink looks at each partition the worker holds: the
intervals of each site whose end the site's watermark has passed (sealed),
its agent days, its agent intervals and its alert changes. Rows that differ
from what it last offered go to the ``HistoryWriter`` (the bounded retry
queue), which writes them in a thread so the floor never waits on the database.

The look itself keeps off the worker's event loop too: on the loop it only
reads the core (copies of sums; agent intervals an hour per read,
yielding in between), and builds and compares the rows in a thread. After the
first look it reads only the agent intervals that can still change: those
ending after the watermark of the previous look (an event older than the
watermark is late and never applied), one interval of margin.

Exactly once in effect: a partition's state is a pure function of its log,
rows are keyed by (site, queue or agent, interval or date) and upserted, and
an upsert never replaces a row written further along the log. A worker
SIGKILLed and rebuilt, a redelivered message, or two workers writing around a
rebalance therefore leave the same rows. While the database is down the rows
wait (bounded, counted); the sink offers everything again once it is back, so
nothing the floor still holds (two days of intervals) is lost.

    attach_history(app, settings, holder)      # stream.runtime.worker.make_app, when settings.history_db
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any, Optional

import orjson

from stream.fold.calendar import INTERVAL_MS
from stream.history.rows import SiteRead, ack_row, alert_row, build_batch, read_agent_window, read_site
from stream.history.schema import KEYS
from stream.history.store import Batch
from stream.history.writer import HistoryWriter

log = logging.getLogger("floorwatch.history")

# Redis hash (under the floor's prefix): worker id -> this sink's counters, for the dashboard's /metrics.
STATS_KEY = "history:writers"
_KEYS = {k: v for k, v in KEYS.items() if k != "alerts"}  # alerts are new or not: never compared
# The agent intervals one read on the loop covers (the first look reads a day and more).
WINDOW_MS = 3_600_000
_DAY_MS = 86_400_000


class HistorySink:
    """Turns partition floors into changed rows for a ``HistoryWriter``."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer
        self._last: dict[tuple, tuple] = {}  # (kind, key) -> row without as_of, as last offered
        self._alerts_seen: dict[int, tuple[int, int]] = {}  # partition -> (id of its PartitionFloor, alerts offered)
        self._seen: dict[tuple[int, str], tuple] = {}  # (id of a Floor, site) -> (events, clock) at the last look
        self._acks_seen: set[str] = set()  # alert ids whose acknowledgement was offered
        # (id of a Floor, site) -> the agent intervals starting before this were final at the last look.
        self._agent_final: dict[tuple[int, str], int] = {}
        self.flushing = False
        self.busy = False  # a tick is running (its look awaits: a timer must not start another)
        self._dropped_seen = 0
        self.collect_ms = 0.0  # the longest the last look held the event loop at a stretch (ms)

    def collect(self, parts: dict[int, Any], assigned: Optional[set[int]] = None) -> Batch:
        """The rows changed since the last call, of the partitions held (all of ``parts`` if None),
        all on the caller's thread (tests, benches; the worker uses ``collect_async``)."""
        reads, alerts = [], []
        for floor, site, since, until in self._sites(parts, assigned, alerts):
            reads.append(read_site(floor, site, until_ms=until, agent_window=(since, None)))
        return self._build(reads, alerts)

    async def collect_async(self, parts: dict[int, Any], assigned: Optional[set[int]] = None, offer: bool = False) -> Batch:
        """``collect`` for the event loop: the core read in short steps on the loop (it must not
        change under a read), the rows built and compared in a thread; with ``offer`` the thread
        also hands them to the writer and lets go of what it read (freeing a day of rows holds
        whichever thread does it), and an empty Batch comes back."""
        reads, alerts = [], []
        t0 = time.perf_counter()
        longest = 0.0
        for floor, site, since, until in self._sites(parts, assigned, alerts):
            r = read_site(floor, site, until_ms=until, agent_window=None)
            reads.append(r)
            sc = floor.sites[site]
            # The first look reads the whole kept past: older than three days in one go (nothing
            # there but with keep_interval_days=None), then an hour a read.
            lo = since if since is not None else (sc.clock or 0) - 3 * _DAY_MS
            bounds = ([(None, lo)] if since is None else []) + [(t, t + WINDOW_MS) for t in range(lo, until, WINDOW_MS)]
            for a, b in bounds:
                longest = max(longest, time.perf_counter() - t0)
                await asyncio.sleep(0)
                t0 = time.perf_counter()
                st, hd = read_agent_window(sc, a, b, until)
                r.states.update(st)
                r.handled.update(hd)
        self.collect_ms = max(longest, time.perf_counter() - t0) * 1000.0
        if not offer:
            return await asyncio.to_thread(self._build, reads, alerts)
        await asyncio.to_thread(self._build_and_offer, reads, alerts)
        return Batch()

    def _build_and_offer(self, reads: list[SiteRead], alerts: list) -> None:
        # The rows are plain dicts and tuples (no cycles): the collector's passes over the whole
        # process, which a day of new rows sets off, would hold the loop; it waits until they are built.
        was = gc.isenabled()
        gc.disable()
        try:
            batch = self._build(reads, alerts)
            reads.clear()
            self.writer.offer(batch)
            batch.__init__()  # its rows are the writer's now: the lists go here, not on the loop
        finally:
            if was:
                gc.enable()

    def _sites(self, parts: dict[int, Any], assigned: Optional[set[int]], alerts: list) -> list[tuple]:
        """(floor, site, agent intervals since, sealed until) of each site with news; the new alert
        changes into ``alerts``."""
        out = []
        for p, pf in sorted(parts.items()):
            if assigned is not None and p not in assigned:
                continue
            floor = pf.floor
            for site in sorted(floor.sites):
                sc = floor.sites[site]
                if sc.clock is None:
                    continue
                # A site with no event and no tick since the last look has nothing new.
                mark = (sc.events, sc.clock)
                key = (id(floor), site)
                if self._seen.get(key) == mark:
                    continue
                self._seen[key] = mark
                wm = sc.watermark
                # Sealed intervals: their end is at or before the watermark.
                until = wm - INTERVAL_MS + 1
                out.append((floor, site, self._agent_final.get(key), until))
                # Agent intervals ending at or before this watermark are final (one interval of margin).
                self._agent_final[key] = until - INTERVAL_MS
            seen = self._alerts_seen.get(p)
            start = seen[1] if seen is not None and seen[0] == id(pf) else 0
            alerts.extend(alert_row(ch) for ch in pf.alert_log[start:])
            self._alerts_seen[p] = (id(pf), len(pf.alert_log))
        return out

    def _build(self, reads: list[SiteRead], alerts: list) -> Batch:
        out = Batch(alerts=alerts)
        for r in reads:
            self._changed(build_batch(r), out)
        return out

    def _changed(self, batch: Batch, out: Batch) -> None:
        for kind, keys in _KEYS.items():
            dst = getattr(out, kind)
            for row in getattr(batch, kind):
                k = (kind, *(row[c] for c in keys))
                body = tuple(v for c, v in row.items() if c != "as_of_ms")
                if self._last.get(k) != body:
                    self._last[k] = body
                    dst.append(row)

    def forget(self) -> None:
        """Offer everything again next time (after a failed write: a dropped row comes back)."""
        self._last.clear()
        self._alerts_seen.clear()
        self._seen.clear()
        self._acks_seen.clear()
        self._agent_final.clear()

    async def collect_acks(self, redis, keys) -> int:
        """Offer the acknowledgements in Redis (``fw:acks``) not offered yet; returns how many.

        Any worker may write them (the rows are keyed by alert and change, inserted once)."""
        acks = await redis.hgetall(keys.acks)
        new = {k.decode(): v for k, v in acks.items() if k.decode() not in self._acks_seen}
        if not new:
            return 0
        ids = list(new)
        recs = await redis.hmget(keys.alerts, ids)
        rows = []
        for aid, rec in zip(ids, recs):
            if rec is None:
                continue  # an ack of an alert Redis no longer has: nothing to say where it was
            rows.append(ack_row(orjson.loads(rec), orjson.loads(new[aid])))
            self._acks_seen.add(aid)
        self.writer.offer(Batch(alerts=rows))
        return len(rows)

    async def tick(self, parts: dict[int, Any], assigned: Optional[set[int]] = None) -> None:
        """Collect, then write in a thread (one write at a time)."""
        if self.flushing or self.busy:
            return
        self.busy = True
        try:
            try:
                await self.collect_async(parts, assigned, offer=True)
            except Exception:
                self.forget()  # the look moved its marks: offer everything again next time
                raise
            if not self.writer.queued:
                return
            self.flushing = True
            try:
                await asyncio.to_thread(self.writer.flush)
                st = self.writer.stats
                if st.db_up and st.rows_dropped != self._dropped_seen:
                    # Rows were dropped from the full queue while the database was down: offer all again.
                    self._dropped_seen = st.rows_dropped
                    self.forget()
            finally:
                self.flushing = False
        finally:
            self.busy = False

    def stats(self) -> dict:
        s = self.writer.stats
        return {"rows_written": s.rows_written, "rows_queued": self.writer.queued, "rows_dropped": s.rows_dropped,
                "write_errors": s.write_errors, "db_up": s.db_up, "last_write_ms": s.last_write_ms,
                "collect_ms": round(self.collect_ms, 1)}


def attach_history(app: Any, settings: Any, holder: dict, every_s: float = 5.0) -> HistorySink:
    """Add the history timer to a worker's Faust app (``settings.history_db`` is the database)."""
    sink = HistorySink(HistoryWriter(settings.history_db))
    from stream.runtime.redis_keys import Keys

    keys = Keys(settings.redis_prefix)
    stats_key = keys.prefix + STATS_KEY

    @app.timer(every_s)
    async def write_history() -> None:
        w = holder.get("w")
        if w is None:
            return
        try:
            await sink.collect_acks(w.redis, keys)
        except Exception:
            pass  # Redis down: the acks are still there next time
        try:
            await sink.tick(w.parts, w.assigned)
        except Exception:  # never let history stop the live floor
            log.exception("history sink failed; will retry")
        try:
            await w.redis.hset(stats_key, settings.worker_id, orjson.dumps(sink.stats()))
        except Exception:
            pass  # Redis down: the worker's own retry logs it

    holder["history"] = sink
    return sink
