"""The native core (stream/fold/native/, C++) gives exactly the reference core's figures (stream/fold/site.py).

The reference is the Python core; the native one must agree with it on every
output for any input: reports, snapshots (queues, windows, agents, counters,
health), interval rows, overviews, alert snapshots, rejections with their
reasons and dead letters. Checked on simulated busy days (in order, shuffled
with late, duplicate and orphan events, and through the JSON bytes path), on
random floors and on random garbage (hypothesis), and on hand-made edges
(time zones with DST, midnight, limits, trims).
"""

from __future__ import annotations

import json
import random
from collections import Counter

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators import busy_day
from stream.contracts import events as E
from stream.alerts.config import load_alerts
from stream.alerts.driver import AlertDriver
from stream.alerts.engine import AlertEngine
from stream.alerts.view import alert_snapshot
from stream.contracts.floor_config import FloorConfig, load_config
from stream.fold.floor import Floor, native_available
from stream.fold.site import Limits
from tests.alerts.test_view import _shuffled
from tests.fold.test_properties import CFG, floors

pytestmark = pytest.mark.skipif(not native_available(), reason="the native core is not built here (no C++ compiler at install)")

_enc = msgspec.json.Encoder()


from stream.fold.report import stats_to_sums  # noqa: E402
from stream.history.rows import site_batch  # noqa: E402


def _copy(events: list) -> list:
    # The reference core writes epoch ms back into RFC 3339 events: each floor gets its own.
    return [e.__copy__() for e in events]


def _dead(floor: Floor) -> Counter:
    """The dead letters (event, reason) as a multiset of encoded pairs (their order is the cores' own)."""
    return Counter((_enc.encode(ev) if not isinstance(ev, (bytes, str)) else ev, why) for ev, why in floor.drain_dead())


def _everything(floor: Floor) -> dict:
    """Every output a floor gives, as plain JSON (deltas and dead letters apart)."""
    out = {"report": floor.report(), "overview": floor.overview(), "rejected": floor.rejected_summary()}
    for site in sorted(floor.sites):
        out[f"snapshot {site}"] = floor.snapshot(site)
        out[f"alert {site}"] = alert_snapshot(floor, site)
        out[f"intervals {site}"] = floor.interval_rows(site)
        out[f"days {site}"] = {d: {q: st.figures() for q, st in qs.items()} for d, qs in floor.day_sums(site).items()}
        # The sums behind them, every counter (a counter no figure reads, e.g. abandon_wait_sum, too),
        # per day and per interval as the history store gets them.
        out[f"day sums {site}"] = {d: {q: stats_to_sums(st) for q, st in qs.items()} for d, qs in floor.day_sums(site).items()}
        out[f"history rows {site}"] = site_batch(floor, site).queue
        sc = floor.sites[site]
        if sc.clock is not None:
            for name, window in (("", ()), (" last hour", (sc.clock - 3_600_000, sc.clock + 1))):
                states, handled = sc.agent_interval_totals(sc.clock, *window)
                out[f"agent intervals{name} {site}"] = {
                    "states": states,
                    "handled": {k: {f"{a}|{q}": r for (a, q), r in rows.items()} for k, rows in handled.items()},
                }
    return json.loads(json.dumps(out, sort_keys=True))


def _assert_same(native: Floor, ref: Floor, where: str = "") -> None:
    a, b = _everything(native), _everything(ref)
    for k in sorted(set(a) | set(b)):
        assert a.get(k) == b.get(k), f"{where}: {k} differs"
    assert _dead(native) == _dead(ref), f"{where}: dead letters differ"


def _pair(config=None, limits=None) -> tuple[Floor, Floor]:
    return Floor(config, limits=limits, native=True), Floor(config, limits=limits, native=False)


def _with_agent_intervals(cfg) -> Limits:
    """The config's own bounds, agent sums per interval kept (as the history store asks)."""
    return Limits(lateness_ms=cfg.lateness_s * 1000, max_ahead_ms=cfg.max_ahead_s * 1000, agent_intervals=True)


@pytest.fixture(scope="module")
def day() -> list:
    return list(busy_day.generate(load_config(), seed=7, calls=4000))


