"""JSON Lines files of v1 events: write a simulator's stream, read it back.

One event per line, encoded exactly as :func:`stream.contracts.events.encode_event`
encodes it. Reading never stops at a bad line: every line comes back either
as an event or as a :class:`Rejected` (the raw line and why), so a replay can
count and show the rejects instead of crashing on the first typo. Blank lines
are skipped. A path ending in ``.gz`` is read and written gzip-compressed.

>>> import io
>>> from simulators import mmc
>>> from stream.sources.jsonl import Rejected, read_jsonl, write_jsonl
>>> buf = io.BytesIO()
>>> write_jsonl(mmc.generate(calls_per_hour=60, aht_s=120, agents=2, hours=0.1, seed=1), buf)
24
>>> _ = buf.write(b'{"id": "broken"\\n')
>>> items = list(read_jsonl(io.BytesIO(buf.getvalue())))
>>> len(items), isinstance(items[-1], Rejected), items[-1].reason[:7]
(25, True, 'line 25')

From the shell (``-`` is stdout)::

    python -m simulators.busy_day --calls 20000 --seed 1 -o day.jsonl.gz
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, NamedTuple, Union

import msgspec

from stream.contracts.decode import decode_item
from stream.contracts.events import Event, ts_to_ms

__all__ = ["Rejected", "read_jsonl", "write_jsonl", "encode_lines"]

Source = Union[str, Path, BinaryIO, Iterable[bytes]]
Dest = Union[str, Path, BinaryIO]

# Flush the write buffer at about this size: large enough that the per-write
# syscall cost vanishes, small enough to stay well inside the CPU caches.
_FLUSH_BYTES = 1 << 18


class Rejected(NamedTuple):
    """A line that is not a valid event: the raw bytes and the reason.

    The reason starts with the line number (``"line 17: Expected ..."``), so a
    two-tuple ``(raw, reason)`` is all a caller needs to report it.
    """

    raw: bytes
    reason: str


def encode_lines(events: Iterable[Event]) -> Iterator[bytes]:
    """Each event as one JSON line (with its trailing newline)."""
    enc = msgspec.json.Encoder()
    for ev in events:
        yield enc.encode(ev) + b"\n"


def write_jsonl(events: Iterable[Event], dest: Dest) -> int:
    """Write ``events`` to ``dest`` (a path, ``"-"`` for stdout, or a binary file).

    Returns the number of events written. A path ending in ``.gz`` is gzipped.
    """
    if isinstance(dest, (str, Path)):
        if str(dest) == "-":
            return _write(events, sys.stdout.buffer)
        opener = gzip.open if str(dest).endswith(".gz") else open
        with opener(dest, "wb") as fh:
            return _write(events, fh)
    return _write(events, dest)


def _write(events: Iterable[Event], fh: BinaryIO) -> int:
    # encode_into appends to one growing buffer: no per-event bytes objects.
    enc = msgspec.json.Encoder()
    buf = bytearray()
    n = 0
    for ev in events:
        enc.encode_into(ev, buf, -1)
        buf += b"\n"
        n += 1
        if len(buf) >= _FLUSH_BYTES:
            fh.write(buf)
            buf.clear()
    if buf:
        fh.write(buf)
    fh.flush()
    return n


def read_jsonl(source: Source) -> Iterator[Union[Event, Rejected]]:
    """Every line of ``source`` as an event or a :class:`Rejected`; never raises on bad data.

    ``source`` is a path (``"-"`` for stdin; ``.gz`` is gunzipped), a binary
    file, or any iterable of byte lines. ``ts`` comes back as epoch ms.
    """
    if isinstance(source, (str, Path)):
        if str(source) == "-":
            yield from _read(sys.stdin.buffer)
            return
        opener = gzip.open if str(source).endswith(".gz") else open
        with opener(source, "rb") as fh:
            yield from _read(fh)
        return
    if isinstance(source, io.TextIOBase):
        raise TypeError("read_jsonl needs a binary file (open it with 'rb')")
    yield from _read(source)


def _read(lines: Iterable[bytes]) -> Iterator[Union[Event, Rejected]]:
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        # The decoders' reference: its bounds (size, depth, time range) hold here too.
        ev, why = decode_item(line)
        if ev is None:
            # The line is kept as read (minus the line break), so a reject
            # file can be fixed and fed again.
            yield Rejected(raw.rstrip(b"\r\n"), f"line {lineno}: {why}")
            continue
        if type(ev.ts) is not int:
            ev.ts = ts_to_ms(ev.ts)
        yield ev
