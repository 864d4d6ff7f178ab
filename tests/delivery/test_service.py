"""The service against real Redis and a loopback gateway: idempotency, restarts, escalation, limits."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from stream.delivery.service import DeliveryService, run_delivery
from tests.delivery_fixtures import *  # noqa: F403 - fixtures
from tests.delivery_fixtures import DUTY_PHONE, FLOOR_PHONE, base_config, make_service, now_clock, route
from tests.delivery_support import change, delivery_log, wait_for, xadd_change

pytestmark = pytest.mark.integration

TWO_SMS = route([("floor", "sms"), ("duty", "sms")])


def sms_to(http, phone: str) -> list:
    return [q for q in http.delivered if q.form.get("To") == phone]


def pd_events(http) -> list[tuple[str, str]]:
    return [(q.json["event_action"], q.json["dedup_key"]) for q in http.delivered if q.path.endswith("/v2/enqueue")]


async def pending_count(r) -> int:
    return (await r.xpending("fw:alerts:log", "delivery"))["pending"]


# -- one message per recipient per state ---------------------------------------------


async def test_same_change_added_twice_sends_one_message_per_recipient(r, http, session) -> None:
    svc = make_service(r, session, base_config(http.url, routes=TWO_SMS))
    await svc.setup()
    ch = change("raised")
    await xadd_change(r, ch)
    await xadd_change(r, ch)  # a rebuilt worker re-emits
    assert await svc.consume_once(block_ms=100) == 2
    assert len(sms_to(http, FLOOR_PHONE)) == 1 and len(sms_to(http, DUTY_PHONE)) == 1
    # A third copy after everything was sent and acked still changes nothing.
    await xadd_change(r, ch)
    assert await svc.consume_once(block_ms=100) == 1
    assert len(http.requests) == 2
    assert await pending_count(r) == 0
    assert [e["status"] for e in await delivery_log(r)] == ["sent", "sent"]
    # The resolve is its own state change: one more message each.
    await xadd_change(r, change("resolved"))
    await xadd_change(r, change("resolved"))
    await svc.consume_once(block_ms=100)
    assert len(sms_to(http, FLOOR_PHONE)) == 2 and len(sms_to(http, DUTY_PHONE)) == 2
    assert "已恢复" in sms_to(http, DUTY_PHONE)[1].form["Body"]


async def test_runner_crash_mid_send_then_restart_sends_each_message_once(r, http, session) -> None:
    cfg = base_config(http.url, routes=TWO_SMS)
    clock = now_clock()
    # The gateway never answers the first message to the duty manager: runner A
    # is killed while that send is in flight (claimed, not sent, not XACKed).
    http.match = lambda q: q.form.get("To") == DUTY_PHONE
    http.hang_next(1)
    a = make_service(r, session, cfg, clock=clock, consumer="runner-a")
    stop_a = asyncio.Event()
    task_a = asyncio.create_task(a.run(stop_a))
    ch = change("raised")
    await xadd_change(r, ch)
    floor_key = a.ledger.record_key(ch["id"], "raised", "floor", "sms")

    async def floor_recorded() -> bool:
        return ((await a.ledger.get_record(floor_key)) or {}).get("status") == "sent"

    # Crash only once the floor manager's SMS is recorded as sent (a crash
    # between the gateway's answer and that record is the documented
    # at-least-once window, not what this test is about).
    await wait_for(lambda: http.hanging == 1, what="runner A mid-way")
    await wait_for(floor_recorded, what="floor SMS recorded")
    task_a.cancel()  # a crash: nothing after this line of runner A runs
    await asyncio.gather(task_a, return_exceptions=True)
    assert await pending_count(r) == 1
    await xadd_change(r, ch)  # and the worker re-emits meanwhile

    # Runner B (another consumer) re-claims the entry once it has been idle
    # reclaim_idle_s; the duty manager's claim is taken over once its lease ran out.
    clock.advance(s=cfg["settings"]["lease_s"] + 1)
    b = make_service(r, session, cfg, clock=clock, consumer="runner-b")
    stop_b = asyncio.Event()
    task_b = asyncio.create_task(b.run(stop_b))
    await wait_for(lambda: len(sms_to(http, DUTY_PHONE)) == 1, what="duty SMS after restart")
    await wait_for(lambda: _no_pending(r), what="all entries acked")
    stop_b.set()
    await task_b

    # Runner C finds nothing to do.
    c = make_service(r, session, cfg, clock=clock, consumer="runner-a")
    assert await c.recover() == 0
    assert len(sms_to(http, FLOOR_PHONE)) == 1
    assert len(sms_to(http, DUTY_PHONE)) == 1
    sent = [(e["recipient"], e["status"]) for e in await delivery_log(r)]
    assert sorted(sent) == [("duty", "sent"), ("floor", "sent")]


async def _no_pending(r) -> bool:
    return await pending_count(r) == 0


async def test_a_pending_claim_within_its_lease_is_not_sent_twice(r, http, session) -> None:
    # Another sender holds the claim (its lease has not run out): we must not send.
    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    clock = now_clock()
    svc = make_service(r, session, cfg, clock=clock)
    key = svc.ledger.record_key(change()["id"], "raised", "floor", "sms")
    won, _ = await svc.ledger.claim(key, now_ms=clock.now_ms(), lease_ms=30_000, owner="other")
    assert won
    await svc.handle_change(change("raised"))
    assert http.requests == []
    clock.advance(s=31)  # the other sender died: its lease ran out
    await svc.handle_change(change("raised"))
    assert len(http.delivered) == 1


# -- escalation -----------------------------------------------------------------


async def test_escalates_to_the_duty_pager_after_5_minutes_without_ack(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    await svc.handle_change(change("raised"))
    assert len(sms_to(http, FLOOR_PHONE)) == 1 and pd_events(http) == []
    clock.advance(minutes=4, s=59)
    await svc.tick()
    assert pd_events(http) == []
    clock.advance(s=1)
    await svc.tick()
    assert pd_events(http) == [("trigger", "gd-hotline/vip/longest_wait")]
    clock.advance(minutes=30)
    await svc.tick()  # no level beyond the pager: nothing more
    assert len(http.requests) == 2
    # The resolve goes to everyone who was told: the SMS and the pager.
    await svc.handle_change(change("resolved"))
    assert pd_events(http)[-1] == ("resolve", "gd-hotline/vip/longest_wait")
    assert len(sms_to(http, FLOOR_PHONE)) == 2 and "resolved" in sms_to(http, FLOOR_PHONE)[1].form["Body"]
    assert len(http.requests) == 4


async def test_no_escalation_after_ack(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    ch = change("raised")
    await svc.handle_change(ch)
    # The dashboard writes the hash (no pub/sub here: the tick's poll sees it).
    await r.hset("fw:acks", ch["id"], json.dumps({"by": "supervisor-7", "at_ms": clock.now_ms()}))
    clock.advance(minutes=10)
    await svc.tick()
    await svc.tick()
    assert pd_events(http) == []
    assert (await svc.ledger.esc_get(ch["id"]))["status"] == "acked"
    assert len(http.requests) == 1


async def test_ack_on_pubsub_stops_the_running_ladder(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    try:
        ch = change("raised")
        await xadd_change(r, ch)
        await wait_for(lambda: len(sms_to(http, FLOOR_PHONE)) == 1, what="level-0 SMS")

        async def subscribed() -> bool:  # publish only once the listener listens
            return (await r.pubsub_numsub("fw:acks:ch"))[0][1] > 0

        await wait_for(subscribed, what="ack listener subscribed")
        await r.publish("fw:acks:ch", json.dumps({"id": ch["id"], "by": "supervisor-7", "at_ms": clock.now_ms()}))

        async def acked() -> bool:
            return ((await svc.ledger.esc_get(ch["id"])) or {}).get("status") == "acked"

        await wait_for(acked, what="ack applied")
        clock.advance(minutes=10)
        await asyncio.sleep(0.3)  # six ticks
        assert pd_events(http) == []
    finally:
        stop.set()
        await task


async def test_ack_after_the_page_acknowledges_the_pagerduty_incident(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    ch = change("raised")
    await svc.handle_change(ch)
    clock.advance(minutes=5)
    await svc.tick()
    await svc.on_ack(ch["id"], "duty-1")
    await svc.on_ack(ch["id"], "duty-1")  # twice: still one acknowledge
    await svc.handle_change(change("resolved"))
    assert pd_events(http) == [
        ("trigger", "gd-hotline/vip/longest_wait"),
        ("acknowledge", "gd-hotline/vip/longest_wait"),
        ("resolve", "gd-hotline/vip/longest_wait"),
    ]


async def test_a_raise_re_emitted_after_the_resolve_does_not_restart_the_ladder(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    await svc.handle_change(change("raised"))
    await svc.handle_change(change("resolved"))
    await svc.handle_change(change("raised"))
    clock.advance(minutes=10)
    await svc.tick()
    assert pd_events(http) == [] and len(http.requests) == 2


# -- rate limits and quiet hours --------------------------------------------------


async def test_rate_limit_drops_the_excess_with_a_logged_reason(r, http, session, caplog) -> None:
    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["recipients"]["floor"]["rate_limit"] = {"burst": 2, "per_hour": 1}
    clock = now_clock()
    svc = make_service(r, session, cfg, clock=clock)
    for q in ("vip", "general", "billing"):
        await svc.handle_change(change("raised", queue=q))
    assert len(http.requests) == 2
    statuses = [(e["alert_id"].split("/")[1], e["status"]) for e in await delivery_log(r)]
    assert statuses == [("vip", "sent"), ("general", "sent"), ("billing", "rate_limited")]
    assert any("rate limit of floor reached" in rec.getMessage() for rec in caplog.records)
    assert "held back" not in http.requests[1].form["Body"]
    # The resolve of a message they did get is never dropped, and carries the
    # digest of what was held back.
    await svc.handle_change(change("resolved", queue="vip"))
    assert len(http.requests) == 3
    body = http.requests[2].form["Body"]
    assert "另有 1 条告警因限流未发送" in body and "1 more alert(s) held back by the rate limit" in body
    clock.advance(minutes=60)  # one token back
    await svc.handle_change(change("raised", queue="english"))
    assert len(http.requests) == 4
    assert "held back" not in http.requests[3].form["Body"]  # the count started again


def _at_shanghai(hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return int(datetime(2026, 11, 23, h, m, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


async def test_quiet_hours_hold_back_warnings_but_not_criticals(r, http, session) -> None:
    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["recipients"]["floor"]["quiet_hours"] = {"start": "22:00", "end": "07:00", "bypass": ["critical"]}
    clock = now_clock()
    clock.set(_at_shanghai("23:30"))
    svc = make_service(r, session, cfg, clock=clock)
    await svc.handle_change(change("raised", queue="general", severity="warning"))
    assert http.requests == []
    await svc.handle_change(change("raised", queue="vip", severity="critical"))
    assert len(http.requests) == 1
    clock.set(_at_shanghai("07:00"))  # the window's end is outside it
    await svc.handle_change(change("raised", queue="billing", severity="warning"))
    assert len(http.requests) == 2
    statuses = [(e["alert_id"].split("/")[1], e["status"]) for e in await delivery_log(r)]
    assert statuses == [("general", "quiet_hours"), ("vip", "sent"), ("billing", "sent")]
    # Nobody was told of the held-back warning, so its resolve goes to nobody.
    await svc.handle_change(change("resolved", queue="general", severity="warning"))
    assert len(http.requests) == 2


async def test_quiet_hours_without_bypass_hold_back_criticals_too(r, http, session) -> None:
    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["recipients"]["floor"]["quiet_hours"] = {"start": "22:00", "end": "07:00", "bypass": []}
    clock = now_clock()
    clock.set(_at_shanghai("03:00"))
    svc = make_service(r, session, cfg, clock=clock)
    await svc.handle_change(change("raised", severity="critical"))
    assert http.requests == []


# -- repeated changes, staleness, routing --------------------------------------------


async def test_repeated_changes_notify_only_when_the_route_asks(r, http, session) -> None:
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.handle_change(change("raised"))
    await svc.handle_change(change("repeated", at_ms=1_700_000_100_000))
    assert len(http.requests) == 1
    await r.flushall()
    http.requests.clear()
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")], notify_repeated=True)))
    await svc.handle_change(change("raised"))
    await svc.handle_change(change("repeated", at_ms=1_700_000_100_000))
    await svc.handle_change(change("repeated", at_ms=1_700_000_100_000))  # the same one again
    await svc.handle_change(change("repeated", at_ms=1_700_000_200_000))
    assert len(http.requests) == 3


async def test_old_entries_are_acked_without_sending(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])), clock=clock)
    await svc.setup()
    await xadd_change(r, change("raised"))
    clock.advance(minutes=61)  # max_age_min is 60
    await svc.consume_once(block_ms=100)
    assert http.requests == [] and await pending_count(r) == 0


async def test_first_matching_route_wins_and_unmatched_alerts_are_not_sent(r, http, session) -> None:
    routes = [
        {"name": "halls", "match": {"sites": ["hall-tianhe"]},
         "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "sms"}]}]},
        {"name": "vip-critical", "match": {"queues": ["vip"], "severities": ["critical"]},
         "levels": [{"after_min": 0, "notify": [{"to": "floor", "via": "sms"}]}]},
    ]  # fmt: skip
    svc = make_service(r, session, base_config(http.url, routes=routes))
    await svc.handle_change(change("raised", site="hall-tianhe", queue="vip"))
    await svc.handle_change(change("raised", queue="vip", severity="critical"))
    await svc.handle_change(change("raised", queue="vip", severity="warning", rule="sl"))
    assert [q.form["To"] for q in http.requests] == [DUTY_PHONE, FLOOR_PHONE]


# -- the runner ---------------------------------------------------------------------


async def test_run_delivery_reads_a_yaml_with_env_references(r, http, redis_server, tmp_path, monkeypatch) -> None:
    import yaml

    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["recipients"]["floor"]["phone"] = "${FW_TEST_FLOOR_PHONE}"
    cfg["channels"]["sms"]["auth_token"] = "${FW_TEST_TWILIO_TOKEN}"
    path = tmp_path / "delivery.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("FW_TEST_FLOOR_PHONE", "+8613500001111")
    monkeypatch.setenv("FW_TEST_TWILIO_TOKEN", "env-token-123456")
    stop = asyncio.Event()
    task = asyncio.create_task(run_delivery(redis_server.url, str(path), "fw:", stop))
    try:
        await xadd_change(r, change("raised"))
        await wait_for(lambda: len(http.delivered) == 1, what="SMS from run_delivery")
    finally:
        stop.set()  # a graceful stop: the send in flight is finished and logged
        await task
    assert http.delivered[0].form["To"] == "+8613500001111"
    [entry] = await delivery_log(r)
    assert entry["to"] == "+86 135****1111" and entry["status"] == "sent"


async def test_prefix_is_honoured(r, http, session) -> None:
    svc = DeliveryService(
        r, make_service(r, session, base_config(http.url, routes=route([("floor", "sms")]))).cfg,
        prefix="floor2:", clock=now_clock(), session=session, consumer="t",
    )  # fmt: skip
    await svc.setup()
    await xadd_change(r, change("raised"), prefix="floor2:")
    await xadd_change(r, change("raised", queue="general"), prefix="fw:")
    await svc.consume_once(block_ms=100)
    assert len(http.requests) == 1
    assert await r.xlen("floor2:delivery:log") == 1 and await r.exists("fw:delivery:log") == 0


async def test_immediate_restart_waits_for_the_dead_senders_lease_then_sends_once(r, http, session) -> None:
    # Same consumer name, restarted at once: the duty manager's claim is still
    # within its lease, so it is neither sent twice nor acked and forgotten.
    cfg = base_config(http.url, routes=TWO_SMS)
    clock = now_clock()
    http.match = lambda q: q.form.get("To") == DUTY_PHONE
    http.hang_next(1)
    a = make_service(r, session, cfg, clock=clock, consumer="runner-a")
    task_a = asyncio.create_task(a.run(asyncio.Event()))
    ch = change("raised")
    await xadd_change(r, ch)
    floor_key = a.ledger.record_key(ch["id"], "raised", "floor", "sms")

    async def floor_recorded() -> bool:
        return ((await a.ledger.get_record(floor_key)) or {}).get("status") == "sent"

    await wait_for(lambda: http.hanging == 1, what="runner A mid-send")
    await wait_for(floor_recorded, what="floor SMS recorded")  # see the test above
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)

    b = make_service(r, session, cfg, clock=clock, consumer="runner-a")
    stop = asyncio.Event()
    task_b = asyncio.create_task(b.run(stop))
    try:
        await asyncio.sleep(0.6)  # three reclaim rounds (reclaim_idle_s 0.2)
        assert sms_to(http, DUTY_PHONE) == [] and await pending_count(r) == 1
        clock.advance(s=cfg["settings"]["lease_s"] + 1)
        await wait_for(lambda: len(sms_to(http, DUTY_PHONE)) == 1, what="duty SMS after the lease")
        await wait_for(lambda: _no_pending(r), what="entry acked")
    finally:
        stop.set()
        await task_b
    assert len(sms_to(http, FLOOR_PHONE)) == 1 and len(sms_to(http, DUTY_PHONE)) == 1


async def test_escalation_waits_for_an_in_flight_claim_instead_of_skipping_the_level(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    ch = change("raised")
    await svc.handle_change(ch)
    # A sender that died while paging the duty manager left its claim behind.
    clock.advance(minutes=5)
    key = svc.ledger.record_key(ch["id"], "raised", "duty", "pager")
    await svc.ledger.claim(key, now_ms=clock.now_ms(), lease_ms=60_000, owner="dead")
    await svc.tick()
    assert pd_events(http) == []
    clock.advance(s=61)
    await svc.tick()
    assert pd_events(http) == [("trigger", "gd-hotline/vip/longest_wait")]
    assert (await svc.ledger.esc_get(ch["id"]))["level"] == 1


async def test_a_crash_right_after_the_escalation_record_still_escalates(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    ch = change("raised")
    # The record a runner wrote just before it died (not yet scheduled, nobody told).
    await svc.ledger.esc_create(ch["id"], {"route": "vip", "level": 0, "started_ms": clock.now_ms(),
                                           "status": "open", "change": ch})  # fmt: skip
    await svc.handle_change(ch)  # the entry, re-read after the restart
    assert len(sms_to(http, FLOOR_PHONE)) == 1
    clock.advance(minutes=5)
    await svc.tick()
    assert pd_events(http) == [("trigger", "gd-hotline/vip/longest_wait")]


def engine_change(change_kind: str, at_ms: int, repeats: int = 0) -> dict:
    """An AlertChange in the alert engine's shape (stream/alerts on the alerts branch)."""
    aid = "gd-hotline/vip/longest_wait@1795395630000"
    suffix = f"repeated-{repeats}" if change_kind == "repeated" else change_kind
    return {
        "id": aid, "dedup_key": f"{aid}#{suffix}", "key": "gd-hotline/vip/longest_wait",
        "change": change_kind, "state": "resolved" if change_kind == "resolved" else "raised",
        "kind": "rule", "rule": "longest_wait", "site": "gd-hotline", "queue": "vip", "agent": None,
        "severity": "major", "value": 760.0, "threshold": 600.0, "clear": 300.0,
        "since_ms": 1795395450000, "raised_ms": 1795395630000, "at_ms": at_ms,
        "acked_by": None, "acked_ms": None,
        "message": {"zh-CN": "贵宾专席：最长等待 12:40", "en": "VIP line: longest wait 12:40"},
    }  # fmt: skip