@pytest.mark.parametrize("order", ["in_order", "shuffled"])
def test_a_busy_day_gives_the_same_figures_all_day(day, order):
    """Folded in chunks; everything compared at several moments of the day and at the end."""
    events = day if order == "in_order" else _shuffled(day, seed=5)
    cfg = load_config()
    native, ref = _pair(cfg, _with_agent_intervals(cfg))
    step = len(events) // 7 + 1
    for i in range(0, len(events), step):
        native.apply_many(_copy(events[i : i + step]))
        ref.apply_many(_copy(events[i : i + step]))
        _assert_same(native, ref, f"after {i + step} events")
    native.flush()
    ref.flush()
    _assert_same(native, ref, "flushed")
    if order == "shuffled":
        assert ref.rejected_summary()["count"] > 0, "the shuffle makes late and orphan events"
        assert any(sc.duplicates for sc in ref.sites.values())
    ivals = _everything(ref)
    assert any(v["handled"] and v["states"] for k, v in ivals.items() if k.startswith("agent intervals")), "agent intervals kept"


def test_json_lines_decode_and_fold_like_the_reference(day):
    """The bytes path (native decoding) against the reference's decode_lines_raw + fold, broken lines included."""
    rng = random.Random(3)
    lines = [_enc.encode(e) for e in _shuffled(day, seed=9)]
    for _ in range(40):  # broken lines, blank lines, lines with odd whitespace or escapes
        i = rng.randrange(len(lines))
        lines.insert(i, rng.choice([b"{", b"not json", b'{"id": 1}', b"", b"   ", b'{"kind":"call_held"}', b"\x0c" + lines[i],
                                    lines[i].replace(b'"id":"', b'"id":"\\u0041'), b" " + lines[i] + b" \r"]))
    chunk = b"\n".join(lines) + b"\n"
    cfg = load_config()
    native, ref = _pair(cfg)
    for f in (native, ref):
        good, bad = f.decode_lines(chunk)
        f.apply_many(good)
        for raw, reason in bad:
            f.reject(raw, reason)
        f.flush()
    _assert_same(native, ref, "jsonl")
    assert ref.rejected_summary()["count"] >= 20


