"""``SiteFold.queue_now``: the contacts waiting (in the order served) and being handled, in both cores."""

from __future__ import annotations

import pytest

from simulators import busy_day
from stream.contracts import events as E
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor, native_available
from tests.alerts.test_view import _shuffled

CORES = [False] + ([True] if native_available() else [])
S = "gd-hotline"


def _ev(kind, ts, **kw):
    return E.EVENT_TYPES[kind](id=f"{kind}:{ts}:{kw.get('call', '')}", ts=ts, site=S, **kw)


@pytest.mark.parametrize("native", CORES)
def test_vip_first_then_by_offer_and_handled_until_wrap_up_ends(native):
    f = Floor(load_config(), native=native)
    f.apply_many([
        _ev("call_offered", 1_000, call="a", queue="general"),
        _ev("call_offered", 2_000, call="b", queue="general"),
        _ev("call_offered", 3_000, call="v", queue="general", priority=1),
        _ev("call_offered", 3_500, call="w", queue="general", vip=True),
        _ev("call_offered", 4_000, call="x", queue="general"),
        _ev("call_offered", 5_000, call="gone", queue="general"),
        _ev("call_abandoned", 6_000, call="gone"),
        _ev("call_answered", 7_000, call="a", agent="ag1"),
        _ev("call_ended", 9_000, call="a", wrap_up=True),
        _ev("call_offered", 9_500, call="y", queue="billing"),
        _ev("call_answered", 9_600, call="y", agent="ag2"),
        _ev("call_ended", 9_800, call="y"),
    ])
    got = f.site(S).queue_now()
    # VIP (priority 1, or vip without a priority) first, each class by its offer; the abandoned one is gone.
    assert got["general"]["waiting"] == [(3_000, 1), (3_500, 1), (2_000, 0), (4_000, 0)]
    # "a" is in wrap-up: still being handled. "y" is done: not listed.
    assert got["general"]["serving"] == [(1_000, 7_000)]
    assert got["billing"] == {"waiting": [], "serving": []}
    f.apply(_ev("wrap_up_ended", 10_000, call="a"))
    assert f.site(S).queue_now()["general"]["serving"] == []


@pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")
def test_both_cores_agree_on_a_shuffled_busy_day():
    cfg = load_config()
    evs = _shuffled(list(busy_day.generate(cfg, seed=9, calls=4000)), seed=9)
    native, ref = Floor(cfg, native=True), Floor(cfg, native=False)
    seen = 0
    for i in range(0, len(evs), 700):
        chunk = evs[i:i + 700]
        native.apply_many([e.__copy__() for e in chunk])
        ref.apply_many([e.__copy__() for e in chunk])
        for s in sorted(ref.sites):
            a, b = native.site(s).queue_now(), ref.site(s).queue_now()
            assert a == b, (i, s)
            seen += sum(len(v["waiting"]) + len(v["serving"]) for v in a.values())
    assert seen > 1_500


@pytest.mark.parametrize("native", CORES)
def test_the_contacts_listed_are_the_ones_the_waiting_figures_count(native):
    # What the what-if and the predictors start from (each contact waiting) is what the wall shows as
    # waiting, VIPs waiting and the longest wait, at every cut of a busy day.
    cfg = load_config()
    day = list(busy_day.generate(cfg, seed=4, calls=3000))
    f = Floor(cfg, native=native)
    seen = 0
    step = len(day) // 12
    for i in range(0, len(day), step):
        f.apply_many(day[i:i + step])
        for site in sorted(f.sites):
            legs = f.site(site).queue_now()
            now = f.site(site).clock
            for q, row in f.site(site).waiting(now).items():
                got = legs[q]["waiting"] if q in legs else []
                assert len(got) == row["waiting"]
                assert sum(1 for _, c in got if c > 0) == row["vip_waiting"]
                if got:
                    assert (now - min(o for o, _ in got)) / 1000.0 == row["longest_wait_s"]
                seen += len(got)
    assert seen > 0  # somebody waited at some cut


@pytest.mark.parametrize("native", CORES)
def test_primary_counts_count_each_logged_in_agent_once_on_its_first_skill(native):
    f = Floor(load_config(), native=native)
    f.apply_many([
        _ev("agent_state", 1_000, agent="a", state="busy", queues=["general", "billing"]),
        _ev("agent_state", 1_100, agent="b", state="ready", queues=["general"]),
        _ev("agent_state", 1_200, agent="c", state="not_ready", reason="break", queues=["billing", "general"]),
        _ev("agent_state", 1_300, agent="d", state="ready", queues=["general"]),
        _ev("agent_state", 1_400, agent="d", state="logged_out", queues=["general"]),
        _ev("agent_state", 1_500, agent="e", state="ready", queues=[]),
    ])
    counts, known = f.site(S).primary_counts(2_000)
    assert counts == {"general": {"logged_in": 2, "ready": 1}, "billing": {"logged_in": 1, "ready": 0}}
    assert known == 5
    assert Floor(load_config(), native=native).site(S).primary_counts(0) == ({}, 0)


@pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")
def test_both_cores_count_the_same_primary_staff_all_day():
    cfg = load_config()
    day = list(busy_day.generate(cfg, seed=5, calls=3000))
    ref, nat = Floor(cfg, native=False), Floor(cfg, native=True)
    step = len(day) // 10
    seen = 0
    for i in range(0, len(day), step):
        ref.apply_many(day[i:i + step])
        nat.apply_many(day[i:i + step])
        for site in sorted(ref.sites):
            now = ref.site(site).clock
            got = ref.site(site).primary_counts(now)
            assert nat.site(site).primary_counts(now) == got
            seen += sum(c["logged_in"] for c in got[0].values())
    assert seen > 0
