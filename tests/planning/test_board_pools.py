"""The staffing board of a queue in a pool: the need, the schedule and the shifts are the pool's."""

from __future__ import annotations

from datetime import date

from stream.contracts.events import CallAnswered, CallEnded, CallOffered
from stream.contracts.floor_config import FloorConfig
from stream.planning.actuals import Log
from stream.planning.board import Board

DAY0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def _log(pools: dict) -> Log:
    """15 days: 6 calls of a at 09:00-09:15, 6 of b at 14:00-14:15, 4 of c at 11:00 (3 minutes each)."""
    cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC", "queues": {"a": {}, "b": {}, "c": {}}, "pools": pools}}})
    evs = []
    for d in range(15):
        for q, hour, n in (("a", 9, 6), ("b", 14, 6), ("c", 11, 4)):
            for i in range(n):
                t = DAY0 + d * 86_400_000 + hour * 3_600_000 + i * 150_000
                c = f"{q}{d}-{i}"
                evs += [CallOffered(id=f"o{c}", ts=t, site="s", call=c, queue=q), CallAnswered(id=f"a{c}", ts=t + 5_000, site="s", call=c),
                        CallEnded(id=f"e{c}", ts=t + 185_000, site="s", call=c)]
    evs.sort(key=lambda e: e.ts)
    return Log(evs, cfg)


def test_a_queue_of_a_pool_shows_the_pools_need_and_roster() -> None:
    b = Board(_log({"floor": ["a", "b"]}))
    qs = {q["queue"]: q for q in b.queues()}
    assert (qs["a"]["pool"], qs["a"]["pool_queues"], qs["c"]["pool"]) == ("floor", ["a", "b"], None)
    a, bb, c = (b.board("s", q, date(2026, 1, 15), 1) for q in ("a", "b", "c"))
    assert a["pool"] == bb["pool"] == {"name": "floor", "queues": ["a", "b"]} and c["pool"] is None
    at = {r["start"][11:16]: r for r in a["intervals"]}
    # The need at 14:00 is b's, on a's board: one group of agents.
    assert at["14:00"]["agents"] >= 1 and at["09:00"]["agents"] >= 1 and at["11:00"]["agents"] == 0
    assert at["14:00"]["offered"] < 0.5 < at["14:00"]["pool_offered"]
    assert at["14:00"]["actual_offered"] == 0 and at["14:00"]["pool_actual_offered"] == 6 and at["09:00"]["pool_actual_offered"] == 6
    # The pool's figures are the same from either of its queues; its forecast is theirs summed.
    for key in ("agents", "scheduled", "pool_offered", "pool_actual_offered"):
        assert [r[key] for r in a["intervals"]] == [r[key] for r in bb["intervals"]], key
    assert all(abs(r["pool_offered"] - r["offered"] - s["offered"]) < 0.02 for r, s in zip(a["intervals"], bb["intervals"]))
    assert a["shifts"] == bb["shifts"] and a["shifts"] and all(s["queue"] == "floor" and s["pool_queues"] == ["a", "b"] for s in a["shifts"])
    assert all(r["scheduled"] >= r["agents"] for r in a["intervals"])
    # c is staffed alone: its need only at 11:00, no pool keys.
    cat = {r["start"][11:16]: r for r in c["intervals"]}
    assert cat["11:00"]["agents"] >= 1 and cat["14:00"]["agents"] == 0 and "pool_offered" not in cat["11:00"]
    assert not any("pool_queues" in s for s in c["shifts"])
    # Re-planned at 12:00 (acting at 13:00): the pool's afternoon re-planned, b's 14:00 on a's board still.
    from datetime import datetime, timezone

    r = {x["start"][11:16]: x for x in b.board("s", "a", date(2026, 1, 15), 1, now=datetime(2026, 1, 15, 12, tzinfo=timezone.utc))["intervals"]}
    assert r["14:00"]["replan"] == "replanned" and r["14:00"]["agents"] >= 1 and r["14:00"]["day_ahead_agents"] == at["14:00"]["agents"]
    assert r["09:00"]["replan"] == "kept" and r["09:00"]["agents"] == at["09:00"]["agents"]


def test_without_pools_a_board_is_its_queue_alone() -> None:
    """The same log with no pool: a's board has no need at 14:00 (b's), and no pool keys."""
    a = Board(_log({})).board("s", "a", date(2026, 1, 15), 1)
    at = {r["start"][11:16]: r for r in a["intervals"]}
    assert a["pool"] is None and at["14:00"]["agents"] == 0 and at["09:00"]["agents"] >= 1
    assert set(at["09:00"]) == {"start", "offered", "reforecast", "aht_s", "agents", "scheduled", "actual_offered",
                                "actual_aht_s", "replan", "day_ahead_agents"}