def test_kafka_payloads_decode_like_the_reference(day):
    """One event, arrays of events, arrays with a broken item, broken arrays: the same batches and rejections."""
    from stream.contracts.decode import decode_payload

    evs = day[:60]
    arr = b"[" + b",".join(_enc.encode(e) for e in evs) + b"]"
    payloads = [
        arr,
        b"  " + arr.replace(b",", b" ,\n ") + b"\n",
        _enc.encode(evs[0]),
        b"[]",
        b"[ ]",
        arr[:-1],
        arr.replace(b'"ts":', b'"ts":-', 1),
        b"[" + _enc.encode(evs[1]) + b',{"kind":"nope"}]',
        b"\x0b" + arr,
        b"[" + _enc.encode(evs[2]) + b"] x",
        b"",
        b"{}",
        b"[1, 2]",
        b'[{"a": {"b": 1}}]',
    ]
    f = Floor(native=True)
    for p in payloads:
        nb, nbad = f.decode_payload(p)
        rb, rbad = decode_payload(p, norm=False)
        assert [msgspec.structs.asdict(nb[i]) for i in range(len(nb))] == [msgspec.structs.asdict(e) for e in rb], p[:60]
        assert nbad == rbad, p[:60]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(floors(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_random_floors_in_any_order_give_the_same_figures(evs, rng, how):
    """Random hotline and hall days, delivered in order, shuffled far beyond the lateness bound, or with
    duplicates, folded in random chunks and ticked: the same outputs at every step."""
    evs = list(evs)
    if how == 1:
        rng.shuffle(evs)
    elif how == 2:
        evs = sorted(evs, key=lambda e: e.ts + rng.randrange(0, 120_000))
    elif how == 3:
        evs = evs + [rng.choice(evs) for _ in range(len(evs) // 3)] if evs else evs
    cfg = FloorConfig.from_dict(CFG)
    native, ref = _pair(cfg, Limits(lateness_ms=60_000, max_open_ms=2 * 3_600_000, keep_days=1, keep_interval_days=1,
                                    agent_intervals=rng.random() < 0.75))
    i = 0
    while i < len(evs):
        n = rng.randrange(1, 40)
        chunk = evs[i : i + n]
        native.apply_many(_copy(chunk))
        ref.apply_many(_copy(chunk))
        i += n
        if rng.random() < 0.2 and chunk:
            t = max(e.ts for e in chunk) + rng.randrange(0, 600_000)
            native.tick(t)
            ref.tick(t)
        if rng.random() < 0.3:
            _assert_same(native, ref, f"step {i}")
    native.flush()
    ref.flush()
    _assert_same(native, ref, "end")


_KINDS = sorted(E.EVENT_TYPES)


@st.composite
def garbage(draw):
    """Events of any kind for a few contacts and agents, in any order: most contradict their contact."""
    out = []
    for k in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(_KINDS))
        cls = E.EVENT_TYPES[kind]
        f = {"id": draw(st.sampled_from([f"e{k}", "dup", "e0"])), "ts": draw(st.integers(0, 4 * 3_600_000)), "site": draw(st.sampled_from(["s1", "h1"]))}
        fields = cls.__struct_fields__
        if "call" in fields:
            f["call"] = draw(st.sampled_from(["c1", "c2"]))
        if "ticket" in fields:
            f["ticket"] = draw(st.sampled_from(["t1", "t2"]))
        for name, opts in (("queue", ["q1", "q2"]), ("to_queue", ["q1", "q3"]), ("counter", ["C1", "C2"]), ("priority", [0, 3])):
            if name in fields:
                f[name] = draw(st.sampled_from(opts))
        if "agent" in fields:
            f["agent"] = draw(st.sampled_from(["a1", "a2"] + ([None] if kind != "agent_state" else [])))
        if "wrap_up" in fields:
            f["wrap_up"] = draw(st.booleans())
        if "vip" in fields:
            f["vip"] = draw(st.booleans())
        if kind == "agent_state":
            f["state"] = draw(st.sampled_from(["logged_out", "ready", "busy", "wrap_up", "not_ready"]))
            if f["state"] == "not_ready":
                f["reason"] = draw(st.sampled_from([None, "lunch", "unspecified"]))
            f["queues"] = draw(st.sampled_from([None, [], ["q1"], ["q1", "q1", "q2"]]))
            f["counter"] = draw(st.sampled_from([None, "C1"]))
        out.append(cls(**f))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage(), st.integers(0, 120_000))
def test_contradicting_events_are_rejected_alike(evs, lateness):
    """Events that contradict their contacts, orphans, duplicates, late ones: the same rejections and figures."""
    cfg = FloorConfig.from_dict(CFG)
    native, ref = _pair(cfg, Limits(lateness_ms=lateness, max_open_ms=3_600_000, dead_letters=7))
    for e in evs:
        native.apply(e.__copy__())
        ref.apply(e.__copy__())
    _assert_same(native, ref, "before flush")
    native.flush()
    ref.flush()
    _assert_same(native, ref, "after flush")


def _day_in(tz: str, date: str) -> list:
    """Calls and agents from two hours before ``date``'s local midnight through its day, for a site in ``tz``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.helpers import Seq

    y, m, d = map(int, date.split("-"))
    s = Seq("z")
    t0 = int(datetime(y, m, d, tzinfo=ZoneInfo(tz)).timestamp() * 1000) - 2 * 3_600_000
    for a in ("a1", "a2"):
        s.state(t0, a, "ready", queues=["q"])
    for i in range(60):
        t = t0 + i * 17 * 60_000
        cid = f"c{i}"
        s.offer(t, cid, queue="q")
        if i % 5 == 0:
            s.abandon(t + 4_000, cid)
        else:
            s.answer(t + 30_000, cid, "a1" if i % 2 else "a2")
            s.end(t + 30_000 + 400_000, cid, wrap_up=i % 3 == 0)
            if i % 3 == 0:
                s.wrap_end(t + 30_000 + 460_000, cid, "a1" if i % 2 else "a2")
        if i % 7 == 0:
            s.state(t + 1_000, "a1", "not_ready", reason="lunch")
            s.state(t + 900_000, "a1", "ready")
    return sorted(s.events, key=lambda e: e.ts)


@pytest.mark.parametrize("tz, date", [
    ("America/New_York", "2024-03-10"),  # the clocks go forward at 02:00: a 23-hour day
    ("Europe/Berlin", "2024-10-27"),  # the clocks go back at 03:00: a 25-hour day
    ("Asia/Shanghai", "2026-11-23"),
    ("Asia/Kolkata", "2026-11-23"),  # a half-hour offset
])
def test_time_zones_and_dst_days_give_the_same_days_and_intervals(tz, date):
    cfg = FloorConfig.from_dict({"sites": {"z": {"timezone": tz}}})
    native, ref = _pair(cfg, _with_agent_intervals(cfg))
    evs = _day_in(tz, date)
    step = len(evs) // 5 + 1
    for i in range(0, len(evs), step):
        native.apply_many(_copy(evs[i : i + step]))
        ref.apply_many(_copy(evs[i : i + step]))
        _assert_same(native, ref, f"{tz} after {i + step}")
    native.flush()
    ref.flush()
    _assert_same(native, ref, f"{tz} flushed")
    assert len(ref.report()["days"]) >= 2, "the day crosses a local midnight"


def test_limits_trim_expire_and_cap_alike():
    """Short limits: days and intervals trimmed, open contacts expired, the dead-letter list capped."""
    from tests.helpers import Seq

    s = Seq("s1")
    t = 1_795_363_200_000
    for d in range(4):
        for i in range(30):
            cid = f"d{d}c{i}"
            s.offer(t + d * 86_400_000 + i * 60_000, cid, queue="q")
            if i % 4:
                s.answer(t + d * 86_400_000 + i * 60_000 + 10_000, cid, "a1")
                s.end(t + d * 86_400_000 + i * 60_000 + 70_000, cid)
    evs = sorted(s.events, key=lambda e: e.ts)
    limits = Limits(lateness_ms=30_000, max_open_ms=3_600_000, keep_days=1, keep_interval_days=0, dead_letters=5,
                    agent_intervals=True)
    native, ref = _pair(None, limits)
    for i in range(0, len(evs), 37):
        native.apply_many(_copy(evs[i : i + 37]))
        ref.apply_many(_copy(evs[i : i + 37]))
        _assert_same(native, ref, f"after {i + 37}")
    assert ref.rejected_summary()["reasons"].get("call_offered: contact never ended (expired)", 0) > 5
    assert len(ref.report()["days"]) <= 2, "older days trimmed"


class _Recording(AlertDriver):
    """The driver, recording the snapshot it evaluates at each boundary: the agents in it as the
    engine reads them."""

    def _snapshot(self, site: str) -> dict:
        from stream.alerts.rules import agents_past

        got = super()._snapshot(site)
        floors, held = self.engine.agent_filter(site)
        read = {a: got["agents"][a] for a in agents_past(got["agents"], floors, held)}
        self.seen.append((site, got["clock"], json.dumps({**got, "agents": read}, sort_keys=True)))
        return got


def test_the_alert_driver_sees_the_same_floor_at_every_boundary(day):
    """The driver on the native core (its sites keeping live readings) and on the specification
    (scanning), side by side:
    the same alert snapshot at every boundary of a shuffled busy day, and the same alerts."""
    events = _shuffled(day, seed=13)
    cfg = load_config()
    runs = []
    for is_native in (True, False):
        drv = _Recording(Floor(cfg, native=is_native), AlertEngine(load_alerts()))
        drv.seen = []
        changes = []
        for i in range(0, len(events), 499):
            changes.extend(drv.feed(_copy(events[i : i + 499])))
        runs.append((drv.seen, changes))
    (a_seen, a_changes), (b_seen, b_changes) = runs
    assert len(a_seen) == len(b_seen) > 1000
    for x, y in zip(a_seen, b_seen):
        assert x == y, f"{x[0]} at {x[1]}"
    assert a_changes == b_changes
    assert len(b_changes) > 10, "the day raises alerts"



def test_an_error_in_a_call_into_python_is_raised_not_swallowed():
    """The core asks Python for a new day's bounds; an error there cannot unwind through C++, so it
    is kept and raised as soon as the core returns, never lost."""
    floor = Floor(native=True)
    sc = floor.site("s")
    real = sc.cal

    class Broken:
        def day_info(self, ms):
            raise ValueError("no such zone today")

        def __getattr__(self, name):
            return getattr(real, name)

    sc.cal = Broken()
    with pytest.raises(RuntimeError, match="a call into Python failed") as exc:
        floor.apply(E.CallOffered(id="1", ts=1_000, site="s", call="c", queue="q"))
    assert isinstance(exc.value.__cause__, ValueError)


def test_a_floor_is_freed_when_let_go_without_the_collector():
    """The native floor and its sites hold no reference cycle: dropping a floor frees its C++ state
    at once (a worker rebuilding a partition lets its old floor go), with the cyclic collector off."""
    import gc
    import weakref

    gc.disable()
    try:
        floor = Floor(native=True)
        floor.apply(E.CallOffered(id="1", ts=1_000, site="s", call="c", queue="q"))
        floor.snapshot("s")
        gone = weakref.ref(floor), weakref.ref(floor.site("s"))
        del floor
        assert gone[0]() is None and gone[1]() is None
    finally:
        gc.enable()
