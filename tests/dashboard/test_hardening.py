"""The dashboard against hostile requests (issue 19, item 8), on a real server and Redis.

* a request head over the limit is refused before it is buffered, token or not
  (four 50 MB headers to /healthz once took the server from 121 to 405 MiB);
* the websocket refuses pages of other origins, even with a valid token;
* ``floorwatch up`` keeps the token holder's name (acks were recorded as "supervisor").
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import redis as redis_sync
import websockets

from tests.dashboard_helpers import WALL, ServerProcess, alert, redis_server  # noqa: F401 - fixture


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM): a header held only a moment still counts."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def send_head(port: int, headers: list[tuple[str, int]], timeout: float = 30) -> bytes:
    """GET /healthz with each (name, size) header of ``size`` bytes; the server's answer (b"" if it hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            chunk = b"a" * (1 << 20)
            for name, size in headers:
                s.sendall(name.encode() + b": ")
                for _ in range(size // len(chunk)):
                    s.sendall(chunk)
                s.sendall(b"a" * (size % len(chunk)) + b"\r\n")
            s.sendall(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: what the server said is still readable, or nothing
        try:
            return s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return b""


@pytest.fixture
def server(redis_server, tmp_path):  # noqa: F811 - the fixture above
    srv = ServerProcess(redis_server.url, "fw:", tmp_path / "dashboard.log").wait_ready()
    yield srv
    srv.stop()


def test_a_request_head_over_the_limit_is_refused(server):
    # A 32 KiB header passes (the limit is 64 KiB); a 1 MiB one is refused without a token being asked.
    ok = send_head(server.port, [("X-Pad", 32 << 10)])
    assert ok.startswith(b"HTTP/1.1 200"), ok[:100]
    big = send_head(server.port, [("X-Pad", 1 << 20)])
    assert not big.startswith(b"HTTP/1.1 200"), big[:100]
    assert big == b"" or big.split(b" ", 2)[1] in (b"400", b"431"), big[:100]


def test_huge_headers_do_not_grow_the_server(server):
    before = peak_rss_mib(server.proc.pid)
    for _ in range(2):
        send_head(server.port, [(f"X-Pad-{i}", 50 << 20) for i in range(4)], timeout=60)
    time.sleep(0.5)
    grown = peak_rss_mib(server.proc.pid) - before
    assert grown < 30, f"peak RSS grew by {grown:.0f} MiB"
    # And it still serves.
    assert httpx.get(server.base + "/healthz", timeout=5).status_code == 200


async def _ws_status(url: str, origin: str | None) -> int:
    """101 if the websocket opened, else the HTTP status of the refusal."""
    kw = {"origin": origin} if origin is not None else {}
    try:
        async with websockets.connect(url, open_timeout=10, **kw):
            return 101
    except websockets.exceptions.InvalidStatus as exc:
        return exc.response.status_code


def test_websocket_checks_origin(redis_server, tmp_path):  # noqa: F811
    srv = ServerProcess(redis_server.url, "fw:", tmp_path / "d.log", "--allowed-origin", "https://wall.example.cn").wait_ready()
    try:
        url = f"{srv.ws}?token={WALL}"
        same = f"http://127.0.0.1:{srv.port}"
        got = {o: asyncio.run(_ws_status(url, o)) for o in (None, same, "https://wall.example.cn", "https://evil.example", "null")}
    finally:
        log = srv.stop()
    assert got == {None: 101, same: 101, "https://wall.example.cn": 101, "https://evil.example": 403, "null": 403}, got
    assert "evil.example" in log and WALL not in log


def test_websocket_same_origin_only_by_default(server):
    url = f"{server.ws}?token={WALL}"
    assert asyncio.run(_ws_status(url, f"http://127.0.0.1:{server.port}")) == 101
    assert asyncio.run(_ws_status(url, "http://127.0.0.1:1")) == 403  # another port is another origin


def test_up_keeps_the_token_holders_name(tmp_path, monkeypatch):
    from stream.local import embedded
    from stream.local.up import Stack

    try:
        embedded.find_tansu()
    except embedded.BinaryNotFound as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("FLOORWATCH_TOKENS", "wall:w-tok-1,supervisor/alice:s-tok-2")
    with Stack(workers=0, delivery=False, log_dir=str(tmp_path)) as st:
        rec = alert()
        r = redis_sync.Redis.from_url(st.redis_url)
        r.hset("fw:alerts", rec["id"], json.dumps(rec))
        deadline = time.monotonic() + 30
        while True:
            try:
                got = httpx.post(f"{st.dashboard_url}api/alerts/{rec['id']}/ack",
                                 headers={"Authorization": "Bearer s-tok-2"}, timeout=5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert got.status_code == 200, got.text
        assert got.json()["ack_by"] == "alice"
        assert json.loads(r.hget("fw:acks", rec["id"]))["by"] == "alice"
