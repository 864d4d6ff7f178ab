"""``SiteFold.waiting_legs``: each contact waiting now, in both cores, as the what-if from the live floor reads it.

The native core gives the reference core's legs at every cut of a busy day;
the legs agree with ``waiting`` (count, oldest, VIPs); nothing of the caller
is in them.
"""

from __future__ import annotations

import pytest

from simulators import busy_day
from stream.contracts import events as E
from stream.contracts.floor_config import FloorConfig, load_config
from stream.fold.floor import Floor, native_available


def _copy(events: list) -> list:
    return [e.__copy__() for e in events]


def test_legs_by_hand():
    cfg = FloorConfig.from_dict({"sites": {"s": {"timezone": "UTC"}}})
    f = Floor(cfg, native=False)
    f.apply_many([
        E.CallOffered(id="1", ts=1000, site="s", call="a", queue="q", caller="138****5678"),
        E.CallOffered(id="2", ts=2000, site="s", call="b", queue="q", vip=True),
        E.CallOffered(id="3", ts=3000, site="s", call="c", queue="r", priority=1),
        E.CallOffered(id="4", ts=4000, site="s", call="d", queue="q"),
        E.CallAnswered(id="5", ts=5000, site="s", call="d", agent="x"),
    ])
    assert f.site("s").waiting_legs() == {"q": [(1000, 0), (2000, 2)], "r": [(3000, 1)]}


@pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")
def test_both_cores_give_the_same_legs_all_day():
    cfg = load_config()
    day = list(busy_day.generate(cfg, seed=4, calls=3000))
    ref, nat = Floor(cfg, native=False), Floor(cfg, native=True)
    step = len(day) // 12
    seen = 0
    for i in range(0, len(day), step):
        chunk = day[i:i + step]
        ref.apply_many(_copy(chunk))
        nat.apply_many(_copy(chunk))
        for site in sorted(ref.sites):
            legs = ref.site(site).waiting_legs()
            assert nat.site(site).waiting_legs() == legs
            now = ref.site(site).clock
            rows = ref.site(site).waiting(now)
            for q, row in rows.items():
                got = legs.get(q, [])
                assert len(got) == row["waiting"]
                assert sum(1 for _, p in got if p > 0) == row["vip_waiting"]
                if got:
                    assert (now - got[0][0]) / 1000.0 == row["longest_wait_s"]
            seen += sum(len(v) for v in legs.values())
    assert seen > 0  # somebody waited at some cut
