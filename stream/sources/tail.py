"""``floorwatch tail``: follow a growing log as it is written and publish its events, losing and repeating nothing.

    floorwatch tail /var/log/asterisk/queue_log --format asterisk --kafka kafka://host:9092
                    [--state FILE] [--site S] [--config F] [--from-end] [--poll-s 0.2]

The position (file identity, byte offset after the last whole line) and the
format's mapping state (for Asterisk: the calls and agents open) are saved in
a checkpoint (``--state``; default ``$STATE_DIRECTORY`` or
``~/.local/state/floorwatch``) only after the broker has acknowledged every
event of the lines before it. A restart resumes there: nothing is lost, and
the few lines a kill between acknowledgement and checkpoint leaves behind
come again with the same event ids, which the workers ignore as repeats.

Rotation is followed: when the path names a new file (logrotate's rename, or
Asterisk's own ``logger rotate``), the old file is read to its end first (a
short grace lets the writer reopen), then the new one from its start; if the
tail was down meanwhile, the old file is found again by its inode among its
rotated siblings (``queue_log.1``, ``queue_log-20261123``, …). A file that
shrinks in place (``copytruncate``) is read again from its start; what was
written between the last read and the truncation cannot be recovered, so
docs/sources.md recommends rotating by rename.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import BinaryIO, Optional

__all__ = ["Checkpoint", "Follower", "register", "run_tail"]

# How long a rotated-away file is still read after the path names a new one:
# the writer may append a last line or two before it reopens.
ROTATE_GRACE_S = 1.0
# Lines handed on per batch (one broker round trip and one checkpoint each).
MAX_LINES = 20_000


class Checkpoint:
    """The saved position: file identity, offset, the mapper's state. Written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Optional[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SystemExit(f"floorwatch tail: cannot read the checkpoint {self.path}: {exc}") from None
        return data if isinstance(data, dict) else None

    def save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def default_state_path(log: Path) -> Path:
    base = Path(os.environ.get("STATE_DIRECTORY") or Path.home() / ".local" / "state" / "floorwatch")
    tag = hashlib.sha256(str(log.resolve()).encode()).hexdigest()[:12]
    return base / f"tail-{log.name}-{tag}.json"


