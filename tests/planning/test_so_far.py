"""The day so far for a re-plan's recovery (``stream.planning.so_far``): the log's fold from the evening
before equals the whole log's; the live floor's interval rows give the fold's own figure."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from stream.contracts.events import CallAbandoned, CallAnswered, CallOffered
from stream.contracts.floor_config import load_config, zone
from stream.fold.floor import Floor
from stream.planning.actuals import Log, cutoff_for
from stream.planning.so_far import of_log, site_figure, stats_from_live_rows

TZ = zone("Asia/Shanghai")  # gd-hotline's
DAY = datetime(2026, 3, 16, tzinfo=TZ)


def _events() -> list:
    """Calls on three days; some offered before midnight and answered after it, some long after midnight."""
    evs, n = [], 0
    for day in (DAY - timedelta(days=2), DAY - timedelta(days=1), DAY):
        for minute in list(range(-20, 0, 2)) + list(range(0, 24 * 60 - 30, 7)):
            n += 1
            at = day + timedelta(minutes=minute)
            ms = int(at.timestamp() * 1000)
            cid = f"c{n}"
            evs.append(CallOffered(id=f"{cid}o", ts=ms, site="gd-hotline", call=cid, queue="general" if n % 3 else "vip"))
            wait = (n * 13) % 70 * 1000
            if n % 9 == 0:
                evs.append(CallAbandoned(id=f"{cid}x", ts=ms + wait, site="gd-hotline", call=cid))
            else:
                evs.append(CallAnswered(id=f"{cid}a", ts=ms + wait, site="gd-hotline", call=cid, agent="a1"))
    return sorted(evs, key=lambda e: e.ts)


def _whole_fold(log: Log, at: datetime) -> tuple[float, float]:
    floor = Floor(log.config)
    floor.apply_many([e for e in log.events if e.ts < cutoff_for(at, "Asia/Shanghai")])
    floor.flush()
    return site_figure(floor.day_sums("gd-hotline").get(at.astimezone(TZ).date().isoformat(), {}))


@pytest.mark.parametrize("hhmm", ["00:00", "00:10", "01:00", "10:00", "23:45"])
def test_the_days_fold_is_the_whole_logs(hhmm):
    log = Log(_events(), load_config())
    at = datetime.fromisoformat(f"2026-03-16T{hhmm}:00+08:00")
    got = of_log(log, at)["gd-hotline"]
    assert got == _whole_fold(log, at)
    if hhmm != "00:00":
        assert got[0] > 0 and 0 <= got[1] <= 100


def test_the_live_rows_give_the_folds_figure():
    """``Floor.interval_rows`` (what a worker publishes in Redis) summed up to a cut = the fold's day totals then."""
    cfg = load_config()
    evs = _events()
    at = datetime.fromisoformat("2026-03-16T10:00:00+08:00")
    cut = cutoff_for(at, "Asia/Shanghai")
    floor = Floor(cfg)
    floor.apply_many([e for e in evs if e.ts < cut])
    floor.flush()
    rows = floor.interval_rows("gd-hotline", "2026-03-16")
    live = site_figure(stats_from_live_rows(rows, cut, lambda q: cfg.queue("gd-hotline", q).sl_variant))
    assert live == pytest.approx(of_log(Log(evs, cfg), at)["gd-hotline"])
    # An earlier cut reads only the intervals over by then.
    early = datetime.fromisoformat("2026-03-16T06:00:00+08:00")
    assert site_figure(stats_from_live_rows(rows, cutoff_for(early, "Asia/Shanghai"))) == pytest.approx(
        of_log(Log(evs, cfg), early)["gd-hotline"])
