"""The Redis writer: publishes what a worker's core says, as docs/redis.md lays out.

It is the worker's only way out to the screens. Every write *sets* a value
computed from the core's state (never increments), so writing again after a
crash or a rebuild is harmless. Snapshots go out per site at most every
``min_interval_ms`` (wall clock: this is the shell), with a JSON Patch of what
changed on the ``changes`` channel; the heavier report sums and interval rows
go out every ``report_interval_ms`` and on ``flush``.

    sink = RedisSink(redis.asyncio.from_url(url), partition=3)
    sink.mark(["gd-hotline"])          # after folding a batch
    await sink.maybe_publish(floor)    # throttled
    await sink.publish_alerts(changes)
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Iterable, Optional

import orjson

from stream.fold.delta import diff
from stream.fold.floor import Floor
from stream.predict.live import site_ewt
from stream.runtime.redis_keys import Keys
from stream.fold.report import stats_to_sums


log = logging.getLogger("floorwatch.sink")


def _dumps(obj: object) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class RedisSink:
    """Writes one worker's floor state to Redis (an async ``redis.asyncio.Redis``)."""

    def __init__(
        self,
        redis,
        *,
        prefix: Optional[str] = None,
        partition: int | str = 0,
        min_interval_ms: int = 200,
        report_interval_ms: int = 2000,
        worker_id: Optional[str] = None,
        advisor=None,
        advice_interval_ms: int = 1000,
    ) -> None:
        self.r = redis
        # Staffing advice (stream.runtime.advisor) beside the snapshots, at most every advice_interval_ms per site.
        self.advisor = advisor
        self.advice_interval_ms = advice_interval_ms
        self._advice_at: dict[str, int] = {}
        self.k = Keys(prefix)
        self.partition = str(partition)
        self.min_interval_ms = min_interval_ms
        self.report_interval_ms = report_interval_ms
        # A new epoch per sink: readers re-read the snapshot instead of patching across rebuilds.
        self.epoch = uuid.uuid4().hex[:12]
        self.worker_id = worker_id or self.epoch
        self.dirty: set[str] = set()
        self.report_dirty: set[str] = set()
        # Input was rejected: the partition's ``rejected`` entry is due even when no site changed
        # (a message with no valid event marks no site).
        self.rejected_dirty = False
        self._last_snap = 0
        self._last_report = 0
        self._snap_cost_ms = 0
        self._report_cost_ms = 0
        self.published = 0
        self.pending_alerts: list[dict] = []
        # Alerts' latest records to write back after Redis lost its data (restore_alerts).
        self.restore_pending: list[dict] = []
        # Wall time the worker last folded a message (latency breakdown on the changes channel).
        self.folded_ms: Optional[int] = None
        # The worker's total wall ms spent folding, now and at the last snapshot.
        self.fold_busy_ms = 0.0
        self._busy_at_snap = 0.0
        # Per site, the predicted waits last published (the snapshot's "ewt", outside the fold's diff).
        self._ewt: dict[str, dict] = {}

    def mark(self, sites: Iterable[str]) -> None:
        """These sites changed; publish them at the next opportunity."""
        for s in sites:
            self.dirty.add(s)
            self.report_dirty.add(s)

    def mark_rejected(self) -> None:
        """Input was rejected; publish the partition's rejections at the next report."""
        self.rejected_dirty = True

    async def maybe_publish(self, floor: Floor, *, force: bool = False, sharing: int = 1) -> bool:
        """Publish dirty sites if the throttle allows (or ``force``). True if anything went out.

        ``sharing``: how many sinks of the worker have something to publish
        (they share the worker's budget when it is behind).
        """
        t = now_ms()
        sent = False
        # Snapshots take at most a quarter of the worker: when one gets
        # expensive (a big floor), the next waits longer. A worker that folded
        # most of the time since the last one is behind (a backlog, a replay at
        # full speed): then all its sinks together take at most a sixteenth
        # for snapshots and a thirty-second for reports, so it catches up
        # sooner; what it shows meanwhile is already history.
        elapsed = t - self._last_snap
        behind = self.fold_busy_ms - self._busy_at_snap > 0.5 * elapsed
        n = max(1, sharing) if behind else 1
        share = 16 * n if behind else 4
        report_share = 32 * n if behind else 10
        if self.dirty and (force or elapsed >= max(self.min_interval_ms, share * self._snap_cost_ms)):
            # Take the dirty set before awaiting: sites folded while the write
            # is in flight are marked again and go out next time.
            sites, self.dirty = sorted(self.dirty), set()
            try:
                await self.publish_snapshots(floor, sites, t)
            except BaseException:
                self.dirty.update(sites)
                raise
            self._last_snap = t
            self._busy_at_snap = self.fold_busy_ms
            self._snap_cost_ms = now_ms() - t
            sent = True
        if (self.report_dirty or self.rejected_dirty) and (force or t - self._last_report >= max(self.report_interval_ms, report_share * self._report_cost_ms)):
            t1 = now_ms()
            sites, self.report_dirty = sorted(self.report_dirty), set()
            self.rejected_dirty = False
            try:
                await self.publish_reports(floor, sites)
            except BaseException:
                self.report_dirty.update(sites)
                self.rejected_dirty = True
                raise
            self._last_report = t1
            self._report_cost_ms = now_ms() - t1
            sent = True
        return sent

    async def publish_snapshots(self, floor: Floor, sites: list[str], t: Optional[int] = None) -> None:
        t = now_ms() if t is None else t
        k = self.k
        pipe = self.r.pipeline(transaction=False)
        for site in sites:
            snap, patch = floor.changes(site)
            ewt, patch = self._with_ewt(site, snap, floor.site(site).queue_now(), patch)
            # A copy: the core diffs the next snapshot against the one it returned.
            snap = {**snap, "ewt": ewt, "epoch": self.epoch, "published_ms": t}
            pipe.set(k.snap(site), _dumps(snap))
            pipe.hset(
                k.sites,
                site,
                _dumps(
                    {
                        "name": snap["name"],
                        "kind": snap["kind"],
                        "region": snap["region"],
                        "timezone": snap["timezone"],
                        "partition": self.partition,
                    }
                ),
            )
            pipe.publish(
                k.changes,
                _dumps({"site": site, "epoch": self.epoch, "seq": snap["seq"], "patch": patch, "published_ms": t, "folded_ms": self.folded_ms}),
            )
            self.published += 1
            if self.advisor is not None and t - self._advice_at.get(site, 0) >= self.advice_interval_ms:
                self._advice_at[site] = t
                try:
                    queues = self.advisor.site_advice(floor, site, snap, waiting=True)
                except Exception:  # advice is an extra: a fault in it must never stop the floor going out
                    log.exception("staffing advice for %s failed; the snapshot goes out without it", site)
                else:
                    adv = _dumps({"site": site, "clock": snap["clock"], "queues": queues, "published_ms": t})
                    pipe.set(k.advice(site), adv)
                    pipe.publish(k.advice_ch, adv)
        await pipe.execute()

    def _with_ewt(self, site: str, snap: dict, legs: dict, patch: list[dict]) -> tuple[dict, list[dict]]:
        """The site's predicted waits now (stream/predict/live.py) and the patch with their change
        added (the core's snapshot and patch know nothing of them; neither is modified)."""
        ewt = site_ewt(snap, legs)
        prev = self._ewt.get(site)
        self._ewt[site] = ewt
        if patch and patch[0]["path"] == "":
            return ewt, [{**patch[0], "value": {**patch[0]["value"], "ewt": ewt}}, *patch[1:]]
        if prev is None:
            return ewt, [*patch, {"op": "add", "path": "/ewt", "value": ewt}]
        return ewt, [*patch, *diff(prev, ewt, "/ewt")]

    async def publish_reports(self, floor: Floor, sites: list[str]) -> None:
        k = self.k
        pipe = self.r.pipeline(transaction=False)
        for site in sites:
            days = floor.day_sums(site)
            pipe.set(k.report(site), _dumps({"days": {d: {q: stats_to_sums(st) for q, st in qs.items()} for d, qs in days.items()}}))
            sc = floor.sites.get(site)
            if sc is not None and sc.clock is not None:
                date = sc.cal.date_of(sc.clock)
                pipe.set(k.intervals(site, date), _dumps(floor.interval_rows(site, date)))
        pipe.hset(k.rejected, self.partition, _dumps(floor.rejected_summary()))
        await pipe.execute()

    async def restore_alerts(self, latest: list[dict]) -> None:
        """Each alert's latest record again, after Redis lost its data (not its stream or channel)."""
        if not latest:
            return
        pipe = self.r.pipeline(transaction=False)
        for ch in latest:
            pipe.hset(self.k.alerts, ch["id"], _dumps(ch))
        await pipe.execute()

    async def publish_alerts(self, changes: list[dict]) -> None:
        """Each alert change: its latest record, the delivery stream, the wall's channel."""
        if not changes:
            return
        k = self.k
        pipe = self.r.pipeline(transaction=False)
        for ch in changes:
            data = _dumps(ch)
            pipe.hset(k.alerts, ch["id"], data)
            pipe.xadd(k.alerts_log, {"change": data}, maxlen=100_000, approximate=True)
            pipe.publish(k.alerts_ch, data)
        await pipe.execute()
