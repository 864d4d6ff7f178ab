"""Cold start from the history store: detectors warmed from a month of interval rows alert on day 1
after a restart like detectors that ran the whole month; detectors started blind do not.

The real February log: its first three weeks are replayed into an SQLite history store (the path
``floorwatch replay --db`` takes), then Feb 22 — with 30 minutes of tripled arrivals at 10:00 on
the busiest queue — is played to three engines: one that ran the whole month, one warmed from the
store (``history_checkpoint`` → ``AlertEngine.resume``), one started blind.
"""

from __future__ import annotations

import doctest
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from stream.alerts import warm
from stream.alerts.checkpoints import history_checkpoint
from stream.alerts.cli import _events
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


@pytest.mark.skipif(not FEB.is_file(), reason="no Anonymous Bank log at ../shared/data/anonbank (CI has it)")
def test_warmed_from_history_alerts_on_day_one_like_a_month_long_run(tmp_path) -> None:
    cfg = load_config()
    alerts = load_alerts()
    events = list(_events(FEB, "anonbank", Floor(cfg)))
    cut, day_end = _ms(1999, 2, 22), _ms(1999, 2, 23)
    past = [e for e in events if e.ts < cut]
    day = [e for e in events if cut <= e.ts < day_end]
    queue = "PS"  # the busiest queue (bench surge)
    s0, s1 = _ms(1999, 2, 22, 10), _ms(1999, 2, 22, 10, 30)
    surged = _surged(day, queue, s0, s1)

    # The history store holds the three weeks, written as `floorwatch replay --db` writes them.
    db = f"sqlite:///{tmp_path / 'history.db'}"
    floor = Floor(cfg, limits=backfill_limits(cfg))
    floor.apply_many(past)
    floor.flush()
    assert backfill(floor, db) > 0

    def surge_raises(changes: list[dict]) -> list[dict]:
        return [c for c in changes if c["rule"] == "arrival_surge" and c["change"] == "raised" and c["queue"] == queue
                and s0 < c["at_ms"] <= s1 + 15 * 60_000]

    whole = surge_raises(_run(AlertEngine(alerts), cfg, past + surged))
    warmed_engine = AlertEngine(alerts)
    ck = history_checkpoint(db, alerts, cfg)
    assert f"anonbank/{queue}" in ck["detectors"] and ck["learnt"]["anonbank"] == cut
    warmed_engine.resume(ck)
    warmed = surge_raises(_run(warmed_engine, cfg, surged))
    blind = surge_raises(_run(AlertEngine(alerts), cfg, surged))

    assert whole, "the month-long run must see the surge (else the test says nothing)"
    assert warmed, "warmed from history, the detector must see the surge on day one"
    assert not blind  # a blind start is still in its 3-day warm-up
    # Alike: raised within 10 minutes of each other, expecting about the same usual level.
    assert abs(warmed[0]["at_ms"] - whole[0]["at_ms"]) <= 10 * 60_000
    assert warmed[0]["expected"] == pytest.approx(whole[0]["expected"], rel=0.35)
