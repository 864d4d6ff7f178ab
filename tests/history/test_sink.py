"""The history sink without servers: redelivery, a rebuilt partition and a stale second writer
leave the rows an uninterrupted run leaves (partition floors as the worker holds them, SQLite)."""

from __future__ import annotations

import asyncio

import msgspec

from stream.contracts.floor_config import load_config
from stream.history.rows import live_limits
from stream.history.sink import HistorySink
from stream.history.store import Store
from stream.history.writer import HistoryWriter
from stream.runtime.partition import PartitionFloor
from tests.dashboard_helpers import busy_day_file, read_events


def _messages(events: list, per: int = 500) -> list[bytes]:
    enc = msgspec.json.Encoder()
    return [enc.encode(events[i:i + per]) for i in range(0, len(events), per)]


def _fold(msgs: list[bytes], upto: int) -> PartitionFloor:
    cfg = load_config()
    pf = PartitionFloor(0, cfg, limits=live_limits(cfg))  # as the worker folds when it writes history
    for off, m in enumerate(msgs[:upto]):
        pf.fold(off, m)
    return pf


def _rows(url: str) -> dict:
    s = Store.open(url)
    out = {t: [{k: v for k, v in r.items() if k != "as_of_ms"} for r in s.all_rows(t)]
           for t in ("queue_intervals", "queue_hours", "agent_days", "agent_state_days", "agent_queue_intervals",
                     "agent_state_intervals")}
    s.close()
    return out


def _write(url: str, parts: dict) -> None:
    asyncio.run(HistorySink(HistoryWriter(url)).tick(parts))


def test_redelivery_rebuild_and_a_stale_writer_change_nothing(tmp_path):
    evs = read_events(busy_day_file(tmp_path / "day.jsonl", calls=1500, seed=4))
    gd = [e for e in evs if e.site == "gd-hotline"]
    msgs = _messages(gd)
    n = len(msgs)

    ref = f"sqlite:///{tmp_path / 'ref.db'}"
    _write(ref, {0: _fold(msgs, n)})
    want = _rows(ref)
    assert want["queue_intervals"] and want["agent_days"] and want["agent_state_intervals"] and want["agent_queue_intervals"]

    # Looked at through the day (after the first look, only the agent intervals that can still change).
    steps = f"sqlite:///{tmp_path / 'steps.db'}"
    sink = HistorySink(HistoryWriter(steps))
    pf = _fold(msgs, 0)
    for off, m in enumerate(msgs):
        pf.fold(off, m)
        if off % max(1, n // 9) == 0:
            asyncio.run(sink.tick({0: pf}))
    asyncio.run(sink.tick({0: pf}))
    assert _rows(steps) == want

    db = f"sqlite:///{tmp_path / 'h.db'}"
    sink = HistorySink(HistoryWriter(db))
    pf = _fold(msgs, n // 2)
    asyncio.run(sink.tick({0: pf}))  # mid-day
    # Redelivered messages are refused by offset; the rest of the day comes; written again.
    for off in range(n // 2 - 3, n):
        pf.fold(off, msgs[off])
    asyncio.run(sink.tick({0: pf}))
    assert _rows(db) == want
    # A worker SIGKILLed and rebuilt from the log (a new sink, a new floor) writes the same rows.
    _write(db, {0: _fold(msgs, n)})
    assert _rows(db) == want
    # The worker the partition left, a quarter of the day behind, writes after the new owner:
    # its older rows (an earlier watermark) do not replace the newer ones.
    _write(db, {0: _fold(msgs, n // 4)})
    assert _rows(db) == want


async def test_acknowledgements_in_redis_become_alert_changes(tmp_path):
    import orjson
    import redis.asyncio as aioredis

    from stream.local.embedded import EmbeddedRedis
    from stream.runtime.redis_keys import Keys

    srv = EmbeddedRedis().start()
    try:
        r = aioredis.from_url(srv.url)
        k = Keys("fwh:")
        alert = {"id": "gd-hotline/vip/longest_wait@1795395630000", "change": "raised", "state": "raised",
                 "rule": "longest_wait", "site": "gd-hotline", "queue": "vip", "severity": "major", "value": 760.0,
                 "threshold": 600.0, "at_ms": 1795395630000, "message": {"zh-CN": "贵宾专席：等待过长", "en": "VIP: long wait"}}
        await r.hset(k.alerts, alert["id"], orjson.dumps(alert))
        await r.hset(k.acks, alert["id"], orjson.dumps({"by": "alice", "at_ms": 1795395700000}))
        await r.hset(k.acks, "gone@1", orjson.dumps({"by": "bob", "at_ms": 1}))  # its alert is not in Redis
        db = f"sqlite:///{tmp_path / 'h.db'}"
        sink = HistorySink(HistoryWriter(db))
        assert await sink.collect_acks(r, k) == 1
        assert await sink.collect_acks(r, k) == 0  # offered once
        await sink.tick({})
        rows = Store.open(db).all_rows("alert_changes")
        assert [(x["alert_id"], x["change"], x["at_ms"], x["acked_by"], x["queue"], x["message_zh"]) for x in rows] == [
            (alert["id"], "acknowledged", 1795395700000, "alice", "vip", "贵宾专席：等待过长")]
        # Another worker (a new sink) writes the same ack again: still one row.
        other = HistorySink(HistoryWriter(db))
        assert await other.collect_acks(r, k) == 1
        await other.tick({})
        assert len(Store.open(db).all_rows("alert_changes")) == 1
        await r.aclose()
    finally:
        srv.stop()
