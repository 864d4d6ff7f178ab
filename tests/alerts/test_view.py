"""The incremental alert view (stream.alerts.view) against the full rescan it replaces.

The driver used to fold events one by one and take ``Floor.alert_snapshot``
(a rescan of the site's contacts and agents) at every boundary. The reference
driver below does exactly that; the real one folds runs and reads the view.
On a simulated busy day, in order and shuffled (late, duplicate and
out-of-order events included), both must give the same alerts, and the view
must equal the rescan at every boundary.
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
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor, native_available
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
    a full ``Floor.alert_snapshot`` at each boundary."""

    def _fold(self, evs: list, start: int) -> int:
        j = next_crossing(evs, start, self.next_ms, self.period_ms)
        for ev in evs[start:j]:
            self.floor.apply(ev)
        return j

    def _snapshot(self, site: str) -> dict:
        return self.floor.alert_snapshot(site)


class CheckingDriver(AlertDriver):
    """The real driver, which also holds its view equal to the rescan at every boundary:
    the whole snapshot, and the driver's (only the agents in a watched state; on the native
    core only those the engine reads, by ``agents_past``) to the rescan's agents in one."""

    checked = 0

    def _snapshot(self, site: str) -> dict:
        fast = super()._snapshot(site)
        ref = self.floor.alert_snapshot(site)
        where = f"{site} at {self.floor.site(site).clock}"
        assert self.views.view(site).snapshot() == ref, where
        watched = {a: r for a, r in ref["agents"].items() if r["state"] in AGENT_RULES}
        if self.floor.native:
            # The native view leaves out the agents the engine would skip unread.
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
    the driver on either core, with its view (the Python core's incremental one, or the native core's)."""
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
    """A driver started on a floor folded elsewhere (a restart) primes its view from the whole site."""
    events = _copy(day)
    half = len(events) // 2
    floor = Floor(load_config(), native=native)
    ReferenceDriver(floor, AlertEngine(load_alerts())).feed(events[:half])
    drv = CheckingDriver(floor, AlertEngine(load_alerts()))
    drv.next_ms = {}
    drv.feed(events[half:])
    assert drv.checked > 100


# -- small hand-made cases: what the busy day may not have -------------------------

def _view_and_floor(**limits):
    from stream.alerts.view import SiteAlertView
    from stream.fold.site import Limits

    # The incremental view follows the Python core's contacts (the native core's view rescans).
    floor = Floor(limits=Limits(**limits), native=False) if limits else Floor(native=False)
    floor.apply(E.AgentState(id="a0", ts=0, site="s", agent="ann", state="ready", queues=["q"]))
    return floor, SiteAlertView(floor.site("s"))


def _snap_at(floor, view, t: int) -> dict:
    floor.site("s").advance(t)
    got = view.snapshot()
    assert got == floor.alert_snapshot("s"), t
    return got


def test_view_follows_a_contact_rebuilt_by_an_event_out_of_order():
    """A transfer older than the answer arrives after it: the contact's legs are rebuilt, the old ones' records go."""
    floor, view = _view_and_floor()
    floor.apply(E.CallOffered(id="1", ts=0, site="s", call="c", queue="q"))
    floor.apply(E.CallAnswered(id="2", ts=30_000, site="s", call="c", agent="ann"))
    got = _snap_at(floor, view, 60_000)
    assert got["queues"]["q"]["sliding"]["5m"]["answered"] == 1
    floor.apply(E.CallTransferred(id="3", ts=20_000, site="s", call="c", to_queue="r"))
    got = _snap_at(floor, view, 90_000)
    q, r = got["queues"]["q"]["sliding"]["5m"], got["queues"]["r"]["sliding"]["5m"]
    assert (q["offered"], q["answered"], r["offered"], r["answered"]) == (1, 0, 1, 1)


def test_view_forgets_a_waiting_contact_the_site_dropped():
    """A call waiting past the open-contact limit is dropped by the site; the view stops counting it waiting."""
    floor, view = _view_and_floor(max_open_ms=10 * 60_000)
    floor.apply(E.CallOffered(id="1", ts=0, site="s", call="c", queue="q"))
    assert _snap_at(floor, view, 60_000)["queues"]["q"]["waiting"] == 1
    floor.apply(E.AgentState(id="a1", ts=13 * 60_000, site="s", agent="ann", state="busy"))
    got = _snap_at(floor, view, 13 * 60_000 + 30_000)
    assert got["queues"]["q"]["waiting"] == 0
    assert floor.site("s").rejected == {"call_offered: contact never ended (expired)": 1}


def test_a_second_view_takes_over_the_site():
    """A site's changes go to one view: a new one primes from the whole site and the old one refuses to go on."""
    from stream.alerts.view import SiteAlertView

    floor, view = _view_and_floor()
    floor.apply(E.CallOffered(id="1", ts=0, site="s", call="c", queue="q"))
    _snap_at(floor, view, 30_000)
    view2 = SiteAlertView(floor.site("s"))
    floor.apply(E.CallAbandoned(id="2", ts=40_000, site="s", call="c"))
    assert _snap_at(floor, view2, 60_000)["queues"]["q"]["sliding"]["5m"]["abandoned"] == 1
    with pytest.raises(RuntimeError, match="another alert view"):
        view.snapshot()
