"""Fault injection on a running ``Stack``: kill a part with SIGKILL, let the supervisor restart it.

Shared by the fault suite (tests/runtime/test_faults.py) and the soak
(``make bench ARGS=soak``): both kill and restart each of the worker, Redis,
the broker and delivery while a log is replayed, then compare what the
pipeline reports and delivers with the in-process run of the same log.

    inject(stack, "worker")        # SIGKILL; Stack.supervise() restarts it
    delivered(redis_url)           # {(alert id, state): [statuses]} from fw:delivery:log
    expected_deliveries(alerts)    # {(alert id, state)} an in-process alert list implies
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Iterable

from stream.local.up import Stack

PARTS = ("worker", "redis", "broker", "delivery")

# A delivery config for comparisons: every alert to one recipient over the log channel, no quiet
# hours, no rate limit, short leases (a killed sender's claim is taken over in seconds).
DELIVERY_YAML = """\
channels:
  log: {type: log}
recipients:
  ops:
    name: ops
    phone: "+8613800000009"
    timezone: Asia/Shanghai
routes:
  - name: all
    levels:
      - after_min: 0
        notify: [{to: ops, via: log}]
retry: {attempts: 3, base_s: 0.1, max_s: 1}
settings:
  group: delivery
  lease_s: 3
  reclaim_idle_s: 2
  max_age_min: 10080
  tick_s: 1
"""


def write_delivery_config(directory: Path) -> Path:
    path = Path(directory) / "delivery.yaml"
    path.write_text(DELIVERY_YAML)
    return path


def _sigkill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def inject(stack: Stack, part: str, down_s: float = 0.0) -> None:
    """SIGKILL ``part`` of ``stack``; after ``down_s`` seconds the supervisor starts it again."""
    if part == "worker":
        for p in stack.workers:
            _sigkill(p.pid)
            p.wait(10)
    elif part == "delivery":
        for p in stack.children:
            if stack._how.get(p.pid, ("",))[0] == "delivery":
                _sigkill(p.pid)
                p.wait(10)
    elif part == "redis":
        assert stack.redis is not None and stack.redis.pid is not None
        _sigkill(stack.redis.pid)
        stack.redis._proc.wait(10)
    elif part == "broker":
        assert stack.kafka is not None and stack.kafka.pid is not None
        _sigkill(stack.kafka.pid)
        stack.kafka._proc.wait(10)
    else:
        raise ValueError(f"unknown part {part!r} (one of {', '.join(PARTS)})")
    time.sleep(down_s)
    done = stack.supervise(say=lambda line: None)
    if part not in done:
        raise AssertionError(f"the supervisor did not restart the {part} (restarted: {done})")


def delivered(redis_url: str) -> dict[tuple[str, str], list[str]]:
    """Every message in ``fw:delivery:log``: (alert id, state) → the statuses recorded for it."""
    import redis

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        out: dict[tuple[str, str], list[str]] = {}
        for _id, f in r.xrange("fw:delivery:log"):
            out.setdefault((f["alert_id"], f["state"]), []).append(f["status"])
        return out
    finally:
        r.close()


def expected_deliveries(alerts: Iterable[dict]) -> set[tuple[str, str]]:
    """The (alert id, state) messages DELIVERY_YAML sends for these alert changes (raises and resolves)."""
    from stream.delivery.change import kind_of

    return {(a["id"], k) for a in alerts if (k := kind_of(a)) in ("raised", "resolved")}


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process now, MiB (``field="VmHWM"``: its peak so far)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def processes(stack: Stack) -> dict[str, int]:
    """name → pid of every process of the stack (broker, redis, workers, children)."""
    out: dict[str, int] = {}
    if stack.kafka is not None and stack.kafka.pid:
        out["broker"] = stack.kafka.pid
    if stack.redis is not None and stack.redis.pid:
        out["redis"] = stack.redis.pid
    for i, p in enumerate(stack.workers):
        out[f"worker-{i}"] = p.pid
    for p in stack.children:
        out[stack._how.get(p.pid, ("child",))[0]] = p.pid
    return out
