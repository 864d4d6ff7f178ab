"""Pytest fixtures for the delivery tests: embedded Redis, loopback HTTP/SMTP, a service builder.

Imported by each tests/delivery/test_*.py (``from tests.delivery_fixtures import *``)
rather than a conftest, so other suites do not start these servers.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from stream.delivery.clock import ManualClock
from stream.delivery.config import DeliveryConfig
from stream.delivery.service import DeliveryService
from stream.local.embedded import EmbeddedRedis
from tests.delivery_support import RecordingServer, SmtpSink

# What ``from tests.delivery_fixtures import *`` brings in: the fixtures.
__all__ = ["redis_server", "r", "http", "smtp", "session"]

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "tok-SECRET-0123456789"
AK_ID = "LTAI-TEST-ACCESS-ID"
AK_SECRET = "ak-SECRET-testsecret"
HOOK_TOKEN = "hook-SECRET-token-42"
SMTP_PASSWORD = "smtp-SECRET-pw"
FLOOR_PHONE = "+8613812345678"
DUTY_PHONE = "+8613987654321"
FLOOR_EMAIL = "floor.mgr@example.cn"
PAGER_KEY = "pd-ROUTING-KEY-0001"
SECRETS = [SID, TOKEN, AK_ID, AK_SECRET, HOOK_TOKEN, PAGER_KEY, FLOOR_PHONE, DUTY_PHONE, FLOOR_EMAIL,
           "13812345678", "13987654321"]  # fmt: skip


@pytest.fixture(scope="module")
def redis_server():
    with EmbeddedRedis() as server:
        yield server


@pytest_asyncio.fixture
async def r(redis_server):
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def http():
    server = await RecordingServer().start()
    yield server
    await server.stop()


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest_asyncio.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def base_config(http_url: str, smtp_port: int = 1, **sections: Any) -> dict:
    """All channel types pointed at loopback; one route: floor manager SMS, then duty pager at 5 min."""
    cfg = {
        "channels": {
            "sms": {"type": "twilio", "base_url": http_url, "account_sid": SID, "auth_token": TOKEN,
                    "from": "+15550001111", "timeout_s": 2},
            "sms-cn": {"type": "aliyun_sms", "base_url": http_url + "/aliyun", "access_key_id": AK_ID,
                       "access_key_secret": AK_SECRET, "sign_name": "广东客服中心", "template_code": "SMS_123456789",
                       "timeout_s": 2},
            "pager": {"type": "pagerduty", "base_url": http_url + "/pd", "timeout_s": 2},
            "hook": {"type": "webhook", "url": http_url + "/hook", "headers": {"Authorization": f"Bearer {HOOK_TOKEN}"},
                     "timeout_s": 2},
            "mail": {"type": "smtp", "host": "127.0.0.1", "port": smtp_port, "from": "floorwatch@example.cn",
                     "timeout_s": 5},
            "log": {"type": "log"},
        },
        "recipients": {
            "floor": {"name": "Floor manager", "phone": FLOOR_PHONE, "email": FLOOR_EMAIL,
                      "timezone": "Asia/Shanghai"},
            "duty": {"name": "Duty manager", "phone": DUTY_PHONE, "pager_key": PAGER_KEY,
                     "timezone": "Asia/Shanghai"},
        },
        "routes": [
            {"name": "vip", "levels": [
                {"after_min": 0, "notify": [{"to": "floor", "via": "sms"}]},
                {"after_min": 5, "notify": [{"to": "duty", "via": "pager"}]},
            ]},
        ],
        "retry": {"attempts": 4, "base_s": 0.001, "max_s": 0.01},
        "settings": {"tick_s": 0.05, "lease_s": 30, "reclaim_idle_s": 0.2},
    }  # fmt: skip
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **copy.deepcopy(v)}
        else:
            cfg[k] = copy.deepcopy(v)
    return cfg


def route(*levels: list[tuple[str, str]], name: str = "vip", **extra: Any) -> list[dict]:
    """``route([("floor", "sms")], [("duty", "pager")])``: levels at 0, 5, 10... minutes."""
    return [{"name": name, **extra, "levels": [
        {"after_min": 5 * i, "notify": [{"to": to, "via": via} for to, via in lvl]} for i, lvl in enumerate(levels)
    ]}]  # fmt: skip


def now_clock() -> ManualClock:
    return ManualClock(time.time_ns() // 1_000_000)


def make_service(r: Any, session: aiohttp.ClientSession, cfg: dict, *, clock: ManualClock | None = None,
                 consumer: str = "test-1") -> DeliveryService:  # fmt: skip
    return DeliveryService(
        r, DeliveryConfig.from_dict(cfg, source="test.yaml"), clock=clock or now_clock(), session=session,
        consumer=consumer,
    )  # fmt: skip
