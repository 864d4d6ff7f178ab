"""The Asterisk queue_log source (stream.sources.asterisk) on hand-written logs.

``asterisk/modern.queue_log`` holds every event the mapping knows, in the
layout of current Asterisk (with garbage, an unknown event, a CONNECT whose
ENTERQUEUE is missing, and a restart that orphans two calls);
``legacy.queue_log`` is the same day as Asterisk 1.x wrote it (fewer data
fields). ``modern.expected.jsonl`` is the same calls written by hand in
floorwatch's own format: replaying either must give the same report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.contracts.events import CALLER_PATTERN, encode_event
from stream.contracts.floor_config import AsteriskSource, FloorConfig, SiteConfig, load_config
from stream.fold.floor import Floor
from stream.runtime.replay import replay_file
from stream.sources import formats
from stream.sources.asterisk import EVENTS, QueueLogMapper, caller_function, resolve_site
from stream.sources.formats import Dead, SourceError

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "asterisk"
MODERN, LEGACY, EXPECTED = DATA / "modern.queue_log", DATA / "legacy.queue_log", DATA / "modern.expected.jsonl"
SITE = "sz-asterisk"
TZ = ZoneInfo("Asia/Shanghai")
# Every caller number in the hand-written logs (none may leave the mapping in clear).
NUMBERS = sorted(set(re.findall(r"ENTERQUEUE\|\|([+\d]+)", MODERN.read_text())))


def config() -> FloorConfig:
    return load_config(ROOT / "config" / "floor.yaml")


def mapper(cfg: FloorConfig | None = None) -> QueueLogMapper:
    cfg = cfg or config()
    name, sc = resolve_site(cfg, None)
    return QueueLogMapper(name, sc)


def run(lines: list[bytes], m: QueueLogMapper | None = None) -> list:
    m = m or mapper()
    return [item for ln in lines for item in m.feed(ln)]


def report(path: Path, fmt: str) -> dict:
    return replay_file(path, fmt, Floor(config())).report()


def as_tsv(path: Path, layout: str) -> bytes:
    """The file as a realtime table exported tab-separated: 1.x ``data`` or later ``data1``..``data5``."""
    out = []
    for ln in path.read_text().splitlines():
        f = ln.split("|")
        if len(f) < 5 or not f[0].isdigit():
            out.append(ln)  # garbage stays garbage
            continue
        t = datetime.fromtimestamp(int(f[0]), timezone.utc).astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S.000000")
        data = f[5:]
        cols = ["|".join(data)] if layout == "data" else (data + [""] * 5)[:5]
        out.append("\t".join([t, *f[1:5], *cols]))
    return ("\n".join(out) + "\n").encode()


def key(items: list) -> list:
    """Events as (id, ts, kind, json) and dead letters as (raw, reason): what a layout must not change."""
    return [(i.raw, i.reason) if isinstance(i, Dead) else (i.id, i.ts, i.kind, encode_event(i)) for i in items]


# -- every event, both layouts --------------------------------------------------


def test_the_hand_written_logs_hold_every_event_in_both_layouts() -> None:
    for path in (MODERN, LEGACY):
        m = mapper()
        run(path.read_bytes().splitlines(keepends=True), m)
        assert set(m.stats) - {"FOOBAR"} == EVENTS, path.name


def test_legacy_and_realtime_layouts_map_like_the_modern_file(tmp_path) -> None:
    modern = key(run(MODERN.read_bytes().splitlines()))
    for name, text in (("legacy", LEGACY.read_bytes()), ("data", as_tsv(MODERN, "data")),
                       ("data1-5", as_tsv(MODERN, "data1-5"))):
        got = key(run(text.splitlines()))
        # Events are the same to the byte; dead letters keep their own layout's line, and the reason.
        assert [k for k in got if len(k) == 4] == [k for k in modern if len(k) == 4], name
        assert [k[1] for k in got if len(k) == 2] == [k[1] for k in modern if len(k) == 2], name


def test_replayed_log_equals_the_same_calls_in_floorwatch_format() -> None:
    got, want = report(MODERN, "asterisk"), report(EXPECTED, "jsonl")
    assert report(LEGACY, "asterisk") == got
    rejected = got.pop("rejected")
    assert want.pop("rejected") == {"count": 0, "reasons": {}}
    assert got == want
    assert got["total"]["offered"] == 15 and got["total"]["answered"] == 8
    assert rejected["reasons"] == {
        "asterisk: not a queue_log line": 1,
        "asterisk: unknown event FOOBAR": 1,
        "asterisk: CONNECT without ENTERQUEUE (log rotated mid-call?)": 1,
        "asterisk: COMPLETECALLER without ENTERQUEUE (log rotated mid-call?)": 1,
        "asterisk: call waiting when Asterisk restarted: closed": 1,
        "asterisk: call talking when Asterisk restarted: closed": 1,
    }


def test_cli_replay_prints_the_same_report() -> None:
    out = subprocess.run([sys.executable, "-m", "stream.cli.main", "replay", str(MODERN), "--format", "asterisk",
                          "--report", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == report(MODERN, "asterisk")


# -- what the mapping does ---------------------------------------------------------------


def events_of(kind: str, items: list) -> list:
    return [i for i in items if not isinstance(i, Dead) and i.kind == kind]


def test_agents_follow_membership_pauses_calls_and_logins() -> None:
    items = run(MODERN.read_bytes().splitlines())
    states = [(e.agent, e.state, e.reason) for e in events_of("agent_state", items)]
    # 1001 serves two queues: paused in one it is still ready, in both it is not.
    assert ("1001", "not_ready", "lunch") in states
    i = states.index(("1001", "not_ready", "lunch"))
    assert states[i + 1:].index(("1001", "ready", None)) >= 0
    assert ("1002", "not_ready", "meeting") in states  # PAUSEALL
    assert ("Agent/3001", "busy", None) in states and ("Agent/3002", "ready", None) in states
    assert states[-3:] == [("1002", "logged_out", None), ("Agent/3001", "logged_out", None),
                           ("Agent/3002", "logged_out", None)]
    # Every answered call made its agent busy at that moment, and its end made it free.
    for ans in events_of("call_answered", items):
        assert any(e.agent == ans.agent and e.state == "busy" and e.ts == ans.ts for e in events_of("agent_state", items))


def test_a_transfer_to_a_listed_target_requeues_the_same_call() -> None:
    items = run(MODERN.read_bytes().splitlines())
    moved = events_of("call_transferred", items)
    assert [(e.to_queue, e.call) for e in moved] == [("sz-sales", "1795396400.9@1795396400")]
    # The ENTERQUEUE Asterisk writes for it offers no new call.
    assert sum(e.call == moved[0].call for e in events_of("call_offered", items)) == 1
    assert sum(e.call == moved[0].call for e in events_of("call_answered", items)) == 2


def test_a_restart_closes_the_open_calls_at_the_last_line_before_it() -> None:
    items = run(MODERN.read_bytes().splitlines())
    closed = [i for i in items if not isinstance(i, Dead) and ":QUEUESTART:" in i.id]
    assert [(e.kind, e.ts) for e in closed if e.kind != "agent_state"] == [
        ("call_abandoned", 1795398115000), ("call_ended", 1795398115000)]


def test_rotation_mid_call_dead_letters_what_lost_its_start_and_state_carries_it_over() -> None:
    lines = MODERN.read_bytes().splitlines()
    cut = next(i for i, ln in enumerate(lines) if b"|CONNECT|" in ln) + 1  # after call A is answered
    second = run(lines[cut:])
    assert "asterisk: COMPLETECALLER without ENTERQUEUE (log rotated mid-call?)" in [
        i.reason for i in second if isinstance(i, Dead)]
    # With the state carried over (what `tail` does across a rotation), nothing is lost.
    m = mapper()
    first = run(lines[:cut], m)
    m2 = mapper()
    m2.restore(json.loads(json.dumps(m.state())))
    assert key(first + run(lines[cut:], m2)) == key(run(lines))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=62))
def test_any_split_with_the_state_saved_and_restored_maps_as_one_run(cut: int) -> None:
    lines = MODERN.read_bytes().splitlines()
    m = mapper()
    head = run(lines[:cut], m)
    m2 = mapper()
    m2.restore(json.loads(json.dumps(m.state())))
    assert key(head + run(lines[cut:], m2)) == key(run(lines))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=80),
    st.lists(st.sampled_from(["", "NONE", "1795395600", "1.2", "q-support", "PJSIP/1001", "ENTERQUEUE", "CONNECT",
                              "PAUSE", "ABANDON", "COMPLETECALLER", "13812345678", "x|y", "2026-11-23 09:00:00"]),
             max_size=9).map(lambda f: "|".join(f).encode()),
), max_size=30))
def test_no_line_breaks_the_mapping(lines: list) -> None:
    m = mapper()
    for ln in lines:
        for item in m.feed(ln):
            if isinstance(item, Dead):
                assert item.reason and item.reason.startswith("asterisk: ")
            else:
                # What comes out is a valid wire event.
                assert formats.get("jsonl").follow(config(), None).feed(encode_event(item))[0] == item


# -- privacy -------------------------------------------------------------------------------


def test_caller_numbers_never_leave_the_mapping_in_clear(monkeypatch) -> None:
    assert NUMBERS and "13812345678" in NUMBERS
    for mode in ("mask", "hash", "drop"):
        cfg = config()
        cfg.sites[SITE].asterisk.caller = mode  # type: ignore[union-attr]
        monkeypatch.setenv("FLOORWATCH_CALLER_KEY", "test-secret")
        items = list(formats.get("asterisk").read(MODERN, cfg, None))
        text = b"\n".join(encode_event(i) if not isinstance(i, Dead) else i.raw for i in items).decode()
        for n in NUMBERS:
            assert n.lstrip("+") not in text, (mode, n)
        callers = [e.caller for e in events_of("call_offered", items)]
        if mode == "drop":
            assert set(callers) == {None}
        else:
            assert all(c is not None and re.fullmatch(CALLER_PATTERN, c) for c in callers), callers
        if mode == "hash":
            assert all(c.startswith("sha256:") for c in callers)


def test_hashes_are_keyed_per_site_and_need_the_key() -> None:
    src = AsteriskSource(caller="hash", caller_key_env="K")
    a, b = caller_function("a", src, {"K": "s"}), caller_function("b", src, {"K": "s"})
    assert a("13812345678") == a("138 1234 5678") != b("13812345678")
    assert caller_function("a", src, {"K": "other"})("13812345678") != a("13812345678")
    with pytest.raises(SourceError, match=r"\$K is not set"):
        caller_function("a", src, {})


# -- configuration -------------------------------------------------------------------------


def test_queues_only_listed_and_site_resolution() -> None:
    sc = SiteConfig(asterisk=AsteriskSource(queues={"q1": "support"}, only_listed_queues=True))
    m = QueueLogMapper("s", sc)
    assert m.feed(b"1795395610|1.1|q2|NONE|ENTERQUEUE||1|1")[0].reason == "asterisk: queue q2 not in asterisk.queues"
    assert m.feed(b"1795395610|1.2|q1|NONE|ENTERQUEUE||1|1")[0].queue == "support"
    none = FloorConfig(sites={"a": SiteConfig()})
    with pytest.raises(SourceError, match="no site in the floor config has an asterisk: section"):
        resolve_site(none, None)
    assert resolve_site(none, "a")[0] == "a"
    with pytest.raises(SourceError, match="no site 'b'"):
        resolve_site(none, "b")


def test_cli_says_what_is_wrong_in_one_line(tmp_path) -> None:
    cfg = tmp_path / "floor.yaml"
    cfg.write_text("sites:\n  a: {timezone: UTC}\n")
    out = subprocess.run([sys.executable, "-m", "stream.cli.main", "replay", str(MODERN), "--format", "asterisk",
                          "--config", str(cfg), "--report", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "floorwatch replay: no site in the floor config has an asterisk: section; add one or give --site"]


def test_the_example_site_is_not_simulated() -> None:
    from simulators import busy_day

    assert config().sites[SITE].asterisk is not None
    assert SITE not in {e.site for e in busy_day.generate(config(), seed=1, calls=200)}


def test_a_call_entering_again_while_open_closes_its_stale_leg() -> None:
    m = QueueLogMapper("s", SiteConfig())
    m.feed(b"1795395610|7.1|qa|NONE|ENTERQUEUE||1|1")
    m.feed(b"1795395615|7.1|qa|PJSIP/1|CONNECT|5|7.2|1")
    out = m.feed(b"1795395700|7.1|qb|NONE|ENTERQUEUE||1|1")  # the COMPLETE of the first leg never came
    kinds = [i.kind if not isinstance(i, Dead) else i.reason for i in out]
    assert kinds == ["call_ended", "asterisk: ENTERQUEUE of a call still talking in qa: closed", "agent_state",
                     "call_offered"]
    assert out[2].state == "ready" and out[3].queue == "qb" and out[3].call != out[0].call