class Follower:
    """Whole lines of a file that grows, rotates and is truncated, with the position after each.

    ``poll()`` returns what is new: a list of lines (each ending at a line
    break, but for the last line of a rotated-away file) and the position after
    the last of them (``position()``). Not thread-safe; no clock but the
    rotation grace (``clock``).
    """

    def __init__(self, path: Path, *, clock=time.monotonic, grace_s: float = ROTATE_GRACE_S) -> None:
        self.path = path
        self.clock = clock
        self.grace_s = grace_s
        self.fh: Optional[BinaryIO] = None
        self.ident: Optional[tuple[int, int]] = None  # (st_dev, st_ino) of the open file
        self.offset = 0  # after the last whole line handed out
        self.buf = b""
        self.rotated_at: Optional[float] = None
        self.read_mark = ""  # digest of the bytes before offset when they were read (see _mark)
        self.notes: list[str] = []  # what the operator should know (rotations, truncations)

    # -- opening --------------------------------------------------------------

    def start(self, saved: Optional[dict], from_end: bool = False) -> None:
        """Open at the saved position, or at the file's start (end with ``from_end``) without one."""
        if saved is not None:
            ident = (saved["dev"], saved["ino"])
            st = _stat(self.path)
            if st is not None and (st.st_dev, st.st_ino) == ident:
                self._open(self.path, saved["offset"])
                if not self._same_before(saved):
                    self.notes.append(f"{self.path} changed in place since the saved position: read again from its start")
                    self._open(self.path, 0)
                return
            old = _find_rotated(self.path, ident)
            if old is not None:
                self.notes.append(f"{self.path} was rotated while stopped: finishing {old.name} first")
                self._open(old, saved["offset"])
                self.rotated_at = self.clock() - self.grace_s  # its writer has long moved on
                if self._same_before(saved):
                    return
                self.notes.append(f"{old.name} is not what was read: {self.path} read from its start")
                self._open_current()
                return
            self.notes.append(f"the file at the saved position is gone: {self.path} read from its start")
        self._open_current(from_end=from_end and saved is None)

    def _open(self, path: Path, offset: int) -> None:
        self.close()
        fh = open(path, "rb")
        st = os.fstat(fh.fileno())
        fh.seek(offset)
        self.fh, self.ident, self.offset, self.buf = fh, (st.st_dev, st.st_ino), offset, b""
        self.read_mark = self._mark()

    def _open_current(self, from_end: bool = False) -> bool:
        if _stat(self.path) is None:
            self.fh = None
            return False
        self._open(self.path, 0)
        if from_end:
            # From the end of the last whole line.
            size = os.fstat(self.fh.fileno()).st_size  # type: ignore[union-attr]
            self.fh.seek(size)  # type: ignore[union-attr]
            self.offset = size
            self.read_mark = self._mark()
        self.rotated_at = None
        return True

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def position(self) -> dict:
        """Where the next line starts: the file's identity, the offset, and a digest of the bytes before it."""
        dev, ino = self.ident if self.ident is not None else (0, 0)
        return {"path": str(self.path), "dev": dev, "ino": ino, "offset": self.offset, "mark": self._mark()}

    def _mark(self) -> str:
        # The last bytes before the offset: a file truncated and written again to past the
        # offset (same inode, same size or more) is told apart from the one that was read.
        if self.fh is None or self.offset == 0:
            return ""
        n = min(64, self.offset)
        return hashlib.sha256(os.pread(self.fh.fileno(), n, self.offset - n)).hexdigest()[:16]

    def _same_before(self, saved: dict) -> bool:
        size = os.fstat(self.fh.fileno()).st_size  # type: ignore[union-attr]
        return size >= saved["offset"] and saved.get("mark", self._mark()) == self._mark()

    # -- reading ----------------------------------------------------------------

    def poll(self, max_lines: int = MAX_LINES) -> list[bytes]:
        if self.fh is None and not self._open_current():
            return []
        if self._mark() != self.read_mark:
            # The bytes already read changed: truncated and written again (copytruncate).
            self.notes.append(f"{self.path} was rewritten in place: reading it again from its start")
            self._open(self.fh.name, 0)  # type: ignore[union-attr]
        lines = self._read(max_lines)
        if lines:
            return lines
        st = _stat(self.path)
        if st is None:
            return []  # between the rename and the new file: wait
        if (st.st_dev, st.st_ino) != self.ident:
            # Rotated: finish the old file (after a grace for its writer), then the new one.
            now = self.clock()
            if self.rotated_at is None:
                self.rotated_at = now
                return []
            if now - self.rotated_at < self.grace_s:
                return []
            tail = [self.buf] if self.buf else []
            self.notes.append(f"{self.path} rotated: now reading the new file")
            self.close()
            self._open_current()
            return tail
        if st.st_size < self.offset + len(self.buf):
            self.notes.append(f"{self.path} was truncated: reading it again from its start")
            self._open(self.path, 0)
        return []

    def _read(self, max_lines: int) -> list[bytes]:
        assert self.fh is not None
        data = self.buf + self.fh.read(1 << 20)
        cut = data.rfind(b"\n")
        if cut < 0:
            self.buf = data
            return []
        lines = data[: cut + 1].split(b"\n")[:-1]
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            used = sum(len(x) + 1 for x in lines)
        else:
            used = cut + 1
        self.buf = data[used:]
        # The whole lines handed out end here; what is in buf is read again from here after a restart.
        self.offset = self.fh.tell() - len(self.buf)
        self.read_mark = self._mark()
        return [ln + b"\n" for ln in lines]


