"""One event with a wrong clock no longer wipes its site (issue 19, item 3).

Before: one valid ``agent_state`` dated 2099 moved the site clock, and the rest
of the day was rejected as late; ten minutes ahead already rejected thousands.
Now an event more than ``max_ahead_s`` ahead is judged before it is applied:
against its Kafka message's timestamp when there is one, else by the site's
next event (a jump that the next event follows is real). A quarantined event
is rejected with its reason, dead-lettered, and moves nothing. A site's first
event, a site starting late and the morning after a quiet night still count.
Both cores alike.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from simulators import busy_day
from stream.contracts import events as E
from stream.contracts.floor_config import FloorConfig, load_config
from stream.fold.floor import Floor, native_available
from stream.fold.site import AHEAD_ALONE, AHEAD_OF_MESSAGE
from stream.runtime.partition import PartitionFloor
from tests.helpers import Seq, at

CORES = [False] + ([True] if native_available() else [])
_enc = msgspec.json.Encoder()
Y2099 = 4_070_908_800_000  # 2099-01-01


@pytest.fixture(scope="module")
def day() -> list:
    return list(busy_day.generate(load_config(), seed=3, calls=1500))


def _copy(evs: list) -> list:
    return [e.__copy__() for e in evs]


def _report(evs: list, native: bool) -> Floor:
    f = Floor(load_config(), native=native)
    f.apply_many(_copy(evs))
    f.flush()
    return f


def _with_wrong(day: list, ts: int) -> tuple[list, object]:
    """The day with one agent_state stamped ``ts`` put in at noon."""
    i = len(day) // 2
    site = day[i].site
    bad = E.AgentState(id="bad-clock", ts=ts, site=site, agent="9999", state="ready", queues=["general"])
    return day[:i] + [bad] + day[i:], bad


@pytest.mark.parametrize("native", CORES)
@pytest.mark.parametrize("ahead_ms", [Y2099, 10 * 60_000], ids=["2099", "10min"])
def test_one_event_with_a_wrong_clock_is_quarantined(day, native, ahead_ms) -> None:
    good = _report(day, native)
    mixed, bad = _with_wrong(day, ahead_ms if ahead_ms == Y2099 else day[len(day) // 2].ts + ahead_ms)
    f = _report(mixed, native)
    rep, ref = f.report(), good.report()
    assert rep["rejected"] == {"count": 1, "reasons": {AHEAD_ALONE: 1}}
    assert rep["days"] == ref["days"] and rep["total"] == ref["total"]
    dead = f.drain_dead()
    assert [(ev.id, why) for ev, why in dead] == [("bad-clock", AHEAD_ALONE)]


@pytest.mark.parametrize("native", CORES)
def test_a_quiet_night_a_first_event_and_a_late_site_still_count(native) -> None:
    s = Seq("a")
    s.offer(at("20:00:00"), "c1"), s.answer(at("20:00:10"), "c1"), s.end(at("20:03:00"), "c1")
    # Next morning, after ten quiet hours: the first event jumps, the next one follows it.
    s.offer(at("08:00:00", "2026-11-24"), "c2"), s.answer(at("08:00:20", "2026-11-24"), "c2")
    s.end(at("08:04:00", "2026-11-24"), "c2")
    late = Seq("b")  # a site that starts at noon, while the other runs
    late.offer(at("12:00:00", "2026-11-24"), "c9")
    only = Seq("c")  # a site with one event, far from everything
    only.offer(at("03:00:00", "2026-11-25"), "c7")
    f = Floor(native=native)
    f.apply_many(s.events + late.events + only.events)
    f.flush()
    rep = f.report()
    assert rep["rejected"]["count"] == 0
    assert rep["total"]["offered"] == 4 and rep["total"]["answered"] == 2


@pytest.mark.parametrize("native", CORES)
def test_a_jump_back_then_forward_is_judged_by_the_next_event(native) -> None:
    s = Seq("a")
    t = at("09:00:00")
    s.offer(t, "c1")
    s.offer(t + 20 * 60_000, "c2")  # twenty minutes ahead, and the next event is not: quarantined
    s.offer(t + 1_000, "c3")
    s.offer(t + 60 * 60_000, "c4")  # an hour ahead, and the next event follows it: the clock moves
    s.offer(t + 60 * 60_000 + 5_000, "c5")
    f = Floor(native=native)
    f.apply_many(s.events)
    assert f.rejected_summary()["reasons"] == {AHEAD_ALONE: 1}
    assert [ev.call for ev, _ in f.drain_dead()] == ["c2"]
    assert f.sites["a"].clock == t + 60 * 60_000 + 5_000


def _msg(*evs) -> bytes:
    return b"[" + b",".join(_enc.encode(e) for e in evs) + b"]"


@pytest.mark.parametrize("native", CORES)
def test_through_kafka_events_are_judged_against_their_message_time(native) -> None:
    t = at("09:00:00")
    s = Seq("a")
    msgs = [
        (_msg(s.offer(t, "c1"), s.answer(t + 5_000, "c1")), t + 6_000),
        # A device clock ahead by an hour: its message was logged at the real time.
        (_msg(s.state(t + 3_600_000, "x", "ready")), t + 7_000),
        # Two in a row from the same bad clock: both quarantined (the next-event rule would not catch the first).
        (_msg(s.state(t + 3_600_000, "y", "ready"), s.state(t + 3_601_000, "y", "busy")), t + 8_000),
        # A message logged later than its events is fine; one without a timestamp is judged by the site's next event.
        (_msg(s.offer(t + 9_000, "c2")), t + 3_600_000),
        (_msg(s.offer(t + 10_000, "c3")), None),
        # Up to max_ahead_s (300 s) ahead of its message is fine.
        (_msg(s.end(t + 300_000, "c1")), t),
    ]

    def fold_all() -> PartitionFloor:
        p = PartitionFloor(0, FloorConfig(), native=native)
        for off, (value, ts) in enumerate(msgs):
            assert p.fold(off, value, None, ts).status == "ok"
        return p

    p = fold_all()
    rep = p.floor.report()
    assert rep["rejected"] == {"count": 3, "reasons": {AHEAD_OF_MESSAGE: 3}}
    assert rep["total"]["offered"] == 3 and rep["total"]["answered"] == 1
    # A rebuild from the log judges the same.
    assert fold_all().floor.report() == rep


def test_the_bound_comes_from_config() -> None:
    cfg = FloorConfig.from_dict({"max_ahead_s": 7200})
    s = Seq("a")
    t = at("09:00:00")
    s.offer(t, "c1"), s.offer(t + 3_600_000, "c2"), s.offer(t + 1_000, "c3")
    f = Floor(cfg)
    f.apply_many(s.events)
    assert f.rejected_summary()["count"] == 1  # c3: late once the clock moved an hour on
    assert json.loads(json.dumps(load_config().max_ahead_s)) == 300


@pytest.mark.parametrize("native", CORES)
def test_a_copy_of_the_jump_does_not_confirm_it(native) -> None:
    s = Seq("a")
    t = at("09:00:00")
    s.offer(t, "c1")
    bad = s.state(Y2099, "x", "ready")
    s.events.append(bad)  # delivered twice
    s.offer(t + 2_000, "c2")
    f = Floor(native=native)
    f.apply_many(s.events)
    assert f.rejected_summary()["reasons"] == {AHEAD_ALONE: 2}
    assert f.sites["a"].clock == t + 2_000


@pytest.mark.parametrize("native", CORES)
def test_the_alert_driver_never_advances_toward_a_quarantined_event(day, native) -> None:
    """The driver evaluates a site up to the next event's time before folding it: a quarantined event
    is judged first, so the alerts are the clean day's (the driver path of both cores)."""
    from stream.alerts.config import load_alerts
    from stream.alerts.driver import run_with_alerts
    from stream.alerts.engine import AlertEngine

    def alerts(evs: list) -> list:
        return run_with_alerts(Floor(load_config(), native=native), _copy(evs), AlertEngine(load_alerts()))

    mixed, _ = _with_wrong(day, Y2099)
    clean = alerts(day)
    assert clean and alerts(mixed) == clean
