"""Real servers on loopback for the delivery tests: an HTTP recorder and an SMTP sink.

The HTTP recorder is a tiny aiohttp app that answers every POST, records it,
and can be told to fail the next N requests (e.g. 503) or to hang on them (a
gateway that never answers). A request counts as *delivered* only when it was
answered with a 2xx, which is what a recipient's phone would see.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    status: int = 0


class RecordingServer:
    """An HTTP server on 127.0.0.1 that records requests (start/stop in the test's loop)."""

    def __init__(self) -> None:
        self.requests: list[Req] = []  # every request, whatever the answer
        self.plan: list[tuple[str, Any]] = []  # ("fail", status) / ("hang", None), consumed in order
        self.match: Callable[[Req], bool] = lambda r: True  # which requests the plan applies to
        self.ok_status = 200
        self.ok_body: Callable[[Req], Any] = lambda r: {"ok": True}
        self.error_body = "error"
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.hanging = 0

    @property
    def delivered(self) -> list[Req]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def fail_next(self, n: int, status: int = 503) -> None:
        self.plan += [("fail", status)] * n

    def hang_next(self, n: int = 1) -> None:
        self.plan += [("hang", None)] * n

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        req = Req(request.method, request.path, dict(request.headers), body)
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qsl

            req.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        elif ctype.startswith("application/json"):
            req.json = json.loads(body)
        self.requests.append(req)
        if self.plan and self.match(req):
            action, arg = self.plan.pop(0)
            if action == "hang":
                self.hanging += 1
                await asyncio.sleep(3600)  # never answers: the sender's side decides
            req.status = arg
            return web.Response(status=arg, text=self.error_body)
        req.status = self.ok_status
        return web.json_response(self.ok_body(req), status=self.ok_status)

    async def start(self) -> "RecordingServer":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Don't wait for hanging handlers on shutdown.
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], bytes]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                return "250 OK"

        from stream.local.embedded import free_port

        # aiosmtpd's Controller checks readiness by connecting to the port it
        # was given, so it needs a real one, not 0.
        self._port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self._port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self._port

    def stop(self) -> None:
        self.controller.stop()


async def wait_for(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``pred`` (sync or async) until true; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def change(
    state: str = "raised",
    *,
    site: str = "gd-hotline",
    queue: str = "vip",
    rule: str = "longest_wait",
    severity: str = "critical",
    raised_ms: int = 1_699_999_999_000,
    at_ms: int | None = None,
) -> dict:
    """An AlertChange as the rule engine writes it."""
    dedup = f"{site}/{queue}/{rule}"
    return {
        "id": f"{dedup}@{raised_ms}",
        "dedup_key": dedup,
        "rule": rule,
        "site": site,
        "queue": queue,
        "severity": severity,
        "state": state,
        "value": 760.0,
        "threshold": 600.0,
        "since_ms": raised_ms - 180_000,
        "at_ms": at_ms if at_ms is not None else raised_ms,
        "message": {
            "zh-CN": "VIP队列：最长等待 12:40，超过 10:00 已 3 分钟",
            "en": "VIP queue: longest wait 12:40, above 10:00 for 3 min",
        },
    }


async def xadd_change(r: Any, ch: dict, prefix: str = "fw:") -> str:
    return await r.xadd(prefix + "alerts:log", {"change": json.dumps(ch, ensure_ascii=False)})


async def delivery_log(r: Any, prefix: str = "fw:") -> list[dict]:
    return [fields for _id, fields in await r.xrange(prefix + "delivery:log")]
