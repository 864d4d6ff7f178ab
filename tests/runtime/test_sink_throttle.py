"""When the Redis sink lets a snapshot out: its cost, and whether the worker is behind.

Only the decision is under test here (the writes themselves are tested on a
real Redis by the pipeline and dashboard tests), so ``publish_snapshots`` is
replaced by a recorder.
"""

from __future__ import annotations

from stream.fold.floor import Floor
from stream.runtime.redis_sink import RedisSink, now_ms


class RecordingSink(RedisSink):
    def __init__(self) -> None:
        super().__init__(redis=None, min_interval_ms=100)
        self.sent: list[list[str]] = []

    async def publish_snapshots(self, floor, sites, t=None) -> None:
        self.sent.append(sites)

    async def publish_reports(self, floor, sites) -> None:
        pass


def _sink(since_last_ms: int, cost_ms: int, busy_ms: float) -> RecordingSink:
    s = RecordingSink()
    s._last_snap = now_ms() - since_last_ms
    s._last_report = now_ms()
    s._snap_cost_ms = cost_ms
    s.fold_busy_ms = 1000.0 + busy_ms
    s._busy_at_snap = 1000.0
    s.mark(["s1"])
    return s


async def test_a_caught_up_worker_publishes_after_four_snapshot_costs():
    s = _sink(since_last_ms=250, cost_ms=50, busy_ms=20)  # 200 ms due, folding 8 % of the time
    assert await s.maybe_publish(Floor())
    assert s.sent == [["s1"]]
    assert s._busy_at_snap == s.fold_busy_ms


async def test_a_worker_behind_publishes_less_often():
    s = _sink(since_last_ms=250, cost_ms=50, busy_ms=200)  # folding 80 % of the time: 800 ms due
    assert not await s.maybe_publish(Floor())
    assert s.sent == [] and s.dirty == {"s1"}
    s._last_snap = now_ms() - 750
    s.fold_busy_ms = s._busy_at_snap + 700  # still behind: not yet
    assert not await s.maybe_publish(Floor())
    s._last_snap = now_ms() - 850
    s.fold_busy_ms = s._busy_at_snap + 800
    assert await s.maybe_publish(Floor())
    assert s.sent == [["s1"]]


async def test_sinks_behind_share_one_budget():
    """Three partitions' sinks with something to publish, behind: each waits three times as long."""
    s = _sink(since_last_ms=2000, cost_ms=50, busy_ms=1800)  # 800 ms due alone, 2400 ms shared by three
    assert not await s.maybe_publish(Floor(), sharing=3)
    s._last_snap = now_ms() - 2500
    s.fold_busy_ms = s._busy_at_snap + 2200
    assert await s.maybe_publish(Floor(), sharing=3)


async def test_a_caught_up_worker_does_not_share():
    s = _sink(since_last_ms=250, cost_ms=50, busy_ms=20)
    assert await s.maybe_publish(Floor(), sharing=3)


async def test_the_minimum_interval_holds_for_cheap_snapshots():
    s = _sink(since_last_ms=50, cost_ms=1, busy_ms=0)
    assert not await s.maybe_publish(Floor())
    s._last_snap = now_ms() - 120
    assert await s.maybe_publish(Floor())
