"""Cold start from the history store: detectors warmed from a month of interval rows alert on day 1
after a restart like detectors that ran the whole month; detectors started blind do not.

The real February log: its first three weeks are replayed into an SQLite history store (the path
``floorwatch replay --db`` takes), then Feb 22 — with 30 minutes of tripled arrivals at 10:00 on
the busiest queue — is played to three engines: one that ran the whole month, one warmed from the
store (``history_checkpoint`` → ``AlertEngine.resume``), one started blind.
"""

from __future__ import annotations

import asyncio
import doctest
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from stream.alerts import warm
from stream.alerts.checkpoints import history_checkpoint
from stream.alerts.warm import warm_checkpoint
from stream.sources.formats import read_events
from stream.alerts.config import load_alerts
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.contracts.events import CallAbandoned
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.history.cli import backfill
from stream.history.rows import backfill_limits

FEB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anonbank" / "february.txt"
TZ = ZoneInfo("Asia/Jerusalem")


def test_module_doctest() -> None:
    assert doctest.testmod(warm).failed == 0


def _ms(y, m, d, hh=0, mm=0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp() * 1000)


def _run(engine: AlertEngine, cfg, events: list) -> list[dict]:
    drv = AlertDriver(Floor(cfg), engine, 30_000)
    out = []
    for i in range(0, len(events), 10_000):
        out += drv.feed(events[i : i + 10_000])
    return out


def _surged(day: list, queue: str, start: int, end: int) -> list:
    """``day``'s events plus two copies of every call offered to ``queue`` in [start, end), each abandoned after 60 s."""
    extra = []
    for e in day:
        if e.kind == "call_offered" and e.queue == queue and start <= e.ts < end:
            for k in (1, 2):
                call = f"{e.call}-surge{k}"
                extra.append(msgspec.structs.replace(e, id=f"{e.id}-surge{k}", call=call))
                extra.append(CallAbandoned(id=f"{e.id}-surge{k}-ab", ts=e.ts + 60_000, site=e.site, call=call))
    return sorted(day + extra, key=lambda e: e.ts)


QUEUE = "PS"  # the busiest queue (bench surge)
CUT, DAY_END = _ms(1999, 2, 22), _ms(1999, 2, 23)
S0, S1 = _ms(1999, 2, 22, 10), _ms(1999, 2, 22, 10, 30)


@pytest.fixture(scope="module")
def feb(tmp_path_factory) -> dict:
    """February's events before the cut, Feb 22 with the surge, and a history store of the three weeks."""
    if not FEB.is_file():
        pytest.skip("no Anonymous Bank log at ../shared/data/anonbank (CI has it)")
    cfg = load_config()
    events = list(read_events(FEB, "anonbank", Floor(cfg)))
    past = [e for e in events if e.ts < CUT]
    surged = _surged([e for e in events if CUT <= e.ts < DAY_END], QUEUE, S0, S1)
    # The history store holds the three weeks, written as `floorwatch replay --db` writes them.
    db = f"sqlite:///{tmp_path_factory.mktemp('hist') / 'history.db'}"
    floor = Floor(cfg, limits=backfill_limits(cfg))
    floor.apply_many(past)
    floor.flush()
    assert backfill(floor, db) > 0
    return {"cfg": cfg, "past": past, "surged": surged, "db": db}


def surge_raises(changes: list[dict]) -> list[dict]:
    return [c for c in changes if c["rule"] == "arrival_surge" and c["change"] == "raised" and c["queue"] == QUEUE
            and S0 < c["at_ms"] <= S1 + 15 * 60_000]


def test_warmed_from_history_alerts_on_day_one_like_a_month_long_run(feb) -> None:
    cfg, alerts = feb["cfg"], load_alerts()
    whole = surge_raises(_run(AlertEngine(alerts), cfg, feb["past"] + feb["surged"]))
    warmed_engine = AlertEngine(alerts)
    ck = history_checkpoint(feb["db"], alerts, cfg)
    assert f"anonbank/{QUEUE}" in ck["detectors"] and ck["learnt"]["anonbank"] == CUT
    warmed_engine.resume(ck)
    warmed = surge_raises(_run(warmed_engine, cfg, feb["surged"]))
    blind = surge_raises(_run(AlertEngine(alerts), cfg, feb["surged"]))

    assert whole, "the month-long run must see the surge (else the test says nothing)"
    assert warmed, "warmed from history, the detector must see the surge on day one"
    assert not blind  # a blind start is still in its 3-day warm-up
    # Alike: raised within 10 minutes of each other, expecting about the same usual level.
    assert abs(warmed[0]["at_ms"] - whole[0]["at_ms"]) <= 10 * 60_000
    assert warmed[0]["expected"] == pytest.approx(whole[0]["expected"], rel=0.35)


def test_a_worker_partition_with_no_checkpoint_warms_from_the_store(feb) -> None:
    # What the worker does for a partition whose log holds no past and Redis no checkpoint.
    from stream.alerts.checkpoints import DetectorCheckpoints
    from stream.alerts.runtime import hook_factory
    from stream.contracts.events import encode_event
    from stream.runtime.partition import PartitionFloor

    cfg = feb["cfg"]
    ckpts = DetectorCheckpoints(redis=None)
    evs = feb["surged"]
    msgs = [b"[" + b",".join(encode_event(e) for e in evs[i : i + 400]) + b"]" for i in range(0, len(evs), 400)]

    def play(pf: PartitionFloor) -> list[dict]:
        out = []
        for off, m in enumerate(msgs):
            res = pf.fold(off, m)
            assert res.status == "ok"
            out += res.alerts
        return out

    warmed = PartitionFloor(0, cfg, hook_factory(cfg)())
    assert asyncio.run(ckpts.warm_from_history(0, warmed, feb["db"], cfg))
    assert surge_raises(play(warmed))
    blind = PartitionFloor(0, cfg, hook_factory(cfg)())
    assert not surge_raises(play(blind))
    # A store that cannot be read leaves the detectors blind; the worker goes on.
    broken = PartitionFloor(0, cfg, hook_factory(cfg)())
    missing = Path(feb["db"][len("sqlite:///"):]).parent / "none" / "h.db"
    assert not asyncio.run(ckpts.warm_from_history(0, broken, f"sqlite:///{missing}", cfg))
    assert not missing.parent.exists()  # and a cold start made no database where none was


