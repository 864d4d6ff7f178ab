"""Repeated log records are rate-limited (issue 19, item 5: 1,648 ERROR lines in 21 s of a broker outage)."""

from __future__ import annotations

import logging

from stream.runtime.log_limit import RepeatLimit


def _rec(msg: str = "Unable connect to node %s", level: int = logging.ERROR, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, ("1",), None)


def test_a_flood_becomes_a_burst_and_a_count():
    now = [0.0]
    f = RepeatLimit(burst=5, window_s=60, clock=lambda: now[0])
    passed = [r for r in (_rec() for _ in range(1648)) if f.filter(r)]
    assert len(passed) == 5
    now[0] = 61.0
    nxt = _rec()
    assert f.filter(nxt)
    assert "[1643 more like this in the last 60 s were not logged]" in nxt.getMessage()
    assert nxt.getMessage().startswith("Unable connect to node 1")


def test_kinds_are_counted_apart_and_info_passes():
    f = RepeatLimit(burst=1, window_s=60, clock=lambda: 0.0)
    assert f.filter(_rec("a")) and not f.filter(_rec("a"))
    assert f.filter(_rec("b"))  # another message
    assert f.filter(_rec("a", name="faust"))  # another logger
    assert all(f.filter(_rec("a", level=logging.INFO)) for _ in range(100))


def test_a_message_with_a_percent_and_no_args_stays_readable():
    now = [0.0]
    f = RepeatLimit(burst=0, window_s=10, clock=lambda: now[0])
    r = logging.LogRecord("x", logging.WARNING, __file__, 1, "100% full", None, None)
    f.filter(r)
    f.filter(logging.LogRecord("x", logging.WARNING, __file__, 1, "100% full", None, None))
    now[0] = 11
    r = logging.LogRecord("x", logging.WARNING, __file__, 1, "100% full", None, None)
    assert f.filter(r)
    assert r.getMessage() == "100% full [1 more like this in the last 10 s were not logged]"