async def test_the_alert_engines_shape_is_understood(r, http, session) -> None:
    cfg = base_config(http.url, routes=[{
        "name": "major", "match": {"severities": ["major"]}, "notify_repeated": True,
        "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "pager"}, {"to": "floor", "via": "sms"}]}],
    }])  # fmt: skip
    svc = make_service(r, session, cfg)
    await svc.setup()
    for ch in (
        engine_change("raised", 1795395630000),
        engine_change("raised", 1795395630000),  # re-emitted
        engine_change("repeated", 1795396530000, repeats=1),
        engine_change("resolved", 1795396800000),
    ):
        await xadd_change(r, ch)
    await svc.consume_once(block_ms=100)
    key = "gd-hotline/vip/longest_wait"
    assert pd_events(http) == [("trigger", key), ("trigger", key), ("resolve", key)]
    trigger = next(q.json for q in http.delivered if q.path.endswith("/v2/enqueue"))
    assert trigger["payload"]["severity"] == "error"
    bodies = [q.form["Body"] for q in sms_to(http, FLOOR_PHONE)]
    assert len(bodies) == 3 and "重要" in bodies[0] and "MAJOR" in bodies[0] and "still active" in bodies[1]


async def test_an_alert_acknowledged_before_delivery_saw_it_pages_nobody(r, http, session) -> None:
    clock = now_clock()
    svc = make_service(r, session, base_config(http.url), clock=clock)
    ch = change("raised")
    await r.hset("fw:acks", ch["id"], json.dumps({"by": "supervisor-7", "at_ms": clock.now_ms()}))
    await svc.handle_change(ch)
    clock.advance(minutes=10)
    await svc.tick()
    assert http.requests == []
    await svc.handle_change(change("resolved"))
    assert http.requests == []


