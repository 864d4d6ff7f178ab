"""``floorwatch tail`` (stream.sources.tail): following a growing log, and resuming without loss or repeats.

The Follower tests run on real files (rename rotation, copytruncate, a restart
while the file rotated). The end-to-end test runs the real command against
Tansu + Redis + a worker: killed with SIGKILL mid-file and restarted after the
log rotated, the live report equals the in-process replay of the same lines,
and every event id reached Kafka exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream.sources.tail import Checkpoint, Follower
from tests.stack_helpers import HAVE_SERVERS

ROOT = Path(__file__).resolve().parents[2]
MODERN = Path(__file__).resolve().parent / "asterisk" / "modern.queue_log"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def append(path: Path, *lines: str) -> None:
    with open(path, "a") as fh:
        fh.write("".join(ln + "\n" for ln in lines))


def drain(f: Follower, clock: Clock, rounds: int = 4) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(rounds):
        out += f.poll()
        clock.t += 10
    return out


def test_whole_lines_only_and_the_position_after_them(tmp_path) -> None:
    log = tmp_path / "queue_log"
    log.write_text("a\nb")
    f = Follower(log)
    f.start(None)
    assert f.poll() == [b"a\n"]
    assert f.position()["offset"] == 2
    with open(log, "a") as fh:
        fh.write("c\n")
    assert f.poll() == [b"bc\n"]
    assert f.position()["offset"] == 5


def test_rename_rotation_reads_the_old_file_to_its_end_then_the_new(tmp_path) -> None:
    log, clock = tmp_path / "queue_log", Clock()
    append(log, "1", "2")
    f = Follower(log, clock=clock, grace_s=1.0)
    f.start(None)
    assert f.poll() == [b"1\n", b"2\n"]
    log.rename(tmp_path / "queue_log.1")
    append(log, "4")  # the new file
    append(tmp_path / "queue_log.1", "3")  # the writer's last line before it reopened
    assert drain(f, clock) == [b"3\n", b"4\n"]
    assert f.position()["offset"] == 2 and f.position()["ino"] == os.stat(log).st_ino
    assert any("rotated" in n for n in f.notes)


def started(tmp_path: Path) -> tuple[Path, Clock, Follower]:
    """A log of two lines, followed and read."""
    log, clock = tmp_path / "queue_log", Clock()
    append(log, "1", "2")
    f = Follower(log, clock=clock)
    f.start(None)
    assert f.poll() == [b"1\n", b"2\n"]
    return log, clock, f


def test_copytruncate_reads_again_from_the_start(tmp_path) -> None:
    log, clock, f = started(tmp_path)
    os.truncate(log, 0)
    assert f.poll() == []  # noticed: shorter than the position
    append(log, "3")
    assert drain(f, clock) == [b"3\n"]


def test_resume_at_the_checkpoint_even_if_the_file_rotated_meanwhile(tmp_path) -> None:
    log, clock, f = started(tmp_path)
    cp = Checkpoint(tmp_path / "state" / "cp.json")
    cp.save(f.position())
    f.close()
    append(log, "3")
    log.rename(tmp_path / "queue_log.1")
    append(log, "4")
    g = Follower(log, clock=clock)
    g.start(cp.load())
    assert drain(g, clock) == [b"3\n", b"4\n"]
    # Started again at the same checkpoint without a rotation: same lines, nothing more.
    h = Follower(tmp_path / "queue_log.1", clock=clock)
    h.start({**cp.load(), "path": str(tmp_path / "queue_log.1")})
    assert h.poll() == [b"3\n"]


def test_from_end_skips_what_is_there(tmp_path) -> None:
    log = tmp_path / "queue_log"
    append(log, "old")
    f = Follower(log)
    f.start(None, from_end=True)
    assert f.poll() == []
    append(log, "new")
    assert f.poll() == [b"new\n"]


# -- end to end, on the real servers -----------------------------------------------------




def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=True)


def tail_proc(log: Path, state: Path, kafka: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "tail", str(log), "--format", "asterisk", "--kafka", kafka,
         "--state", str(state), "--poll-s", "0.05"],
        cwd=ROOT, stdout=open(out, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_offset(state: Path, ino: int, offset: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cp = json.loads(state.read_text())
            if cp["ino"] == ino and cp["offset"] == offset:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the checkpoint did not reach offset {offset} of inode {ino}: {state.read_text()}")


async def topic_ids(kafka_url: str) -> list[str]:
    from aiokafka import AIOKafkaConsumer

    from stream.runtime.worker import EVENTS_TOPIC, bootstrap_of

    c = AIOKafkaConsumer(EVENTS_TOPIC, bootstrap_servers=bootstrap_of(kafka_url), auto_offset_reset="earliest",
                         enable_auto_commit=False, group_id=None)
    await c.start()
    ids: list[str] = []
    try:
        while True:
            batch = await c.getmany(timeout_ms=3000)
            if not batch:
                return ids
            for msgs in batch.values():
                for m in msgs:
                    if m.headers:
                        continue  # a dead letter
                    value = json.loads(m.value)
                    ids += [e["id"] for e in (value if isinstance(value, list) else [value])]
    finally:
        await c.stop()


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_tail_killed_and_restarted_across_a_rotation_loses_and_repeats_nothing(tmp_path) -> None:
    from stream.local.up import Stack
    from tests.runtime.test_pipeline import wait_report

    lines = MODERN.read_text().splitlines(keepends=True)
    whole = tmp_path / "whole.queue_log"
    whole.write_text("".join(lines))
    expected = json.loads(cli("replay", str(whole), "--format", "asterisk", "--report", "json").stdout)
    from stream.contracts.floor_config import load_config
    from stream.sources import formats

    want_ids = sorted(e.id for e in formats.get("asterisk").read(whole, load_config(), None)
                      if not isinstance(e, formats.Dead))

    log, state, out = tmp_path / "queue_log", tmp_path / "tail.json", tmp_path / "tail.log"
    a, b, c = lines[:20], lines[20:40], lines[40:]
    with Stack(dashboard=False, delivery=False, log_dir=str(tmp_path)) as st:
        log.write_text("".join(a[:10]))
        p = tail_proc(log, state, st.kafka_url, out)
        try:
            append(log, *(x.rstrip("\n") for x in a[10:]))
            ino = os.stat(log).st_ino
            wait_offset(state, ino, log.stat().st_size)
        finally:
            os.killpg(p.pid, signal.SIGKILL)  # mid-file: the day goes on
            p.wait(10)
        # While it is down: more lines, then the log rotates (rename) and goes on in a new file.
        append(log, *(x.rstrip("\n") for x in b))
        log.rename(tmp_path / "queue_log.1")
        log.write_text("".join(c[:5]))
        p = tail_proc(log, state, st.kafka_url, out)
        try:
            append(log, *(x.rstrip("\n") for x in c[5:]))
            wait_offset(state, os.stat(log).st_ino, log.stat().st_size)
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(20) == 0, out.read_text()
        got = wait_report(st.redis_url, expected, timeout=60)
        ids = asyncio.run(topic_ids(st.kafka_url))
    assert got == expected
    assert sorted(ids) == want_ids  # each event once: none lost, none repeated
    assert "rotated while stopped" in out.read_text()


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SERVERS, reason="needs the embedded Tansu and redis-server binaries")
def test_up_replays_a_queue_log_onto_the_wall(tmp_path) -> None:
    """``floorwatch up --replay some.queue_log --format asterisk``: its site's figures reach the wall."""
    import httpx

    from tests.stack_helpers import start_up, wait_snapshot

    proc, url, _, rport = start_up(tmp_path, "--replay", str(MODERN), "--format", "asterisk", "--speed", "max")
    try:
        token = url.split("token=", 1)[1]
        snap = wait_snapshot(rport, "sz-asterisk", lambda s: s["total"]["day"]["offered"] == 15)
        assert snap and snap["total"]["day"]["offered"] == 15, snap
        got = httpx.get(url.split("?")[0] + "api/snapshot?site=sz-asterisk",
                        headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200 and "sz-asterisk" in got.json()["sites"]
        if os.path.exists("/usr/bin/chromium"):
            from playwright.sync_api import sync_playwright

            from tests.local.test_up import ARGS

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
                try:
                    page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="en-US")
                    page.goto(url)
                    page.wait_for_selector("[data-site-tile='sz-asterisk']", timeout=20_000)
                finally:
                    browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out


def test_a_file_rewritten_in_place_while_stopped_is_read_from_its_start(tmp_path) -> None:
    log, clock, f = started(tmp_path)
    cp = f.position()
    f.close()
    with open(log, "r+b") as fh:  # copytruncate, then the day went on past the old offset
        fh.truncate(0)
        fh.write(b"x\ny\nz\n")
    g = Follower(log, clock=clock)
    g.start(cp)
    assert g.poll() == [b"x\n", b"y\n", b"z\n"]
    assert any("changed in place" in n for n in g.notes)


def test_a_file_rewritten_in_place_while_followed_is_read_from_its_start(tmp_path) -> None:
    log, clock, f = started(tmp_path)
    with open(log, "r+b") as fh:  # truncated and written past the old offset between two polls
        fh.truncate(0)
        fh.write(b"x\ny\nz\n")
    assert f.poll() == [b"x\n", b"y\n", b"z\n"]
    assert any("rewritten in place" in n for n in f.notes)