def _stat(path: Path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _find_rotated(path: Path, ident: tuple[int, int]) -> Optional[Path]:
    """The rotated sibling of ``path`` that is the file with identity ``ident``."""
    try:
        siblings = [p for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path]
    except OSError:
        return None
    for p in sorted(siblings):
        st = _stat(p)
        if st is not None and (st.st_dev, st.st_ino) == ident:
            return p
    return None


# -- the command ----------------------------------------------------------------


def register(subparsers) -> None:
    from stream.sources.formats import FORMATS

    names = tuple(n for n, f in FORMATS.items() if f.follow is not None)
    t = subparsers.add_parser("tail", help="follow a growing log (e.g. Asterisk's queue_log) into a running stack")
    t.add_argument("file")
    t.add_argument("--format", choices=names, required=True)
    t.add_argument("--kafka", required=True, help="kafka://host:port")
    t.add_argument("--state", help="checkpoint file (default $STATE_DIRECTORY or ~/.local/state/floorwatch)")
    t.add_argument("--site", help="asterisk: the site the log feeds (default: the one with an asterisk: section)")
    t.add_argument("--config", help="floor YAML (default config/floor.yaml)")
    t.add_argument("--from-end", action="store_true", help="without a checkpoint, skip what the file holds already")
    t.add_argument("--poll-s", type=float, default=0.2, help="how often to look for new lines (default 0.2 s)")
    t.set_defaults(func=cmd_tail)


def cmd_tail(args: argparse.Namespace) -> int:
    from stream.contracts.floor_config import ConfigError, load_config
    from stream.sources import formats

    path = Path(args.file)
    try:
        cfg = load_config(args.config)
        mapper = formats.get(args.format).follow(cfg, args.site)  # type: ignore[misc]
    except (ConfigError, formats.SourceError) as exc:
        print(f"floorwatch tail: {exc}", file=sys.stderr)
        return 2
    if not path.exists() and not path.parent.is_dir():
        print(f"floorwatch tail: no such directory: {path.parent}", file=sys.stderr)
        return 2
    state = Path(args.state) if args.state else default_state_path(path)
    # aiokafka logs each failed connection attempt; tail says once what went wrong.
    import logging

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(run_tail(path, mapper, args.kafka, Checkpoint(state), fmt=args.format,
                                    from_end=args.from_end, poll_s=args.poll_s))
    except KeyboardInterrupt:
        return 130


async def run_tail(path: Path, mapper, kafka_url: str, checkpoint: Checkpoint, *, fmt: str,
                   from_end: bool = False, poll_s: float = 0.2, stop: Optional[asyncio.Event] = None) -> int:
    """Follow ``path`` until ``stop`` (SIGINT/SIGTERM), publishing each batch and then saving the checkpoint."""
    from stream.runtime.publish import Publisher
    from stream.sources.formats import Dead

    saved = checkpoint.load()
    if saved is not None and saved.get("format") != fmt:
        print(f"floorwatch tail: the checkpoint {checkpoint.path} is for format {saved.get('format')}, not {fmt}",
              file=sys.stderr)
        return 2
    if saved is not None:
        mapper.restore(saved.get("mapper") or {})
    follower = Follower(path)
    follower.start(saved, from_end=from_end)
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    site_key = getattr(mapper, "site", "").encode() or None
    pub = Publisher(kafka_url, linger_ms=20)
    try:
        await pub.start()
    except Exception as exc:
        await pub.stop()
        follower.close()
        print(f"floorwatch tail: cannot reach Kafka at {kafka_url}: {exc}", file=sys.stderr)
        return 1
    sent = 0
    try:
        while not stop.is_set():
            lines = follower.poll()
            for note in follower.notes:
                print(f"floorwatch tail: {note}", file=sys.stderr, flush=True)
            follower.notes.clear()
            if not lines:
                try:
                    await asyncio.wait_for(stop.wait(), poll_s)
                except asyncio.TimeoutError:
                    pass
                continue
            events: list = []
            for line in lines:
                for item in mapper.feed(line):
                    if isinstance(item, Dead):
                        await pub.send_raw(item.raw, key=site_key, reason=item.reason)
                    else:
                        events.append(item)
            if events:
                await pub.send_events(events)
            # Only what the broker has is behind the checkpoint.
            await pub.acked()
            sent += len(events)
            checkpoint.save({"format": fmt, **follower.position(), "mapper": mapper.state()})
    except Exception as exc:  # the broker refused or went away: stop; a restart resumes at the checkpoint
        print(f"floorwatch tail: {type(exc).__name__}: {exc} (stopping; the checkpoint is at the last delivered line)",
              file=sys.stderr)
        return 1
    finally:
        follower.close()
        await pub.stop()
        print(f"floorwatch tail: stopped after {sent:,} events", file=sys.stderr)
    return 0
