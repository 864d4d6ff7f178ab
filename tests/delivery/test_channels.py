"""Each channel's wire format, against real servers on loopback; retries on 503, none on 400."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from email import message_from_bytes, policy
from urllib.parse import quote

import pytest

from stream.delivery.channels import aliyun_signature
from tests.delivery_fixtures import *  # noqa: F403 - fixtures
from tests.delivery_fixtures import (
    AK_ID,
    AK_SECRET,
    FLOOR_EMAIL,
    HOOK_TOKEN,
    PAGER_KEY,
    SID,
    TOKEN,
    base_config,
    make_service,
    route,
)
from tests.delivery_support import change, delivery_log

pytestmark = pytest.mark.integration


async def test_twilio_form_and_basic_auth(r, http, session) -> None:
    http.ok_status = 201
    http.ok_body = lambda req: {"sid": "SM0001", "status": "queued"}
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.handle_change(change("raised"))

    assert len(http.requests) == 1
    req = http.requests[0]
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    scheme, _, cred = req.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(cred).decode() == f"{SID}:{TOKEN}"
    assert req.form["To"] == "+8613812345678"
    assert req.form["From"] == "+15550001111"
    body = req.form["Body"]
    assert "VIP队列：最长等待 12:40" in body and "VIP queue: longest wait 12:40" in body
    assert "严重" in body and "CRITICAL" in body
    [entry] = await delivery_log(r)
    assert entry["status"] == "sent" and entry["attempts"] == "1" and entry["channel"] == "sms"


def _independent_aliyun_signature(params: dict[str, str], secret: str) -> str:
    """The signature as Alibaba documents it, computed here without the production code."""

    def enc(s: str) -> str:
        return quote(s.encode("utf-8"), safe="-_.~")

    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params) if k != "Signature")
    string_to_sign = "POST&" + enc("/") + "&" + enc(canonical)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def test_aliyun_signature_matches_the_documented_example() -> None:
    # Alibaba Cloud's RPC signature documentation example (DescribeRegions, GET, secret "testsecret").
    params = {
        "AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
    }  # fmt: skip
    assert aliyun_signature(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


async def test_aliyun_sendsms_is_signed_and_verified_by_the_server(r, http, session) -> None:
    http.ok_body = lambda req: (
        {"Code": "OK", "BizId": "900", "RequestId": "r1"}
        if _independent_aliyun_signature(req.form, AK_SECRET) == req.form.get("Signature")
        else {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
    )
    cfg = base_config(http.url, routes=route([("floor", "sms-cn"), ("duty", "sms-cn")]))
    svc = make_service(r, session, cfg)
    await svc.handle_change(change("raised"))

    assert len(http.requests) == 2
    forms = sorted((q.form for q in http.requests), key=lambda f: f["PhoneNumbers"])
    for form in forms:
        assert form["Action"] == "SendSms"
        assert form["AccessKeyId"] == AK_ID
        assert form["SignatureMethod"] == "HMAC-SHA1" and form["SignatureVersion"] == "1.0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", form["Timestamp"])
        assert form["SignName"] == "广东客服中心" and form["TemplateCode"] == "SMS_123456789"
        params = json.loads(form["TemplateParam"])
        assert params["queue"] == "vip" and params["state"] == "告警" and len(params["detail"]) <= 35
        assert form["Signature"] == _independent_aliyun_signature(form, AK_SECRET)
    # Mainland numbers go without the country code.
    assert [f["PhoneNumbers"] for f in forms] == ["13812345678", "13987654321"]
    assert forms[0]["SignatureNonce"] != forms[1]["SignatureNonce"]
    assert [e["status"] for e in await delivery_log(r)] == ["sent", "sent"]


async def test_aliyun_rejected_signature_is_a_failure(r, http, session) -> None:
    # The server's verification is not vacuous: a wrong secret is refused, and
    # a refusal (HTTP 200, Code != OK) is reported as failed without retries.
    http.ok_body = lambda req: (
        {"Code": "OK"}
        if _independent_aliyun_signature(req.form, "not-the-secret") == req.form.get("Signature")
        else {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
    )
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms-cn")])))
    await svc.handle_change(change("raised"))
    assert len(http.requests) == 1
    [entry] = await delivery_log(r)
    assert entry["status"] == "failed" and "SignatureDoesNotMatch" in entry["error"]


async def test_pagerduty_trigger_then_resolve_with_the_dedup_key(r, http, session) -> None:
    http.ok_status = 202
    http.ok_body = lambda req: {"status": "success", "dedup_key": req.json["dedup_key"]}
    svc = make_service(r, session, base_config(http.url, routes=route([("duty", "pager")])))
    await svc.handle_change(change("raised"))
    await svc.handle_change(change("resolved", at_ms=1_700_000_300_000))

    assert [q.path for q in http.requests] == ["/pd/v2/enqueue"] * 2
    trigger, resolve = (q.json for q in http.requests)
    assert trigger["routing_key"] == PAGER_KEY
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "gd-hotline/vip/longest_wait"
    p = trigger["payload"]
    assert p["severity"] == "critical" and p["source"] == "floorwatch:gd-hotline"
    assert "VIP queue: longest wait 12:40" in p["summary"]
    assert resolve == {"routing_key": PAGER_KEY, "event_action": "resolve", "dedup_key": "gd-hotline/vip/longest_wait"}


async def test_webhook_posts_the_change_as_json(r, http, session) -> None:
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "hook")])))
    ch = change("raised")
    await svc.handle_change(ch)
    [req] = http.requests
    assert req.path == "/hook"
    assert req.headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    assert req.headers["Content-Type"].startswith("application/json")
    assert req.json["event"] == "alert.raised" and req.json["recipient"] == "floor"
    assert req.json["alert"] == ch
    assert "VIP队列" in req.json["text"]["zh-CN"] and "VIP queue" in req.json["text"]["en"]


async def test_webhook_signs_the_body_when_given_a_secret(r, http, session) -> None:
    cfg = base_config(http.url, routes=route([("floor", "hook")]))
    cfg["channels"]["hook"]["secret"] = "hook-signing-secret"
    svc = make_service(r, session, cfg)
    await svc.handle_change(change("raised"))
    [req] = http.requests
    expected = hmac.new(b"hook-signing-secret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Floorwatch-Signature"] == f"sha256={expected}"
    assert req.json["alert"]["id"] == change()["id"]


async def test_smtp_message_carries_both_languages(r, http, session, smtp) -> None:
    svc = make_service(r, session, base_config(http.url, smtp.port, routes=route([("floor", "mail")])))
    await svc.handle_change(change("raised"))
    [(mail_from, rcpts, raw)] = smtp.messages
    assert mail_from == "floorwatch@example.cn" and rcpts == [FLOOR_EMAIL]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["To"] == FLOOR_EMAIL
    assert "严重" in msg["Subject"] and "CRITICAL" in msg["Subject"]
    text = msg.get_content()
    assert "VIP队列：最长等待 12:40，超过 10:00 已 3 分钟" in text
    assert "VIP queue: longest wait 12:40, above 10:00 for 3 min" in text
    assert "gd-hotline/vip/longest_wait@1699999999000" in text


async def test_smtp_server_down_is_retried_then_failed(r, http, session) -> None:
    from stream.local.embedded import free_port

    port = free_port()  # nothing listens there: connection refused, a transient error
    svc = make_service(r, session, base_config(http.url, port, routes=route([("floor", "mail")])))
    await svc.handle_change(change("raised"))
    [entry] = await delivery_log(r)
    assert entry["status"] == "failed" and entry["attempts"] == "4"


async def test_503_is_retried_until_success(r, http, session) -> None:
    http.fail_next(2, 503)
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.handle_change(change("raised"))
    assert [q.status for q in http.requests] == [503, 503, 200]
    [entry] = await delivery_log(r)
    assert entry["status"] == "sent" and entry["attempts"] == "3"


async def test_503_forever_gives_up_after_the_configured_attempts(r, http, session) -> None:
    http.fail_next(10, 503)
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.handle_change(change("raised"))
    assert len(http.requests) == 4
    [entry] = await delivery_log(r)
    assert entry["status"] == "failed" and entry["attempts"] == "4" and "HTTP 503" in entry["error"]


async def test_400_is_not_retried(r, http, session) -> None:
    http.fail_next(1, 400)
    svc = make_service(r, session, base_config(http.url, routes=route([("floor", "sms")])))
    await svc.handle_change(change("raised"))
    assert [q.status for q in http.requests] == [400]
    [entry] = await delivery_log(r)
    assert entry["status"] == "failed" and entry["attempts"] == "1" and "HTTP 400" in entry["error"]


async def test_a_gateway_that_never_answers_times_out_and_is_retried(r, http, session) -> None:
    http.hang_next(1)
    cfg = base_config(http.url, routes=route([("floor", "sms")]))
    cfg["channels"]["sms"]["timeout_s"] = 1.0  # long enough for a loaded machine to answer the retry
    svc = make_service(r, session, cfg)
    await svc.handle_change(change("raised"))
    assert len(http.requests) == 2 and http.requests[1].status == 200
    [entry] = await delivery_log(r)
    assert entry["status"] == "sent" and entry["attempts"] == "2"
