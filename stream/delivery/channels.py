"""The wire formats: one class per channel type, each with ``async send(out)``.

* ``twilio``     - form POST to ``/2010-04-01/Accounts/{sid}/Messages.json``, basic auth
* ``aliyun_sms`` - RPC ``Action=SendSms`` signed with HMAC-SHA1 (signature v1)
* ``pagerduty``  - Events API v2, ``trigger`` / ``acknowledge`` / ``resolve`` by ``dedup_key``
* ``webhook``    - a JSON POST of the change
* ``smtp``       - a bilingual plain-text email (smtplib in a thread)
* ``log``        - nothing leaves the process; the delivery log entry is the message

A send returns a provider reference (message sid, request id, ...) or raises
:class:`~stream.delivery.http.DeliveryError` saying whether it is transient.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Callable, Protocol
from urllib.parse import quote

import aiohttp

from stream.delivery import config as C
from stream.delivery import render
from stream.delivery.change import alert_queues, incident_key
from stream.delivery.http import DeliveryError, post
from stream.delivery.privacy import log


@dataclass(frozen=True)
class Outbound:
    """One message to one recipient on one channel."""

    change: dict
    kind: str  # raised | repeated | resolved | acked
    recipient_id: str
    recipient: C.Recipient
    level: int = 0
    # Messages to this recipient the rate limit held back since their last
    # one: the digest line that tells them there was more.
    held_back: int = 0


class Sender(Protocol):
    type: str

    async def send(self, out: Outbound) -> str: ...


def _digits(phone: str) -> str:
    return re.sub(r"[^\d+]", "", phone)


class TwilioSender:
    type = "twilio"

    def __init__(self, cfg: C.TwilioChannel, session: aiohttp.ClientSession, secrets: list[str]) -> None:
        self.cfg, self.session, self.secrets = cfg, session, secrets

    async def send(self, out: Outbound) -> str:
        c = self.cfg
        url = f"{c.base_url.rstrip('/')}/2010-04-01/Accounts/{quote(c.account_sid, safe='')}/Messages.json"
        assert out.recipient.phone
        form = {
            "To": _digits(out.recipient.phone),
            "From": _digits(c.from_),
            "Body": render.sms_text(out.change, out.kind, out.recipient.lang, out.held_back),
        }
        _, body = await post(
            self.session, url, data=form, headers={"Authorization": _basic_auth(c.account_sid, c.auth_token)},
            timeout_s=c.timeout_s, secrets=self.secrets,
        )  # fmt: skip
        return _json_field(body, "sid")


def _basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def aliyun_percent_encode(s: str) -> str:
    """RFC 3986 encoding as the Alibaba Cloud RPC signature wants it (``~`` kept, space as %20)."""
    return quote(s, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Alibaba Cloud RPC signature v1: HMAC-SHA1 over the canonicalised, sorted parameters.

    StringToSign = METHOD & enc("/") & enc(k1=v1&k2=v2...), keys sorted, each key
    and value encoded; the key is the AccessKey secret followed by ``&``.
    """
    canonical = "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsSender:
    type = "aliyun_sms"

    def __init__(
        self,
        cfg: C.AliyunSmsChannel,
        session: aiohttp.ClientSession,
        secrets: list[str],
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.cfg, self.session, self.secrets, self.now = cfg, session, secrets, now

    @staticmethod
    def phone_number(phone: str) -> str:
        # SendSms takes mainland numbers without the country code and others as
        # country code + number, both without '+'.
        d = re.sub(r"\D", "", phone)
        return d[2:] if d.startswith("86") and len(d) == 13 else d

    @staticmethod
    def template_param(out: Outbound) -> dict[str, str]:
        # Template variables are limited in length by the provider (35
        # characters for notification templates): the approved template holds
        # the wording, the variables only the facts.
        ch = out.change
        text = (ch.get("message") or {}).get("zh-CN") or ch.get("rule", "")
        queue = str(ch.get("queue", ""))
        members = alert_queues(ch)[1:]
        if members:
            # A pool's alert: its queues in the queue variable, so the detail keeps the figures
            # (the pool's worded name, "坐席组 phones（普通、…）：", would fill the 35 characters).
            queue = f"{queue}:{','.join(members)}"
            text = render.without_pool_name(text, str(ch.get("queue", "")))
        return {
            "site": str(ch.get("site", ""))[:35],
            "queue": queue[:35],
            "severity": render.SEVERITY["zh-CN"].get(ch.get("severity", ""), "")[:35],
            "state": render.STATE["zh-CN"].get(out.kind, out.kind)[:35],
            "detail": text[:35],
        }

    def request_params(self, out: Outbound) -> dict[str, str]:
        c = self.cfg
        assert out.recipient.phone
        params = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "RegionId": c.region_id,
            "AccessKeyId": c.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": self.phone_number(out.recipient.phone),
            "SignName": c.sign_name,
            "TemplateCode": c.template_code,
            "TemplateParam": json.dumps(self.template_param(out), ensure_ascii=False, separators=(",", ":")),
        }
        params["Signature"] = aliyun_signature(params, c.access_key_secret, "POST")
        return params

    async def send(self, out: Outbound) -> str:
        params = self.request_params(out)
        _, body = await post(
            self.session, self.cfg.base_url.rstrip("/") + "/", data=params,
            timeout_s=self.cfg.timeout_s, secrets=self.secrets,
        )  # fmt: skip
        try:
            reply = json.loads(body)
        except ValueError:
            raise DeliveryError("unreadable SendSms reply", transient=True) from None
        code = reply.get("Code")
        if code != "OK":
            # Flow control is the gateway asking us to wait; anything else
            # (bad template, unsigned, invalid number) will not fix itself.
            transient = isinstance(code, str) and ("LIMIT_CONTROL" in code or code == "Throttling")
            raise DeliveryError(f"SendSms {code}: {str(reply.get('Message', ''))[:100]}", transient=transient)
        return str(reply.get("BizId") or reply.get("RequestId") or "")


