"""Running ``floorwatch up`` and the embedded servers in tests: are they here, start one, read its wall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from stream.local import embedded

ROOT = Path(__file__).resolve().parents[1]

try:
    embedded.find_tansu()
    embedded.find_redis_server()
    HAVE_SERVERS = True
except embedded.BinaryNotFound:  # pragma: no cover - depends on the machine
    HAVE_SERVERS = False


def start_up(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str, int, int]:
    """``floorwatch up ARGS`` on free ports: (process, the wall's URL with its token, Kafka port, Redis port)."""
    kport, rport, hport = embedded.free_port(), embedded.free_port(), embedded.free_port()
    # Each test keeps its own history database (up's default is the user's own file).
    env = dict(os.environ, FLOORWATCH_LOG_DIR=str(tmp_path), FLOORWATCH_HISTORY_DB=f"sqlite:///{tmp_path / 'history.db'}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "up", *args,
         "--kafka-port", str(kport), "--redis-port", str(rport), "--http-port", str(hport)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = printed(proc, "the wall is at")
    assert url and url.startswith(f"http://127.0.0.1:{hport}/?token="), "no wall URL printed"
    return proc, url, kport, rport


def printed(proc: subprocess.Popen, marker: str, timeout: float = 60) -> Optional[str]:
    """The last word of the first line ``proc`` prints with ``marker`` in it (a URL, a token), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if marker in line:
            return line.rsplit(" ", 1)[1].strip()
    return None


def wait_snapshot(redis_port: int, site: str, ready: Callable[[dict], bool], timeout: float = 90) -> Optional[dict]:
    """The site's snapshot in Redis once ``ready(snapshot)`` (else the last one seen, or None)."""
    import redis

    r = redis.Redis(port=redis_port)
    snap = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            raw = r.get(f"fw:snap:{site}")
        except redis.ConnectionError:
            raw = None
        if raw:
            snap = json.loads(raw)
            if ready(snap):
                break
        time.sleep(1)
    return snap
