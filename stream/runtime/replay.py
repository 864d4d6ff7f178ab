"""Replay a file of events through the core, in process, and report the figures.

A thin shell: it reads (a format of ``stream.sources.formats``), feeds the
pure core and asks it for the report. Nothing here computes a figure.

>>> import io, json
>>> line = json.dumps({"id": "1", "ts": 0, "site": "s", "kind": "call_offered", "call": "c", "queue": "q"})
>>> floor = replay_jsonl(io.BytesIO((line + "\\nnot json\\n").encode()))
>>> r = floor.report()
>>> r["total"]["offered"], r["rejected"]["count"]
(1, 1)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Optional

from stream.fold.floor import Floor
from stream.contracts.decode import iter_jsonl_chunks
from stream.runtime.gc_tuning import paused as gc_paused
from stream.sources import formats
from stream.sources.formats import Dead

Progress = Callable[[int], None]  # called with bytes (or rows) done since the last call


def replay_jsonl(fh: BinaryIO, floor: Optional[Floor] = None, progress: Optional[Progress] = None) -> Floor:
    """Fold a JSON-lines stream into ``floor`` (a new default one if None), then flush it."""
    floor = floor if floor is not None else Floor()
    with gc_paused():
        for chunk in iter_jsonl_chunks(fh):
            # The floor's own batch: the native core decodes the bytes itself.
            good, bad = floor.decode_lines(chunk)
            floor.apply_many(good)
            for raw, reason in bad:
                floor.reject(raw, reason)
            if progress is not None:
                progress(len(chunk))
        floor.flush()
    return floor


def replay_items(items: Iterable, floor: Floor) -> Floor:
    """Fold a source's events and dead letters (``stream.sources.formats``) into ``floor``, then flush it."""
    batch: list = []
    with gc_paused():
        for item in items:
            if isinstance(item, Dead):
                # None: a broken wire line; the decoder names why, as it would from Kafka.
                floor.reject(item.raw, formats.reason_of(item))
                continue
            batch.append(item)
            if len(batch) >= 50_000:
                floor.apply_many(batch)
                batch = []
        floor.apply_many(batch)
        floor.flush()
    return floor


def replay_events(events: Iterable, floor: Optional[Floor] = None) -> Floor:
    floor = floor if floor is not None else Floor()
    floor.apply_many(events)
    floor.flush()
    return floor


def replay_file(path: str | os.PathLike, fmt: str, floor: Optional[Floor] = None, progress: Optional[Progress] = None,
                site: Optional[str] = None) -> Floor:
    """Replay ``path`` read as format ``fmt`` (a name of ``stream.sources.formats``)."""
    f = formats.get(fmt)
    floor = floor if floor is not None else Floor()
    formats.add_sites(f, floor.config)
    if f.wire:
        with open(path, "rb") as fh:
            return replay_jsonl(fh, floor, progress)
    floor = replay_items(f.read(Path(path), floor.config, site), floor)
    if progress is not None:
        progress(Path(path).stat().st_size)
    return floor