async def test_changes_written_by_the_workers_redis_sink_are_delivered(r, http, session) -> None:
    # The contract end to end: the worker's own writer (stream/runtime/redis_sink.py)
    # on one side, the delivery service on the other.
    from stream.runtime.redis_sink import RedisSink

    sink = RedisSink(r, prefix="fw:")
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.setup()
    await sink.publish_alerts([change("raised"), change("raised", queue="general")])
    await sink.publish_alerts([change("raised")])  # a rebuilt worker re-emits
    await sink.publish_alerts([change("resolved")])
    while await svc.consume_once(block_ms=100):
        pass
    bodies = [q.form["Body"] for q in sms_to(http, FLOOR_PHONE)]
    assert len(bodies) == 3
    assert sum("resolved" in b for b in bodies) == 1 and sum("gd-hotline/general" in b for b in bodies) == 1
    assert await pending_count(r) == 0


# -- silences set from the wall; quiet hours on event time (the demo) ---------------------


async def test_a_silence_holds_back_its_rules_alerts_until_it_ends(r, http, session) -> None:
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    raised = _at_shanghai("10:00")
    silence = {"key": "gd-hotline/vip/longest_wait", "by": "alice", "reason": "known outage",
               "from_ms": raised - 60_000, "until_ms": raised + 30 * 60_000}
    await r.hset("fw:silences", silence["key"], json.dumps(silence))
    ch = {**change("raised", raised_ms=raised), "key": "gd-hotline/vip/longest_wait"}
    await svc.handle_change(ch)
    assert http.requests == []
    # Another rule on the same queue is not silenced.
    other = {**change("raised", rule="vip_wait", raised_ms=raised), "key": "gd-hotline/vip/vip_wait"}
    await svc.handle_change(other)
    assert len(http.requests) == 1
    # The rule raises again after the silence's end (event time): that one is sent.
    later = _at_shanghai("10:31")
    await svc.handle_change({**change("raised", raised_ms=later), "key": "gd-hotline/vip/longest_wait"})
    log = [(e["alert_id"].split("@")[0], e["state"], e["status"]) for e in await delivery_log(r)]
    assert log[0] == ("gd-hotline/vip/longest_wait", "raised", "silenced")
    assert ("gd-hotline/vip/vip_wait", "raised", "sent") in log
    assert log[-1][2] == "sent" and len(http.requests) == 2
    assert "alice" in (await delivery_log(r))[0]["error"]


async def test_quiet_hours_on_event_time_judge_the_alerts_own_hour(r, http, session) -> None:
    import msgspec

    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["recipients"]["floor"]["quiet_hours"] = {"start": "22:00", "end": "07:00", "bypass": []}
    clock = now_clock()
    clock.set(_at_shanghai("23:30"))  # the operator's night...
    svc = make_service(r, session, cfg, clock=clock)
    svc.settings = svc.cfg.settings = msgspec.structs.replace(svc.cfg.settings, quiet_hours_time="event")
    # ...but the simulated day's alert is at 10:00 on its floor: sent.
    await svc.handle_change(change("raised", severity="warning", raised_ms=_at_shanghai("10:00")))
    assert len(http.requests) == 1
    # One raised at the floor's 23:00 is held back.
    await svc.handle_change(change("raised", queue="general", severity="warning", raised_ms=_at_shanghai("23:00")))
    assert len(http.requests) == 1
