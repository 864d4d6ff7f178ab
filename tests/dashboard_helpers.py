"""Shared by the dashboard tests: a busy day in Redis, written as the worker writes it, and the server.

The floor is generated with the CLI (``floorwatch simulate --scenario
busy-day``), folded with ``Floor`` and published with ``RedisSink`` — the
dashboard under test reads exactly what a worker would have written. The
server is the real one: uvicorn on a free loopback port, in a thread of the
test process or as ``floorwatch dashboard`` in a child process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from dashboard.app import create_app
from dashboard.auth import parse_tokens, uvicorn_log_config
from stream.sources.jsonl import Rejected, read_jsonl
from stream.contracts.floor_config import load_config
from stream.fold.floor import Floor
from stream.local.embedded import EmbeddedRedis, free_port
from stream.runtime.redis_sink import RedisSink

ROOT = Path(__file__).resolve().parent.parent
TOKENS_SPEC = "wall:wall-tok-7f3a,supervisor/alice:sup-tok-91c2,admin:adm-tok-55e0"
WALL, SUP, ADMIN = "wall-tok-7f3a", "sup-tok-91c2", "adm-tok-55e0"
ALL_TOKENS = (WALL, SUP, ADMIN)


def busy_day_file(dest: Path, calls: int = 3000, seed: int = 1) -> Path:
    """The busy-day JSONL, made by the CLI as the brief says (cached per path)."""
    if not dest.exists():
        subprocess.run(
            [sys.executable, "-m", "stream.cli.main", "simulate", "--scenario", "busy-day", "--calls", str(calls),
             "--seed", str(seed), "--out", str(dest)],
            cwd=ROOT, check=True, capture_output=True,
        )
    return dest


def busy_days_file(dest: Path, first, days: int, calls: int, seed: int) -> Path:
    """``days`` simulated busy days from ``first`` (seeds ``seed``, ``seed`` + 1, ...) as one JSON-lines log:
    a planning history for the staffing page."""
    from datetime import timedelta

    from simulators import busy_day
    from stream.sources.jsonl import write_jsonl

    cfg = load_config()
    evs = []
    for i in range(days):
        evs.extend(busy_day.generate(cfg, seed=seed + i, calls=calls, day=first + timedelta(days=i)))
    evs.sort(key=lambda e: e.ts)
    write_jsonl(evs, str(dest))
    return dest


def read_events(path: Path) -> list:
    return [e for e in read_jsonl(path) if not isinstance(e, Rejected)]


async def publish(floor: Floor, sink: RedisSink, sites: Optional[list[str]] = None) -> None:
    """Publish now, as a worker does after a batch (forced past the throttle)."""
    sink.mark(sites if sites is not None else sorted(floor.sites))
    await sink.maybe_publish(floor, force=True)


async def populated(redis_url: str, prefix: str, events: list, upto: Optional[int] = None) -> tuple[Floor, RedisSink]:
    """Fold ``events[:upto]`` and write them through a RedisSink under ``prefix``."""
    floor = Floor(load_config())
    floor.apply_many(events[:upto])
    sink = RedisSink(aioredis.from_url(redis_url), prefix=prefix, partition=0)
    await publish(floor, sink)
    return floor, sink


def alert(state: str = "raised", severity: str = "warning", n: int = 0, value: float = 760.0) -> dict:
    t = 1_700_000_000_000 + n
    return {
        "id": f"gd-hotline/vip/longest_wait@{t}",
        "dedup_key": "gd-hotline/vip/longest_wait",
        "rule": "longest_wait",
        "site": "gd-hotline",
        "queue": "vip",
        "severity": severity,
        "state": state,
        "value": value,
        "threshold": 600.0,
        "since_ms": t - 180_000,
        "at_ms": t,
        "message": {"zh-CN": "VIP队列：最长等待 12:40，超过 10:00 已 3 分钟",
                    "en": "VIP queue: longest wait 12:40, above 10:00 for 3 min"},
    }


class ServerThread:
    """The dashboard on uvicorn in a thread with its own loop (stopped with ``stop()``)."""

    def __init__(self, redis_url: str, prefix: str, port: Optional[int] = None, **kw) -> None:
        self.port = port or free_port()
        self.app = create_app(redis_url, prefix, parse_tokens(TOKENS_SPEC), **kw)
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=uvicorn_log_config(),
                             log_level="info", lifespan="on")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("dashboard did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class ServerProcess:
    """``floorwatch dashboard`` as a child process; its output is kept for log checks."""

    def __init__(self, redis_url: str, prefix: str, log_path: Path, *extra: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {**os.environ, "FLOORWATCH_TOKENS": TOKENS_SPEC, "FLOORWATCH_REDIS_PREFIX": prefix, "PYTHONUNBUFFERED": "1"}
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stream.cli.main", "dashboard", "--redis", redis_url, "--http-port", str(self.port), *extra],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def wait_ready(self, timeout: float = 30) -> "ServerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dashboard exited:\n" + self.log_path.read_text(errors="replace"))
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("dashboard not ready:\n" + self.log_path.read_text(errors="replace"))

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.log_path.read_text(errors="replace")


async def wait_until(pred, timeout: float = 5.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return bool(pred())


# Fixtures shared by the dashboard tests (imported by name there).
@pytest.fixture(scope="module")
def redis_server():
    r = EmbeddedRedis().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> list:
    return read_events(busy_day_file(tmp_path_factory.mktemp("day") / "day.jsonl"))
