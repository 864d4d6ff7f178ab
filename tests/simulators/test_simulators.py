"""The simulators emit the flows the core expects, deterministically.

Every check replays the generated stream itself (agent states, queues,
contacts) rather than trusting the simulator's internals, so a wrong
simulator fails here.
"""

from __future__ import annotations

import collections
import gzip
import io
import math
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec
import pytest

from simulators import busy_day, mmc
from stream.sources.jsonl import Rejected, read_jsonl, write_jsonl
from stream.contracts.floor_config import FloorConfig, load_config
from stream.contracts.events import CALLER_PATTERN, decode_event, encode_event

SHANGHAI = ZoneInfo("Asia/Shanghai")
CFG = load_config()
SEED = 11
CALLS = 10000


def kind(ev) -> str:
    return type(ev).__struct_config__.tag


def local_hour(ts: int, tz=SHANGHAI) -> float:
    dt = datetime.fromtimestamp(ts / 1000, tz)
    return dt.hour + dt.minute / 60 + dt.second / 3600


@pytest.fixture(scope="module")
def day() -> list:
    return list(busy_day.generate(CFG, seed=SEED, calls=CALLS))


@pytest.fixture(scope="module")
def mmc_run() -> list:
    # A = 300/h × 180 s = 15 Erlangs on 18 agents: Pw ≈ 0.48, busy enough to queue.
    return list(mmc.generate(calls_per_hour=300, aht_s=180, agents=18, hours=40, seed=5))


# --- config ------------------------------------------------------------------


def test_demo_config_loads_and_is_complete() -> None:
    sites = CFG.sites
    hot = sites["gd-hotline"]
    assert (hot.kind, hot.timezone, hot.agent_label) == ("hotline", "Asia/Shanghai", "work_number")
    assert list(hot.queues) == ["general", "vip", "broadband", "billing", "english"]
    assert hot.queues["vip"].vip and not hot.queues["general"].vip
    halls = [s for s, sc in sites.items() if sc.kind == "hall"]
    assert halls == ["hall-tianhe", "hall-yuexiu"]
    queue_ids = [q for sc in sites.values() for q in sc.queues]
    assert len(queue_ids) == len(set(queue_ids)), "queue ids must be unique across the floor"
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for s, sc in sites.items():
        assert sc.timezone == "Asia/Shanghai"
        assert sc.name and sc.name.en and cjk.search(sc.name.zh or ""), s
        for q, qc in sc.queues.items():
            assert qc.name and qc.name.en and cjk.search(qc.name.zh or ""), q
            assert {"longest_wait_s", "sl_pct", "abandon_pct", "asa_s", "waiting"} <= set(qc.thresholds), q
            assert qc.thresholds["sl_pct"].higher_is_worse is False
            assert qc.thresholds["longest_wait_s"].higher_is_worse is True
        if sc.kind == "hall":
            assert 8 <= len(sc.counters) <= 12 and len(set(sc.counters)) == len(sc.counters)
            assert any(qc.vip for qc in sc.queues.values())


# --- busy day: stream-level properties ----------------------------------------


def test_busy_day_is_deterministic() -> None:
    def encoded(seed: int) -> bytes:
        return b"\n".join(encode_event(ev) for ev in busy_day.generate(CFG, seed=seed, calls=1500))

    a = encoded(3)
    assert a == encoded(3)
    assert a != encoded(4)


def test_events_round_trip_and_are_ordered(day) -> None:
    for ev in day:
        assert decode_event(encode_event(ev)) == ev
        assert type(ev.ts) is int
    assert all(a.ts <= b.ts for a, b in zip(day, day[1:]))
    ids = [ev.id for ev in day]
    assert len(ids) == len(set(ids))
    # A site fed by a real PBX (an asterisk: section) is not simulated.
    assert {ev.site for ev in day} == {s for s, sc in CFG.sites.items() if sc.asterisk is None}


def test_volumes_scale_with_calls(day) -> None:
    counts = collections.Counter(kind(ev) for ev in day)
    assert counts["call_offered"] == CALLS
    expected = CALLS / busy_day.REF_CALLS * busy_day.TICKETS_PER_COUNTER * sum(
        len(sc.counters) for sc in CFG.sites.values() if sc.kind == "hall"
    )
    assert abs(counts["ticket_issued"] - expected) <= 2
    assert list(busy_day.generate(CFG, seed=1, calls=0)) == []


