"""The history sink without servers: redelivery, a rebuilt partition and a stale second writer
leave the rows an uninterrupted run leaves (partition floors as the worker holds them, SQLite)."""

from __future__ import annotations

import asyncio

import msgspec

from stream.contracts.floor_config import load_config
from stream.history.sink import HistorySink
from stream.history.store import Store
from stream.history.writer import HistoryWriter
from stream.runtime.partition import PartitionFloor
from tests.dashboard_helpers import busy_day_file, read_events


def _messages(events: list, per: int = 500) -> list[bytes]:
    enc = msgspec.json.Encoder()
    return [enc.encode(events[i:i + per]) for i in range(0, len(events), per)]


def _fold(msgs: list[bytes], upto: int) -> PartitionFloor:
    pf = PartitionFloor(0, load_config())
    for off, m in enumerate(msgs[:upto]):
        pf.fold(off, m)
    return pf


def _rows(url: str) -> dict:
    s = Store.open(url)
    out = {t: [{k: v for k, v in r.items() if k != "as_of_ms"} for r in s.all_rows(t)]
           for t in ("queue_intervals", "agent_days", "agent_state_days")}
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
    assert want["queue_intervals"] and want["agent_days"]

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