# PagerDuty's severities are critical/error/warning/info.
_PD_SEVERITY = {"critical": "critical", "major": "error", "warning": "warning", "minor": "warning", "info": "info"}
_PD_ACTION = {"raised": "trigger", "repeated": "trigger", "acked": "acknowledge", "resolved": "resolve"}


class PagerDutySender:
    type = "pagerduty"

    def __init__(self, cfg: C.PagerDutyChannel, session: aiohttp.ClientSession, secrets: list[str]) -> None:
        self.cfg, self.session, self.secrets = cfg, session, secrets

    def event(self, out: Outbound) -> dict:
        ch = out.change
        action = _PD_ACTION[out.kind]
        assert out.recipient.pager_key
        ev: dict = {
            "routing_key": out.recipient.pager_key,
            "event_action": action,
            # The rule's key, not the alert id: PagerDuty folds a flapping
            # alert into one incident, as the wall does.
            "dedup_key": incident_key(ch),
        }
        if action == "trigger":
            ev["payload"] = {
                "summary": render.line(ch, out.kind, "en")[:1024],
                "severity": _PD_SEVERITY.get(ch.get("severity", ""), "error"),
                "source": f"{self.cfg.source}:{ch.get('site', '')}",
                "component": str(ch.get("queue", "")),
                "group": str(ch.get("site", "")),
                "class": str(ch.get("rule", "")),
                "custom_details": {
                    "alert_id": ch.get("id"),
                    "value": ch.get("value"),
                    "threshold": ch.get("threshold"),
                    "message_zh": (ch.get("message") or {}).get("zh-CN"),
                    "escalation_level": out.level,
                    "held_back_by_rate_limit": out.held_back,
                },
            }
            members = alert_queues(ch)[1:]
            if members:
                ev["payload"]["custom_details"]["queues"] = list(members)  # a pool's alert: its queues
        return ev

    async def send(self, out: Outbound) -> str:
        _, body = await post(
            self.session, self.cfg.base_url.rstrip("/") + "/v2/enqueue", json=self.event(out),
            timeout_s=self.cfg.timeout_s, secrets=self.secrets,
        )  # fmt: skip
        return _json_field(body, "dedup_key")