def test_intraday_profile(day) -> None:
    per_hour = collections.Counter()
    for ev in day:
        if kind(ev) == "call_offered":
            h = local_hour(ev.ts)
            assert 8 <= h < 22
            per_hour[int(h)] += 1
        elif kind(ev) == "ticket_issued":
            assert 9 <= local_hour(ev.ts) < 18
    morning = per_hour[10] + per_hour[11]
    lunch = per_hour[12] + per_hour[13]
    evening = per_hour[20] + per_hour[21]
    afternoon = per_hour[15] + per_hour[16]
    assert morning > 1.3 * lunch
    assert afternoon > 1.2 * lunch
    assert morning > 2.5 * evening
    assert per_hour[9] < per_hour[10]


def test_day_follows_the_local_timezone_across_dst() -> None:
    # Europe/London springs forward at 01:00 UTC on 2026-03-29: opening hours
    # must still be 08:00-22:00 local, i.e. 07:00-21:00 UTC.
    cfg = FloorConfig.from_dict({"sites": {"uk": {"timezone": "Europe/London", "queues": {"general": {}}}}})
    evs = list(busy_day.generate(cfg, seed=1, calls=300, day=date(2026, 3, 29)))
    hours = [local_hour(ev.ts, ZoneInfo("Europe/London")) for ev in evs if kind(ev) == "call_offered"]
    assert len(hours) == 300 and 8 <= min(hours) and max(hours) < 22
    assert datetime.fromtimestamp(min(ev.ts for ev in evs) / 1000, timezone.utc).hour == 7


# --- busy day: hotline flows -----------------------------------------------------


def contact_flows(day, site_kind: str) -> dict[str, list]:
    key = "call" if site_kind == "hotline" else "ticket"
    flows: dict[str, list] = collections.defaultdict(list)
    for ev in day:
        if hasattr(ev, key):
            flows[(ev.site, getattr(ev, key))].append(ev)
    return flows


def test_call_flows(day) -> None:
    flows = contact_flows(day, "hotline")
    shapes = collections.Counter()
    for evs in flows.values():
        shape = tuple(kind(ev) for ev in evs)
        shapes[shape] += 1
        assert shape in {
            ("call_offered", "call_abandoned"),
            ("call_offered", "call_answered", "call_ended", "wrap_up_ended"),
        }, shape
        off = evs[0]
        assert off.caller is None or re.match(CALLER_PATTERN, off.caller)
        assert off.vip == (off.priority >= 1) or off.queue == "vip"
        if len(evs) == 4:
            _, ans, end, wrap = evs
            assert end.wrap_up is True and wrap.agent == ans.agent
            assert off.ts <= ans.ts <= end.ts <= wrap.ts
    abandons = shapes[("call_offered", "call_abandoned")]
    assert 0.01 * len(flows) < abandons < 0.2 * len(flows)
    # Callers wait minutes before they give up, not milliseconds.
    waits = [evs[1].ts - evs[0].ts for evs in flows.values() if kind(evs[1]) == "call_abandoned"]
    assert 30_000 < sum(waits) / len(waits) < 600_000
    queues = collections.Counter(evs[0].queue for evs in flows.values())
    assert queues.most_common()[0][0] == "general" and queues.most_common()[-1][0] == "english"


def test_vip_callers_answered_first_within_a_queue(day) -> None:
    waiting: dict[str, dict[str, tuple[int, int]]] = collections.defaultdict(dict)  # queue -> call -> (prio, ts)
    queue_of: dict[str, str] = {}
    jumps = 0
    for ev in day:
        k = kind(ev)
        if k == "call_offered":
            waiting[ev.queue][ev.call] = (ev.priority, ev.ts)
            queue_of[ev.call] = ev.queue
        elif k in ("call_answered", "call_abandoned"):
            w = waiting[queue_of[ev.call]]
            prio, ts = w.pop(ev.call)
            if k == "call_answered":
                # Nobody of higher priority, nor of the same priority but
                # earlier, is left waiting in the queue.
                assert all(p < prio or (p == prio and t >= ts) for p, t in w.values())
                jumps += any(p < prio and t < ts for p, t in w.values())
    assert jumps > 0, "VIP callers should overtake waiting regular callers at the peaks"


# --- busy day: agents ------------------------------------------------------------