def test_the_worker_warms_a_fresh_partition_from_its_history_db_and_a_checkpoint_wins(feb) -> None:
    # The worker itself (real Redis): a fresh log (nothing to rebuild) with --db warms the partition's
    # detectors from the store; a partition whose log start is gone takes its Redis checkpoint first.
    import redis.asyncio as aioredis

    from stream.alerts.runtime import hook_factory
    from stream.local import embedded
    from stream.runtime.worker import FloorWorker, WorkerSettings

    try:
        embedded.find_redis_server()
    except embedded.BinaryNotFound:  # pragma: no cover - depends on the machine
        pytest.skip("needs the embedded redis-server binary")
    cfg = feb["cfg"]

    async def go(url: str) -> None:
        r = aioredis.from_url(url)
        try:
            settings = WorkerSettings(kafka_url="kafka://127.0.0.1:9", redis_url=url, config=cfg, redis_prefix="w:",
                                      on_events_factory=hook_factory(cfg), history_db=feb["db"])
            worker = FloorWorker(settings, r)
            pf, _, _ = await worker.rebuild(0, 0)  # offset 0: a fresh log, Kafka not read
            assert pf.on_events._resume is not None and f"anonbank/{QUEUE}" in pf.on_events._resume["detectors"]
            # Without --db the same start is blind.
            blind = FloorWorker(WorkerSettings(kafka_url="kafka://127.0.0.1:9", redis_url=url, config=cfg, redis_prefix="w:",
                                               on_events_factory=hook_factory(cfg)), r)
            pb, _, _ = await blind.rebuild(0, 0)
            assert pb.on_events._resume is None
            # A saved checkpoint is what a cut log resumes from, not the history.
            saved = {"version": 1, "detectors": {}, "learnt": {"anonbank": 1}, "anomalies": {}}
            await r.hset("w:detectors", "3", json.dumps({"offset": 7, "checkpoint": saved}))
            other = worker._new_partition(3)
            await worker._resume_detectors(3, other)
            assert other.on_events._resume == saved
            fresh = worker._new_partition(4)
            await worker._resume_detectors(4, fresh)  # no checkpoint for 4: the history's
            assert fresh.on_events._resume["learnt"]["anonbank"] == CUT
        finally:
            await r.aclose()

    with embedded.EmbeddedRedis() as server:
        asyncio.run(go(server.url))


def test_quiet_intervals_are_learnt_as_live_would_and_long_gaps_are_jumped() -> None:
    # The store has rows only where something happened. Live, the engine learns every 5-minute bucket of a
    # quiet stretch (an empty one) unless the driver jumps it (longer than MAX_GAP_MS): so does the warm start.
    from stream.alerts.driver import MAX_GAP_MS

    day, row = 86_400_000, 900_000

    def rows(*days: int) -> list[dict]:
        return [{"site": "s", "queue": "q", "start_ms": d * day + 40 * row, "offered": 9, "abandoned": 0,
                 "short_abandoned": 0, "handled": 9, "handle_sum_ms": 9 * 100_000} for d in days]

    def learnt(*days: int) -> int:
        return warm_checkpoint(rows(*days), load_alerts(), {"s": "UTC"})["detectors"]["s/q"]["arrival_surge"]["n"] // 3

    assert MAX_GAP_MS == 2 * day
    assert learnt(0, 1) == 96 + 1  # a day of quiet intervals between two rows, each learnt
    assert learnt(0, 2) == 2 * 96 + 1  # two days: still walked
    assert learnt(0, 5) == 1 + 2 * 96 + 1  # five: only the last two days before the next row, as the driver does


def test_a_resumed_engine_walks_the_quiet_night_before_its_first_event(feb) -> None:
    # A checkpoint of the evening before; the log it resumes on starts with the next morning's first call.
    # The unbroken engine learnt the night's empty 5-minute buckets; the resumed one must too (else its
    # profile skips the nights and its warm-up lasts longer): the same buckets, the same surge raised.
    cfg, alerts = feb["cfg"], load_alerts()
    whole = AlertEngine(alerts)
    changes = _run(whole, cfg, feb["past"] + feb["surged"])
    first = AlertEngine(alerts)
    _run(first, cfg, feb["past"])
    resumed = AlertEngine(alerts)
    resumed.resume(json.loads(json.dumps(first.checkpoint())))
    assert feb["surged"][0].ts - resumed.learnt["anonbank"] > 3 * 3600_000  # a night between
    got = _run(resumed, cfg, feb["surged"])
    learnt = {q: d["arrival_surge"]["n"] for q, d in resumed.to_dict()["detectors"].items()}
    assert learnt == {q: d["arrival_surge"]["n"] for q, d in whole.to_dict()["detectors"].items()}
    assert surge_raises(got) and [c["at_ms"] for c in surge_raises(got)] == [c["at_ms"] for c in surge_raises(changes)]
