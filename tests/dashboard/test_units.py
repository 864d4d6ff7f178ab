"""The dashboard's pieces without a server: tokens, log redaction, the wall's whitelist, history, fan-out rules."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from dashboard.auth import (
    Principal,
    RedactTokens,
    TokenConfigError,
    load_tokens_file,
    parse_tokens,
    redact,
    tokens_from_env,
)
from dashboard.hub import Hub
from dashboard.wall import History, apply_in_place, project
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.fold.delta import apply_patch, diff
from tests.dashboard_helpers import busy_day_file, read_events


def test_parse_tokens_roles_and_names():
    t = parse_tokens("wall:abc, supervisor/alice:def ,admin:ghi")
    assert t["abc"] == Principal("wall", "wall") and t["def"] == Principal("supervisor", "alice")
    assert t["ghi"].allows("supervisor") and not t["abc"].allows("supervisor") and t["def"].allows("wall")
    assert tokens_from_env({"FLOORWATCH_TOKENS": "wall:x"}) == {"x": Principal("wall", "wall")}
    assert tokens_from_env({}) == {}


@pytest.mark.parametrize("spec", ["wall", "wall:", "king:s3cret-tok"])
def test_bad_token_specs_are_refused_without_echoing_them(spec):
    with pytest.raises(TokenConfigError) as exc:
        parse_tokens(spec)
    assert "FLOORWATCH_TOKENS: entry 1" in str(exc.value)
    assert "s3cret-tok" not in str(exc.value)


def test_tokens_file(tmp_path: Path):
    p = tmp_path / "t.yaml"
    p.write_text("tokens:\n  wall: [abc]\n  supervisor: [{token: def, name: alice}]\n")
    assert load_tokens_file(p) == {"abc": Principal("wall", "wall"), "def": Principal("supervisor", "alice")}
    p.write_text("tokens:\n  wall: [abc]\n  boss: [zzz]\n")
    with pytest.raises(TokenConfigError, match=r"t\.yaml: at `\$\.tokens\.boss`: unknown role"):
        load_tokens_file(p)
    p.write_text("tokens:\n  wall: [{name: x}]\n")
    with pytest.raises(TokenConfigError, match=r"`\$\.tokens\.wall`\[0\]"):
        load_tokens_file(p)
    p.write_text("other: 1\n")
    with pytest.raises(TokenConfigError, match=r"t\.yaml: Expected `object` - at `\$\.tokens`"):
        load_tokens_file(p)


def test_redaction():
    assert redact('"GET /ws?token=abc&site=x HTTP/1.1"') == '"GET /ws?token=***&site=x HTTP/1.1"'
    assert redact("GET /?site=x&token=abc") == "GET /?site=x&token=***"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert redact("no secrets here; tokenizer=1") == "no secrets here; tokenizer=1"
    # uvicorn's access record: the formatter unpacks args, so their shape must stay.
    rec = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5", "GET", "/api/snapshot?token=abc", "1.1", 200), None)
    assert RedactTokens().filter(rec) is True
    assert rec.args[2] == "/api/snapshot?token=***" and rec.getMessage().endswith('?token=*** HTTP/1.1" 200')


@pytest.fixture(scope="module")
def floor(tmp_path_factory) -> Floor:
    evs = read_events(busy_day_file(tmp_path_factory.mktemp("d") / "day.jsonl"))
    f = Floor(load_config())
    f.apply_many(evs[: len(evs) // 2])
    return f


def test_projection_is_a_whitelist(floor):
    cfg = load_config()
    snap = floor.snapshot("gd-hotline")
    snap["queues"]["vip"]["caller"] = "138****5678"
    snap["secret"] = {"caller": "sha256:00"}
    first = next(iter(snap["agents"]))
    snap["agents"][first]["caller"] = "138****5678"
    v = project(snap, cfg)
    text = repr(v)
    assert "caller" not in text and "138****5678" not in text and "secret" not in text and "health" not in text
    assert set(v) == {"site", "name", "kind", "region", "clock", "clock_local", "date", "queues", "total", "agents", "thresholds"}
    assert set(v["queues"]["vip"]) == {"name", "waiting", "longest_wait_s", "vip_waiting", "longest_vip_wait_s", "sl_t_s",
                                       "sl_target_pct", "agents", "day", "m15", "ewt"}
    assert v["queues"]["vip"]["m15"]["sl_pct"] == snap["queues"]["vip"]["sliding"]["15m"]["sl_pct"]
    logged_in = {r["label"] for r in snap["agents"].values() if r["state"] != "logged_out"}
    assert set(v["agents"]) == logged_in
    hall = project(floor.snapshot("hall-tianhe"), cfg)
    assert hall["counters"]["configured"] == 12 and set(hall["counters"]["by_counter"]["C01"]) == {"open"}


def test_display_names_when_config_says_so(floor):
    cfg = load_config()
    snap = floor.snapshot("gd-hotline")
    # The core labels agents (display name or work number); the wall keys them by that label.
    aid = next(iter(snap["agents"]))
    snap["agents"][aid]["label"] = "张三"
    assert "张三" in project(snap, cfg)["agents"]


def test_apply_in_place_matches_apply_patch(floor):
    a = floor.snapshot("gd-hotline")
    b = floor.snapshot("hall-tianhe")
    ops = diff(a, b)
    import copy

    assert apply_in_place(copy.deepcopy(a), ops) == apply_patch(a, ops) == b


def test_history_one_point_per_step_over_an_hour():
    h = History(step_ms=10_000, span_ms=60_000)
    for t in range(0, 120_000, 2_500):
        h.add({"clock": 1_000_000 + t, "queues": {"q": {"waiting": t, "m15": {"sl_pct": 50.0}}}})
    pts = h.as_list()
    assert len(pts) == 7 and pts[-1][0] == 1_000_000 + 117_500  # the latest figures of the last step
    assert all(pts[i + 1][0] // 10_000 != pts[i][0] // 10_000 for i in range(len(pts) - 1))
    h.add({"clock": 5, "queues": {}})  # the clock went back: start over
    assert len(h.as_list()) == 1


async def test_a_full_client_queue_becomes_one_snapshot():
    hub = Hub("redis://127.0.0.1:1/0", client_queue=4)  # never connects in this test
    slow, fast = hub.connect(), hub.connect()
    assert (await hub.next_messages(slow))[0].startswith('{"t":"snapshot"')
    assert (await hub.next_messages(fast))[0].startswith('{"t":"snapshot"')
    for i in range(4):
        hub.broadcast(b'{"t":"patch","n":%d}' % i)
    assert len(await hub.next_messages(fast)) == 4
    hub.broadcast(b'{"t":"patch","n":4}')  # the fifth: the slow one overflows
    assert hub.metrics.messages_dropped == 5 and hub.metrics.resyncs == 1
    out = await asyncio.wait_for(hub.next_messages(slow), 1)
    assert len(out) == 1 and out[0].startswith('{"t":"snapshot"')
    assert await asyncio.wait_for(hub.next_messages(fast), 1) == ['{"t":"patch","n":4}']
    await hub.r.aclose()


# -- issue 13: roles as one table, silences, the alert as the wall words it ---------------


def test_roles_are_one_table_of_permissions():
    from dashboard.auth import ROLES, generate_tokens

    wall, sup, admin = Principal("wall", "w"), Principal("supervisor", "alice"), Principal("admin", "root")
    assert wall.allows("view") and not wall.allows("ack") and not wall.allows("silence")
    assert sup.allows("ack") and sup.allows("silence") and sup.allows("wall") and not sup.allows("audit")
    assert admin.allows("audit") and admin.allows("layout") and admin.allows("metrics") and admin.allows("supervisor")
    assert {p.role for p in generate_tokens().values()} == set(ROLES)
    with pytest.raises(TokenConfigError, match="unknown role 'boss'"):
        parse_tokens("boss:xyz")


def test_silences_module_examples():
    import doctest

    from stream.alerts import messages, silences

    assert doctest.testmod(silences).failed == 0
    assert doctest.testmod(messages).failed == 0


def test_a_silence_covers_its_rule_on_its_queue_until_its_end():
    from stream.alerts.silences import silence_for

    s = {"key": "s/q/longest_wait", "until_ms": 1000}
    a = {"key": "s/q/longest_wait", "at_ms": 999}
    assert silence_for(a, [s]) is s
    assert silence_for({**a, "at_ms": 1000}, [s]) is None  # ends at until_ms
    assert silence_for({**a, "key": "s/q2/longest_wait"}, [s]) is None
    assert silence_for({**a, "key": "s/q/vip_wait"}, [s]) is None
    assert silence_for({"site": "s", "queue": "q", "rule": "longest_wait", "at_ms": 5}, [s]) is s  # no key: built


def test_the_wall_words_an_alert_with_the_live_value_raise_level_and_target(tmp_path):
    from dashboard.wall import live_alert, wall_alert

    day = read_events(busy_day_file(tmp_path / "day.jsonl"))
    floor = Floor(load_config())
    floor.apply_many(day[: len(day) // 2])
    snap = floor.snapshot("gd-hotline")
    q = snap["queues"]["general"]
    rec = {"id": "gd-hotline/general/service_level@1", "key": "gd-hotline/general/service_level", "kind": "rule",
           "rule": "service_level", "site": "gd-hotline", "queue": "general", "severity": "minor", "state": "raised",
           "value": 12.0, "threshold": 65.0, "since_ms": snap["clock"] - 600_000, "at_ms": snap["clock"] - 300_000,
           "message": {"en": "old words", "zh-CN": "旧"}}
    live = live_alert(rec, snap)
    sl = q["sliding"]["15m"]["sl_pct"]
    assert live["value"] == sl and live["target"] == q["sl_target_pct"] == 80
    assert live["message"]["en"] == f"General enquiries: service level (15 min) {sl:.1f}% (alerts below 65.0%; target 80.0%) for 10 min"
    assert live["message"]["zh-CN"] == f"综合咨询：15分钟服务水平 {sl:.1f}%（告警线：低于 65.0%；目标 80.0%）已 10 分钟"
    # A wait's target is the queue's service-level time.
    lw = live_alert({**rec, "rule": "longest_wait", "threshold": 180.0}, snap)
    assert "target 0:20" in lw["message"]["en"] and "目标 0:20" in lw["message"]["zh-CN"]
    # Resolved alerts and anomalies keep the worker's words; an ack is said.
    assert live_alert({**rec, "state": "resolved"}, snap) is None
    assert live_alert({**rec, "kind": "anomaly"}, snap) is None
    assert live_alert({**rec, "state": "acknowledged"}, snap)["message"]["en"].startswith("Acknowledged: ")
    shown = wall_alert(live, {"by": "alice", "at_ms": 5})
    assert shown["ack_by"] == "alice" and shown["acknowledged"] and "caller" not in str(shown)