def test_agent_states_follow_the_contacts(day) -> None:
    """Replay agent states: answers only to ready agents, breaks and logouts only when idle."""
    state: dict[tuple, str] = {}
    skills: dict[tuple, list] = {}
    counter_of: dict[tuple, str] = {}
    active: dict[tuple, str] = {}  # agent -> contact in hand (answered .. handling over)
    holder: dict[str, tuple] = {}  # contact -> agent
    seated: dict[tuple, tuple] = {}  # (site, counter) -> agent logged in there
    queue_of: dict[tuple, str] = {}
    expect_next: dict[tuple, str] = {}  # the state an agent must take next (same ms)
    reasons = collections.Counter()
    first_state: dict[tuple, str] = {}
    for ev in day:
        k = kind(ev)
        if k in ("call_offered", "ticket_issued"):
            queue_of[(ev.site, getattr(ev, "call", None) or ev.ticket)] = ev.queue
        if k == "agent_state":
            a = (ev.site, ev.agent)
            first_state.setdefault(a, ev.state)
            if a in expect_next:
                assert ev.state == expect_next.pop(a), (a, ev)
            prev = state.get(a, "logged_out")
            if prev == "logged_out":
                assert ev.state == "ready" and ev.queues, ev
                skills[a] = ev.queues
                if ev.counter is not None:
                    assert ev.counter in CFG.sites[ev.site].counters
                    assert (ev.site, ev.counter) not in seated, "two clerks at one counter"
                    seated[(ev.site, ev.counter)] = a
                    counter_of[a] = ev.counter
            else:
                assert ev.queues is None and ev.counter is None
            assert (ev.reason is not None) == (ev.state == "not_ready")
            if ev.state in ("not_ready", "logged_out"):
                assert a not in active, f"{a} went {ev.state} holding {active.get(a)}"
                assert prev in ("ready", "wrap_up", "not_ready", "busy") and prev != ev.state
                if prev == "busy":
                    # A counter clerk is busy up to the end of the service.
                    assert a in counter_of
            if ev.state == "not_ready":
                reasons[ev.reason] += 1
            if ev.state == "logged_out" and a in counter_of:
                del seated[(ev.site, counter_of[a])]
            state[a] = ev.state
        elif k in ("call_answered", "ticket_called"):
            a = (ev.site, ev.agent)
            c = (ev.site, getattr(ev, "call", None) or ev.ticket)
            assert state.get(a) == "ready", f"{a} answered {c} while {state.get(a)}"
            assert a not in active
            assert queue_of[c] in skills[a]
            if k == "ticket_called":
                assert ev.counter == counter_of[a]
            active[a] = c
            holder[c] = a
            expect_next[a] = "busy"
        elif k == "call_ended":
            a = holder[(ev.site, ev.call)]
            assert state[a] == "busy"
            expect_next[a] = "wrap_up"
        elif k in ("wrap_up_ended", "ticket_completed", "ticket_no_show"):
            c = (ev.site, getattr(ev, "call", None) or ev.ticket)
            a = holder.pop(c)
            assert active.pop(a) == c
            assert state[a] == ("wrap_up" if k == "wrap_up_ended" else "busy")
    assert not expect_next and not active
    assert set(state.values()) == {"logged_out"}, "everyone logs out at the end of the day"
    assert set(first_state.values()) == {"ready"}
    assert {"break", "lunch"} <= set(reasons) <= {"break", "lunch", "meeting", "training"}
    hot = [q for (s, _), q in skills.items() if s == "gd-hotline"]
    assert all(1 <= len(q) <= 3 and len(set(q)) == len(q) for q in hot)
    assert any(len(q) >= 2 for q in hot), "some agent serves several queues"
    assert any(len(q) == 3 for q in hot)


def test_staffing_follows_the_profile(day) -> None:
    """More hotline agents logged in at the morning peak than in the evening."""
    logged: set = set()
    at: dict[int, int] = {}
    probes = iter(sorted((h, int(datetime(2026, 11, 23, h, 30, tzinfo=SHANGHAI).timestamp() * 1000)) for h in (8, 10, 12, 15, 21)))
    h, t = next(probes)
    for ev in day:
        while t is not None and ev.ts > t:
            at[h] = len(logged)
            h, t = next(probes, (None, None))
        if kind(ev) == "agent_state" and ev.site == "gd-hotline":
            (logged.discard if ev.state == "logged_out" else logged.add)(ev.agent)
    assert at[10] > 1.5 * at[21] and at[10] > at[8] and at[15] > at[21]