class WebhookSender:
    type = "webhook"

    def __init__(self, cfg: C.WebhookChannel, session: aiohttp.ClientSession, secrets: list[str]) -> None:
        self.cfg, self.session, self.secrets = cfg, session, secrets

    @staticmethod
    def body(out: Outbound) -> dict:
        return {
            "event": f"alert.{out.kind}",
            "recipient": out.recipient_id,
            "escalation_level": out.level,
            "held_back_by_rate_limit": out.held_back,
            "text": {"zh-CN": render.line(out.change, out.kind, "zh-CN"), "en": render.line(out.change, out.kind, "en")},
            "alert": out.change,
        }

    async def send(self, out: Outbound) -> str:
        # Serialised here, not by aiohttp: the signature is over these exact bytes.
        raw = json.dumps(self.body(out), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self.cfg.headers}
        if self.cfg.secret:
            mac = hmac.new(self.cfg.secret.encode(), raw, hashlib.sha256).hexdigest()
            headers["X-Floorwatch-Signature"] = f"sha256={mac}"
        await post(
            self.session, self.cfg.url, data=raw, headers=headers,
            timeout_s=self.cfg.timeout_s, secrets=self.secrets,
        )  # fmt: skip
        return ""


class SmtpSender:
    type = "smtp"

    def __init__(self, cfg: C.SmtpChannel, secrets: list[str]) -> None:
        self.cfg, self.secrets = cfg, secrets

    def message(self, out: Outbound) -> EmailMessage:
        assert out.recipient.email
        m = EmailMessage()
        m["From"] = self.cfg.from_
        m["To"] = out.recipient.email
        m["Subject"] = render.subject(out.change, out.kind)
        m["Message-ID"] = make_msgid(domain="floorwatch")
        body = render.email_body(out.change, out.kind, out.recipient.timezone, out.level, out.held_back)
        m.set_content(body, charset="utf-8")
        return m

    def _send_blocking(self, m: EmailMessage) -> None:
        c = self.cfg
        cls = smtplib.SMTP_SSL if c.ssl else smtplib.SMTP
        with cls(c.host, c.port, timeout=c.timeout_s) as s:
            if c.starttls and not c.ssl:
                s.starttls(context=ssl.create_default_context())
            if c.username:
                s.login(c.username, c.password or "")
            s.send_message(m)

    async def send(self, out: Outbound) -> str:
        m = self.message(out)
        try:
            # smtplib blocks; a thread keeps the loop (acks, other sends) running.
            await asyncio.to_thread(self._send_blocking, m)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"SMTP recipient refused {codes}", transient=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}", transient=400 <= exc.smtp_code < 500, status=exc.smtp_code) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused/reset, timeouts, server gone: worth another try.
            raise DeliveryError(f"SMTP connection error: {type(exc).__name__}", transient=True) from None
        return str(m["Message-ID"])


class LogSender:
    type = "log"

    async def send(self, out: Outbound) -> str:
        log.info("log channel: %s -> %s", render.line(out.change, out.kind, "en"), out.recipient_id)
        return ""


def _json_field(body: str, name: str) -> str:
    try:
        return str(json.loads(body).get(name) or "")
    except (ValueError, AttributeError):
        return ""


def build_senders(cfg: C.DeliveryConfig, session: aiohttp.ClientSession) -> dict[str, Sender]:
    """One sender per configured channel, sharing one HTTP session."""
    secrets = cfg.secrets()
    out: dict[str, Sender] = {}
    for name, ch in cfg.channels.items():
        if isinstance(ch, C.TwilioChannel):
            out[name] = TwilioSender(ch, session, secrets)
        elif isinstance(ch, C.AliyunSmsChannel):
            out[name] = AliyunSmsSender(ch, session, secrets)
        elif isinstance(ch, C.PagerDutyChannel):
            out[name] = PagerDutySender(ch, session, secrets)
        elif isinstance(ch, C.WebhookChannel):
            out[name] = WebhookSender(ch, session, secrets)
        elif isinstance(ch, C.SmtpChannel):
            out[name] = SmtpSender(ch, secrets)
        else:
            out[name] = LogSender()
    return out
