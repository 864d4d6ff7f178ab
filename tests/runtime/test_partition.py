"""A partition's fold: offsets in order, duplicates skipped, gaps reported, bad input counted."""

from __future__ import annotations

import json

from stream.contracts.floor_config import load_config
from stream.runtime.partition import REJECTED_HEADER, PartitionFloor


def ev(i: int, kind: str = "call_offered", **kw) -> dict:
    base = {"id": f"e{i}", "ts": 1_700_000_000_000 + i * 1000, "site": "gd-hotline", "kind": kind, "call": f"c{i}"}
    if kind == "call_offered":
        base["queue"] = "general"
    base.update(kw)
    return base


def msg(*events: dict) -> bytes:
    return json.dumps(list(events)).encode()


def test_offsets_fold_once_in_order():
    p = PartitionFloor(0, load_config())
    assert p.fold(0, msg(ev(1), ev(2))).status == "ok"
    assert p.fold(0, msg(ev(1), ev(2))).status == "duplicate"  # re-delivered after a crash
    assert p.fold(5, msg(ev(3))).status == "gap"  # someone else folded 1..4
    assert p.fold(1, msg(ev(3))).status == "ok"
    assert p.floor.report()["total"]["offered"] == 3
    assert p.next_offset == 2


def test_broken_input_is_counted_and_dead_lettered_and_the_rest_flows():
    p = PartitionFloor(0, load_config())
    res = p.fold(0, msg(ev(1), {"id": "bad"}, ev(2)))
    assert res.events == 2 and len(res.dead) == 1
    assert res.dead[0][0] == b'{"id": "bad"}'
    res = p.fold(1, b"\xff not json")
    assert res.dead[0][1].startswith("not JSON")
    res = p.fold(2, b"12:00 row", {REJECTED_HEADER: b"row: bad field count"})
    assert res.dead == [(b"12:00 row", "row: bad field count")]
    res = p.fold(3, None)
    assert res.dead[0][1] == "empty message"
    summary = p.floor.rejected_summary()
    assert summary["count"] == 4
    assert summary["reasons"]["row: bad field count"] == 1
    assert p.floor.report()["total"]["offered"] == 2


def test_a_single_event_message_is_accepted():
    p = PartitionFloor(0, load_config())
    res = p.fold(0, json.dumps(ev(1)).encode())
    assert res.status == "ok" and res.events == 1 and res.sites == {"gd-hotline"}


def test_a_hook_folds_the_batch_and_returns_alerts():
    seen = []

    def hook(floor, evs):
        floor.apply_many(evs)
        seen.append(len(evs))
        return [{"id": "x", "state": "raised"}]

    p = PartitionFloor(0, load_config(), hook)
    res = p.fold(0, msg(ev(1), ev(2)))
    assert seen == [2] and res.alerts == [{"id": "x", "state": "raised"}]
    assert p.floor.report()["total"]["offered"] == 2


def test_rfc3339_times_fold_as_epoch_ms_with_and_without_alerts():
    # The partition hands decoded events on without converting their times; the
    # core (and the alert driver) convert them: same figures, same alerts.
    from datetime import datetime, timezone

    from stream.alerts.runtime import hook_factory

    def iso(e: dict) -> dict:
        t = datetime.fromtimestamp(e["ts"] / 1000, tz=timezone.utc)
        return {**e, "ts": t.isoformat(timespec="milliseconds")}

    evs = [ev(i) for i in range(1, 40)] + [ev(100 + i, "call_answered", call=f"c{i}", agent="a1") for i in range(1, 40, 2)]
    cfg = load_config()
    for hook in (None, hook_factory(cfg)()):
        out = []
        for batch in (evs, [iso(e) for e in evs]):
            p = PartitionFloor(0, cfg, hook)
            res = p.fold(0, msg(*batch[:30]))
            res2 = p.fold(1, msg(*batch[30:]))
            assert res.dead == [] and res2.dead == [] and res.sites == {"gd-hotline"}
            p.floor.flush()
            out.append((p.floor.report(), res.alerts + res2.alerts))
        assert out[0] == out[1] and out[0][0]["total"]["answered"] == 20


def test_an_event_the_core_rejects_is_dead_lettered_in_the_wire_format():
    """A late event is rejected by the core, not the decoder: its dead letter is the event as JSON,
    which decodes back to the same event (fix it, feed it again)."""
    from stream.contracts.events import decode_event
    from stream.runtime.worker import dead_letter_value

    p = PartitionFloor(0, load_config())
    p.fold(0, msg(ev(1), ev(200)))  # the watermark moves 140 s past event 1
    res = p.fold(1, msg(ev(2, "call_answered", agent="a7", ts=1_700_000_001_500)))
    assert [why for _, why in res.dead] == ["late: older than the lateness bound"]
    value = dead_letter_value(res.dead[0][0])
    assert json.loads(value)["id"] == "e2"
    assert decode_event(value) == res.dead[0][0]
