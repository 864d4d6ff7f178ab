"""Poison input is a counted, dead-lettered rejection with a reason, never an exception (issue 19, items 1 and 2).

Both decoders are checked: the reference (``stream.contracts.decode``) and the
native core's (``NativeFloor.decode_lines``/``decode_payload``, which hands what
its fast path declines to the reference). A value nested 1,000 deep, an
oversized event and RFC 3339 times outside the integer bound (1970..2100) are
rejected with their reason; the events around them flow.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stream.contracts.decode import MAX_DEPTH, MAX_EVENT_BYTES, decode_lines, decode_lines_raw, decode_one, decode_payload
from stream.fold.floor import Floor, native_available
from stream.runtime.partition import PartitionFloor
from stream.contracts.events import ts_to_ms
from stream.contracts.floor_config import FloorConfig

GOOD = b'{"id":"g1","ts":1795395600000,"site":"gd-hotline","kind":"call_offered","call":"c1","queue":"general"}'
# The issue's reproduction: a 2 KB line with a value nested 1,000 deep.
NESTED = (
    b'{"id":' + b"[" * 1000 + b"]" * 1000 + b',"ts":1795395600000,"site":"gd-hotline","kind":"call_abandoned","call":"x"}'
)

CORES = [False] + ([True] if native_available() else [])


def _event(ts) -> bytes:
    return json.dumps({"id": f"t-{ts}", "ts": ts, "site": "gd-hotline", "kind": "call_abandoned", "call": "x"}).encode()


def _decoders():
    """(name, lines decoder, payload decoder) for the reference and, where built, the native core."""
    out = [("reference", decode_lines_raw, lambda p: decode_payload(p, norm=False))]
    if native_available():
        f = Floor(native=True)
        out.append(("native", f.decode_lines, f.decode_payload))
    return out


@pytest.mark.parametrize("name,lines,payload", _decoders())
def test_a_value_nested_a_thousand_deep_is_a_rejection(name, lines, payload) -> None:
    good, bad = lines(GOOD + b"\n" + NESTED + b"\n" + GOOD.replace(b"g1", b"g2") + b"\n")
    assert len(good) == 2 and len(bad) == 1, name
    assert bad[0][0] == NESTED and f"nested deeper than {MAX_DEPTH}" in bad[0][1]
    # One event alone, and a Kafka batch with the good ones around it.
    good, bad = payload(NESTED)
    assert len(good) == 0 and len(bad) == 1 and "nested deeper" in bad[0][1]
    good, bad = payload(b"[" + GOOD + b"," + NESTED + b"," + GOOD.replace(b"g1", b"g2") + b"]")
    assert len(good) == 2 and len(bad) == 1 and bad[0][0] == NESTED and "nested deeper" in bad[0][1], name
    # The batch itself nested deep: one rejection, no exception.
    deep_batch = b"[" * 5000 + b"]" * 5000
    good, bad = payload(deep_batch)
    assert len(good) == 0 and len(bad) == 1 and "nested deeper" in bad[0][1], name


def test_decode_one_and_lines_never_raise_on_nesting() -> None:
    evs, bad = decode_one(NESTED)
    assert evs == [] and "nested deeper" in bad[0][1]
    evs, bad = decode_lines(NESTED)
    assert evs == [] and "nested deeper" in bad[0][1]
    # Nesting inside a string is text, not depth.
    quoted = GOOD.replace(b'"c1"', b'"' + b"[" * 100 + b'"')
    evs, bad = decode_one(quoted)
    assert len(evs) == 1 and bad == []


@pytest.mark.parametrize("name,lines,payload", _decoders())
def test_an_oversized_event_is_a_rejection(name, lines, payload) -> None:
    queues = [f"q{i:04d}" for i in range(MAX_EVENT_BYTES // 6)]
    big = json.dumps({"id": "a1", "ts": 1, "site": "s", "kind": "agent_state", "agent": "a", "state": "ready",
                      "queues": queues}).encode()
    assert len(big) > MAX_EVENT_BYTES
    good, bad = lines(big + b"\n" + GOOD + b"\n")
    assert len(good) == 1 and len(bad) == 1 and "too large" in bad[0][1], name
    good, bad = payload(b"[" + GOOD + b"," + big + b"]")
    assert len(good) == 1 and len(bad) == 1 and "too large" in bad[0][1], name


OUT_OF_RANGE = ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2100-01-01T00:00:00.001Z",
                "2100-01-01T07:59:59.999-00:01", "1970-01-01T07:59:59+08:00"]
IN_RANGE = {"1970-01-01T00:00:00Z": 0, "2100-01-01T00:00:00Z": 4_102_444_800_000, "2100-01-01T08:00:00+08:00": 4_102_444_800_000,
            "1970-01-01T08:00:00.000+08:00": 0}


@pytest.mark.parametrize("name,lines,payload", _decoders())
def test_string_times_are_bounded_as_integer_times_are(name, lines, payload) -> None:
    for text in OUT_OF_RANGE:
        raw = _event(text)
        good, bad = lines(raw + b"\n" + GOOD + b"\n")
        assert len(good) == 1 and len(bad) == 1, (name, text)
        assert bad[0][0] == raw and "ts out of range" in bad[0][1], (name, text, bad)
        good, bad = payload(b"[" + raw + b"," + GOOD + b"]")
        assert len(good) == 1 and len(bad) == 1 and "ts out of range" in bad[0][1], (name, text)
        good, bad = payload(raw)
        assert len(good) == 0 and len(bad) == 1 and "ts out of range" in bad[0][1], (name, text)
    for text, ms in IN_RANGE.items():
        good, bad = lines(_event(text))
        assert bad == [] and len(good) == 1, (name, text)
        ts = good[0].ts
        assert (ts if isinstance(ts, int) else ts_to_ms(ts)) == ms, (name, text)
    # The integer bounds, for comparison: the same range.
    for ms, ok in ((0, True), (4_102_444_800_000, True), (4_102_444_800_001, False), (-1, False)):
        good, bad = lines(_event(ms))
        assert (len(good), len(bad)) == ((1, 0) if ok else (0, 1)), (name, ms)


@pytest.mark.parametrize("native", CORES)
def test_extreme_times_never_reach_the_core(native) -> None:
    """Through the partition (the worker's fold): counted, dead-lettered, the rest folded."""
    p = PartitionFloor(0, FloorConfig(), native=native)
    payload = b"[" + b",".join([_event(t) for t in ("9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z")] + [GOOD]) + b"]"
    res = p.fold(0, payload)
    assert res.status == "ok" and res.events == 1
    assert len(res.dead) == 2 and all("ts out of range" in why for _, why in res.dead)
    res = p.fold(1, NESTED)
    assert res.status == "ok" and res.events == 0 and len(res.dead) == 1
    rej = p.floor.rejected_summary()
    assert rej["count"] == 3
    assert p.floor.report()["total"]["offered"] == 1


def test_replay_of_the_issues_poison_line_exits_zero(tmp_path) -> None:
    """The issue's reproduction: `floorwatch replay n.jsonl --format jsonl --report json` exits 0 and counts it."""
    path = tmp_path / "n.jsonl"
    path.write_bytes(NESTED + b"\n" + GOOD + b"\n" + _event("9999-12-31T00:00:00Z") + b"\n")
    out = subprocess.run([sys.executable, "-m", "stream.cli.main", "replay", str(path), "--format", "jsonl", "--report", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rep = json.loads(out.stdout)
    assert rep["rejected"]["count"] == 2 and rep["total"]["offered"] == 1
    assert any("nested deeper" in r for r in rep["rejected"]["reasons"])
    assert any("ts out of range" in r for r in rep["rejected"]["reasons"])