# --- busy day: halls -------------------------------------------------------------


def test_ticket_flows(day) -> None:
    flows = contact_flows(day, "hall")
    shapes = collections.Counter()
    for (site, ticket), evs in flows.items():
        assert re.fullmatch(r"20261123-[A-Z]\d{3,}", ticket), ticket
        shape = tuple(kind(ev) for ev in evs)
        shapes[shape] += 1
        assert shape in {
            ("ticket_issued", "ticket_abandoned"),
            ("ticket_issued", "ticket_called", "ticket_completed"),
            ("ticket_issued", "ticket_called", "ticket_no_show"),
        }, shape
        if shape[-1] == "ticket_no_show":
            assert 60_000 <= evs[2].ts - evs[1].ts <= 120_000
        if evs[0].queue.endswith("vip"):
            assert evs[0].vip and evs[0].priority >= 1
    assert shapes[("ticket_issued", "ticket_called", "ticket_no_show")] > 0
    assert shapes[("ticket_issued", "ticket_abandoned")] > 0
    assert shapes[("ticket_issued", "ticket_called", "ticket_completed")] > 0.7 * len(flows)


def test_vip_tickets_called_ahead_of_earlier_regular_tickets(day) -> None:
    waiting: dict[tuple, dict[str, tuple[int, int]]] = collections.defaultdict(dict)
    queue_of: dict[tuple, tuple] = {}
    jumps = 0
    for ev in day:
        k = kind(ev)
        if k == "ticket_issued":
            waiting[(ev.site, ev.queue)][ev.ticket] = (ev.priority, ev.ts)
            queue_of[(ev.site, ev.ticket)] = (ev.site, ev.queue)
        elif k in ("ticket_called", "ticket_abandoned"):
            w = waiting[queue_of[(ev.site, ev.ticket)]]
            prio, ts = w.pop(ev.ticket)
            if k == "ticket_called":
                assert all(p < prio or (p == prio and t >= ts) for p, t in w.values()), ev
                jumps += any(p < prio and t < ts for p, t in w.values())
    assert jumps > 0, "a VIP ticket should be called before an earlier regular one of its queue"


# --- mmc ---------------------------------------------------------------------------


def test_mmc_is_deterministic_and_round_trips() -> None:
    def run(seed: int) -> list:
        return list(mmc.generate(calls_per_hour=120, aht_s=200, agents=5, hours=2, seed=seed))

    a = run(1)
    assert [encode_event(ev) for ev in a] == [encode_event(ev) for ev in run(1)]
    assert [encode_event(ev) for ev in a] != [encode_event(ev) for ev in run(2)]
    for ev in a:
        assert decode_event(encode_event(ev)) == ev


def test_mmc_flows(mmc_run) -> None:
    evs = mmc_run
    assert all(a.ts <= b.ts for a, b in zip(evs, evs[1:]))
    assert len({ev.id for ev in evs}) == len(evs)
    assert evs[0].ts == int(mmc.DEFAULT_START.timestamp() * 1000)
    kinds = collections.Counter(kind(ev) for ev in evs)
    assert set(kinds) == {"agent_state", "call_offered", "call_answered", "call_ended"}
    assert kinds["call_offered"] == kinds["call_answered"] == kinds["call_ended"]
    in_service: dict[str, str] = {}
    state: dict[str, str] = {}
    peak = 0
    for ev in evs:
        k = kind(ev)
        if k == "agent_state":
            state[ev.agent] = ev.state
        elif k == "call_answered":
            assert state[ev.agent] == "ready"
            in_service[ev.call] = ev.agent
            peak = max(peak, len(in_service))
        elif k == "call_ended":
            assert ev.wrap_up is False
            del in_service[ev.call]
    assert peak == 18, "never more than N calls in service, and all N used when busy"
    assert len(state) == 18 and not in_service


