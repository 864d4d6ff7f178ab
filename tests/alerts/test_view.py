"""The alert view (stream.alerts.view) on live sites against the full rescan.

The driver used to fold events one by one and take a full alert snapshot (a
rescan of the site's contacts and agents) at every boundary. The reference
driver below does exactly that on the specification core; the real one folds
runs and reads sites that keep their live readings (``SiteFold.keep_live``).
On a simulated busy day, in order and shuffled (late, duplicate and
out-of-order events included), both must give the same alerts; at every
boundary the driver's snapshot must be the full one's, with the agents the
engine reads; and a live native site must read as the scanning specification
(also tests/fold/test_native_core.py, boundary by boundary).
"""

from __future__ import annotations

import random

import pytest

from simulators import busy_day
from stream.contracts import events as E
from stream.alerts.config import load_alerts
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.alerts.rules import AGENT_RULES, agents_past
from stream.alerts.view import WATCHED, WINDOWS_MIN, alert_snapshot
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor, native_available
from stream.fold.stats import COUNTERS
from stream.contracts.events import ts_to_ms


def next_crossing(events: list, start: int, next_ms: dict[str, int], period_ms: int) -> int:
    """The index of the first event from ``start`` stamped after its site's next boundary (``len`` if none).

    What ``Floor.fold_until`` finds while it folds, found by a separate pass as
    the driver once did; a site seen for the first time gets the boundary after
    its first event.
    """
    for i in range(start, len(events)):
        ev = events[i]
        if not isinstance(ev.ts, int):
            ev.ts = ts_to_ms(ev.ts)
        nb = next_ms.get(ev.site)
        if nb is None:
            next_ms[ev.site] = (ev.ts // period_ms + 1) * period_ms
        elif ev.ts > nb:
            return i
    return len(events)


class ReferenceDriver(AlertDriver):
    """The driver as it was: a pass to find the next boundary crossed, one event at a time up to it,
    a full alert snapshot at each boundary (on a site that keeps nothing live: a rescan)."""

    def _fold(self, evs: list, start: int) -> int:
        j = next_crossing(evs, start, self.next_ms, self.period_ms)
        for ev in evs[start:j]:
            self.floor.apply(ev)
        return j

    def _snapshot(self, site: str) -> dict:
        return alert_snapshot(self.floor, site)


class CheckingDriver(AlertDriver):
    """The real driver, which also holds its snapshot (only the agents the engine reads: in a
    watched state, past their lowest level or held) to the full one at every boundary."""

    checked = 0

    def _snapshot(self, site: str) -> dict:
        fast = super()._snapshot(site)
        ref = alert_snapshot(self.floor, site)
        where = f"{site} at {self.floor.site(site).clock}"
        watched = {a: r for a, r in ref["agents"].items() if r["state"] in AGENT_RULES}
        floors, held = self.engine.agent_filter(site)
        watched = {a: watched[a] for a in agents_past(watched, floors, held)}
        assert fast == {**ref, "agents": watched}, where
        self.checked += 1
        return fast


@pytest.fixture(scope="module")
def day() -> list:
    return list(busy_day.generate(load_config(), seed=3, calls=5000))


def _shuffled(events: list, seed: int) -> list:
    """Arrival order a real feed could have: local reordering, some duplicates, a few very late events."""
    rng = random.Random(seed)
    keyed = [(e.ts + rng.randrange(0, 20_000), i, e) for i, e in enumerate(events)]
    out = [e for _, _, e in sorted(keyed, key=lambda x: x[:2])]
    for _ in range(len(out) // 200):
        i = rng.randrange(len(out))
        out.insert(min(len(out), i + rng.randrange(1, 50)), out[i])  # a duplicate, a little later
    for _ in range(len(out) // 500):
        i = rng.randrange(len(out) // 2)
        out.insert(min(len(out), i + rng.randrange(300, 3000)), out.pop(i))  # far behind: late, or an orphan's
    return out


def _copy(events: list) -> list:
    # The driver may normalise ``ts`` in place; each run gets its own events.
    return [e.__copy__() for e in events]


CORES = [pytest.param(False, id="python"), pytest.param(True, id="native", marks=pytest.mark.skipif(not native_available(), reason="the native core is not built here"))]


def _run(cls, events: list, batch: int, native: bool = False):
    floor = Floor(load_config(), native=native)
    drv = cls(floor, AlertEngine(load_alerts()))
    out: list[dict] = []
    for i in range(0, len(events), batch):
        out.extend(drv.feed(events[i : i + batch]))
    return out, drv, floor


@pytest.mark.parametrize("native", CORES)
@pytest.mark.parametrize("order", ["in_order", "shuffled"])
def test_view_gives_the_alerts_of_the_full_rescan(day, order, native):
    """The reference: the Python core, one event at a time, a full rescan at each boundary. Checked:
    the driver on either core (the native one keeping its live readings)."""
    events = day if order == "in_order" else _shuffled(day, seed=11)
    ref, _, ref_floor = _run(ReferenceDriver, _copy(events), batch=1000)
    new, drv, floor = _run(CheckingDriver, _copy(events), batch=997, native=native)
    assert drv.checked > 1000, "every site evaluated all day"
    assert len(ref) > 20, "a busy day raises alerts"
    assert new == ref
    for site in ref_floor.sites:
        assert floor.snapshot(site) == ref_floor.snapshot(site)


@pytest.mark.parametrize("native", CORES)
def test_view_starts_on_a_floor_that_holds_state(day, native):
    """A driver started on a floor folded elsewhere (a restart): its sites start keeping live from all they hold."""
    events = _copy(day)
    half = len(events) // 2
    floor = Floor(load_config(), native=native)
    ReferenceDriver(floor, AlertEngine(load_alerts())).feed(events[:half])
    drv = CheckingDriver(floor, AlertEngine(load_alerts()))
    drv.next_ms = {}
    drv.feed(events[half:])
    assert drv.checked > 100


# -- small hand-made cases: what the busy day may not have -------------------------
# A live native site (its windows in buckets, its waiting contacts listed) against the
# specification, which scans.

needs_native = pytest.mark.skipif(not native_available(), reason="the native core is not built here")


def _live_and_spec(**limits):
    from stream.fold.site import Limits

    lim = Limits(**limits) if limits else None
    live, spec = Floor(limits=lim, native=True), Floor(limits=lim, native=False)
    for floor in (live, spec):
        floor.apply(E.AgentState(id="a0", ts=0, site="s", agent="ann", state="ready", queues=["q"]))
    live.site("s").keep_live(30_000, WINDOWS_MIN, WATCHED)
    return live, spec


def _apply(floors, ev) -> None:
    for floor in floors:
        floor.apply(ev.__copy__())


def _snap_at(floors, t: int) -> dict:
    live, spec = floors
    for floor in floors:
        floor.site("s").advance(t)
    got = alert_snapshot(live, "s")
    assert got == alert_snapshot(spec, "s"), t
    return got


@needs_native
def test_live_windows_follow_a_contact_rebuilt_by_an_event_out_of_order():
    """A transfer older than the answer arrives after it: the contact's legs are rebuilt, the old ones' records go."""
    floors = _live_and_spec()
    _apply(floors, E.CallOffered(id="1", ts=0, site="s", call="c", queue="q"))
    _apply(floors, E.CallAnswered(id="2", ts=30_000, site="s", call="c", agent="ann"))
    got = _snap_at(floors, 60_000)
    assert got["queues"]["q"]["sliding"]["5m"]["answered"] == 1
    _apply(floors, E.CallTransferred(id="3", ts=20_000, site="s", call="c", to_queue="r"))
    got = _snap_at(floors, 90_000)
    q, r = got["queues"]["q"]["sliding"]["5m"], got["queues"]["r"]["sliding"]["5m"]
    assert (q["offered"], q["answered"], r["offered"], r["answered"]) == (1, 0, 1, 1)


@needs_native
def test_live_readings_forget_a_waiting_contact_the_site_dropped():
    """A call waiting past the open-contact limit is dropped by the site; it stops counting as waiting."""
    floors = _live_and_spec(max_open_ms=10 * 60_000)
    _apply(floors, E.CallOffered(id="1", ts=0, site="s", call="c", queue="q"))
    assert _snap_at(floors, 60_000)["queues"]["q"]["waiting"] == 1
    _apply(floors, E.AgentState(id="a1", ts=13 * 60_000, site="s", agent="ann", state="busy"))
    got = _snap_at(floors, 13 * 60_000 + 30_000)
    assert got["queues"]["q"]["waiting"] == 0
    assert floors[0].site("s").rejected == {"call_offered: contact never ended (expired)": 1}


@needs_native
def test_a_window_the_site_does_not_keep_is_scanned():
    """Off a bucket edge, or a window not kept (60 min), or with percentiles: the same figures, by a scan."""
    floors = _live_and_spec()
    for i in range(20):
        _apply(floors, E.CallOffered(id=f"o{i}", ts=i * 7_000, site="s", call=f"c{i}", queue="q"))
        if i % 3:
            _apply(floors, E.CallAbandoned(id=f"b{i}", ts=i * 7_000 + 4_000 * (i % 4), site="s", call=f"c{i}"))
    live, spec = floors
    for t in (150_000, 165_001, 180_000):
        for floor in floors:
            floor.site("s").advance(t)
        for minutes, pct in (((5, 15), False), ((5, 15, 60), False), ((5, 15), True)):
            a, b = live.site("s").sliding(t, minutes, pct), spec.site("s").sliding(t, minutes, pct)
            assert {w: {q: st.figures(pct) for q, st in qs.items()} for w, qs in a.items()} == {
                w: {q: st.figures(pct) for q, st in qs.items()} for w, qs in b.items()
            }, (t, minutes, pct)


@needs_native
def test_the_kept_windows_hold_every_sum_the_scan_does():
    """Buckets and scan count a leg by one rule (QStats::count): every counter agrees, not only the
    figures' (the abandoned contacts' wait sum too, which no figure of the alert view reads)."""
    floors = _live_and_spec()
    for i in range(24):
        t0, call = i * 6_000, f"c{i}"
        _apply(floors, E.CallOffered(id=f"o{i}", ts=t0, site="s", call=call, queue="q"))
        kind = i % 4
        if kind == 0:
            _apply(floors, E.CallAnswered(id=f"a{i}", ts=t0 + 3_000 * i, site="s", call=call, agent="ann"))
            _apply(floors, E.CallEnded(id=f"e{i}", ts=t0 + 3_000 * i + 40_000, site="s", call=call))
        elif kind == 1:
            _apply(floors, E.CallAbandoned(id=f"b{i}", ts=t0 + 2_000 * i, site="s", call=call))
        elif kind == 2:
            _apply(floors, E.CallTransferred(id=f"t{i}", ts=t0 + 1_000, site="s", call=call, to_queue="r"))
    live, spec = floors
    for t in (150_000, 180_000, 210_000):  # bucket edges: the live site answers from its buckets
        for floor in floors:
            floor.site("s").advance(t)
        a, b = live.site("s").sliding(t, WINDOWS_MIN, False), spec.site("s").sliding(t, WINDOWS_MIN, False)
        sums = {w: {q: {c: getattr(st, c) for c in COUNTERS} for q, st in qs.items()} for w, qs in a.items()}
        assert sums == {w: {q: {c: getattr(st, c) for c in COUNTERS} for q, st in qs.items()} for w, qs in b.items()}, t
        assert sums["15m"]["q"]["abandon_wait_sum"] > 0 and sums["15m"]["q"]["handled"] > 0


@needs_native
def test_a_site_keeps_live_with_one_set_of_settings():
    """Asking again with the same settings is harmless; with others it is an error, not a silent change."""
    live, _ = _live_and_spec()
    live.site("s").keep_live(30_000, WINDOWS_MIN, WATCHED)
    with pytest.raises(ValueError, match="other settings"):
        live.site("s").keep_live(10_000, WINDOWS_MIN, WATCHED)
    with pytest.raises(ValueError, match="whole buckets"):
        Floor(native=True).site("t").keep_live(7_000, WINDOWS_MIN, WATCHED)


@pytest.mark.parametrize("native", CORES)
def test_agents_in_by_state_and_time_in_state(native):
    """``agents_in``: the logged-in agents of the states asked, past their bar (by reason), or named."""
    floor = Floor(native=native)
    for i, (agent, state, reason) in enumerate(
        [("a", "not_ready", "lunch"), ("b", "not_ready", "coaching"), ("c", "wrap_up", None), ("d", "ready", None), ("e", "not_ready", None)]
    ):
        floor.apply(E.AgentState(id=str(i), ts=i * 1000, site="s", agent=agent, state=state, reason=reason, queues=["q"]))
    floor.apply(E.AgentState(id="x", ts=1_000, site="s", agent="f", state="logged_out"))
    sc = floor.site("s")
    sc.advance(100_000)
    if native:
        sc.keep_live(30_000, WINDOWS_MIN, WATCHED)
    assert set(sc.agents_in(100_000, WATCHED)) == {"a", "b", "c", "e"}
    assert set(sc.agents_in(100_000, {"ready", "logged_out"})) == {"d"}
    ages = {"not_ready": (90.0, {"lunch": 3600.0}), "wrap_up": (99.0, {})}
    assert set(sc.agents_in(100_000, WATCHED, ages)) == {"b", "e"}
    assert set(sc.agents_in(100_000, WATCHED, ages, also={"a"})) == {"a", "b", "e"}
    row = sc.agents_in(100_000, WATCHED)["c"]
    assert (row["state"], row["time_in_state_s"], row["queues"]) == ("wrap_up", 98.0, ["q"])