def test_mmc_matches_the_parameters(mmc_run) -> None:
    evs = mmc_run
    offered = {ev.call: ev.ts for ev in evs if kind(ev) == "call_offered"}
    answered = {ev.call: ev.ts for ev in evs if kind(ev) == "call_answered"}
    ended = {ev.call: ev.ts for ev in evs if kind(ev) == "call_ended"}
    lam_h, aht, n, hours = 300, 180.0, 18, 40
    # Poisson count: mean = variance = λT.
    expect = lam_h * hours
    assert abs(len(offered) - expect) < 5 * math.sqrt(expect)
    # Exponential service: sd = mean, so the mean of n has sd aht/√n.
    svc = [(ended[c] - answered[c]) / 1000 for c in answered]
    assert abs(sum(svc) / len(svc) - aht) < 5 * aht / math.sqrt(len(svc))
    # FIFO: answer order is arrival order.
    order = sorted(answered, key=lambda c: (answered[c], offered[c]))
    assert [offered[c] for c in order] == sorted(offered[c] for c in order)
    # Share of calls that wait vs Erlang C, by the textbook formula
    # (factorials, independent of mmc.erlang_c); ±0.06 covers the
    # correlation between successive waits at this length of run.
    a = lam_h * aht / 3600
    top = a**n / math.factorial(n) * n / (n - a)
    pw = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert mmc.erlang_c(n, a) == pytest.approx(pw, rel=1e-9)
    waited = sum(answered[c] > offered[c] for c in offered) / len(offered)
    assert abs(waited - pw) < 0.06
    asa = sum(answered[c] - offered[c] for c in offered) / len(offered) / 1000
    assert asa == pytest.approx(pw * aht / (n - a), rel=0.25)


def test_mmc_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        list(mmc.generate(calls_per_hour=10, aht_s=0, agents=1, hours=1, seed=1))
    with pytest.raises(ValueError):
        list(mmc.generate(calls_per_hour=10, aht_s=60, agents=1, hours=1, seed=1, start=datetime(2026, 1, 5)))


# --- JSON Lines ----------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path) -> None:
    evs = list(busy_day.generate(CFG, seed=2, calls=300))
    for name in ("day.jsonl", "day.jsonl.gz"):
        path = tmp_path / name
        assert write_jsonl(evs, path) == len(evs)
        back = list(read_jsonl(path))
        assert back == evs
    raw = gzip.decompress((tmp_path / "day.jsonl.gz").read_bytes())
    assert raw == b"".join(encode_event(ev) + b"\n" for ev in evs)


def test_jsonl_reader_survives_broken_lines() -> None:
    good = list(mmc.generate(calls_per_hour=60, aht_s=60, agents=1, hours=0.2, seed=1))[:3]
    lines = [encode_event(ev) for ev in good]
    data = b"\n".join([
        lines[0],
        b"",  # blank: skipped
        b'{"id": "x", "ts": 1, "site": "s", "kind": "call_offered"',  # truncated JSON
        lines[1],
        b'{"id":"x","ts":1,"site":"s","kind":"no_such_kind"}',
        b'{"id":"x","ts":1,"site":"s","kind":"call_offered","call":"c","queue":"q","caller":"13812345678"}',
        b'{"id":"x","ts":1,"site":"s","kind":"agent_state","agent":"a","state":"ready","reason":"lunch"}',
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        lines[2] + b"\r",
    ]) + b'\n{"id":"partial'  # a last line cut off mid-write
    out = list(read_jsonl(io.BytesIO(data)))
    events = [x for x in out if not isinstance(x, Rejected)]
    rejects = [x for x in out if isinstance(x, Rejected)]
    assert events == good
    assert len(rejects) == 7
    raw, reason = rejects[0]
    assert raw.startswith(b'{"id": "x"') and reason.startswith("line 3: ")
    assert rejects[-1] == (b'{"id":"partial', rejects[-1].reason) and rejects[-1].reason.startswith("line 11: ")
    assert all(isinstance(r.raw, bytes) and r.reason for r in rejects)


def test_jsonl_cli_writes_events(tmp_path) -> None:
    out = tmp_path / "mmc.jsonl"
    assert mmc.main(["--calls-per-hour", "60", "--aht", "60", "--agents", "2", "--hours", "0.5", "-o", str(out)]) == 0
    assert all(not isinstance(x, Rejected) for x in read_jsonl(out))
    out2 = tmp_path / "day.jsonl"
    assert busy_day.main(["--calls", "200", "--seed", "3", "-o", str(out2)]) == 0
    assert out2.read_bytes() == b"".join(encode_event(ev) + b"\n" for ev in busy_day.generate(CFG, seed=3, calls=200))
