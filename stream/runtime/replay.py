"""Replay a file of events through the core, in process, and report the figures.

A thin shell: it reads (``simulators`` adapters or our JSON lines), feeds the
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

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.contracts.decode import iter_jsonl_chunks
from stream.runtime.gc_tuning import paused as gc_paused

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


def replay_anonbank(path: str | os.PathLike, floor: Optional[Floor] = None, progress: Optional[Progress] = None) -> Floor:
    """Fold the Anonymous Bank log into ``floor``; its site gets the log's calendar."""
    from stream.sources import anonbank

    log = anonbank.read_anonbank(path)
    if floor is None:
        floor = Floor(FloorConfig())
    anonbank.add_site(floor.config)
    for reason, n in log.rejected.items():
        floor.reject_count(f"row: {reason}", n)
    for _, raw, reason in log.dead[: floor.limits.dead_letters]:
        floor.dead.append((raw, f"row: {reason}"))
    with gc_paused():
        floor.apply_many(log.events)
        if progress is not None:
            progress(Path(path).stat().st_size)
        floor.flush()
    return floor


def replay_events(events: Iterable, floor: Optional[Floor] = None) -> Floor:
    floor = floor if floor is not None else Floor()
    floor.apply_many(events)
    floor.flush()
    return floor


def replay_file(path: str | os.PathLike, fmt: str, floor: Optional[Floor] = None, progress: Optional[Progress] = None) -> Floor:
    if fmt == "anonbank":
        return replay_anonbank(path, floor, progress)
    if fmt == "jsonl":
        with open(path, "rb") as fh:
            return replay_jsonl(fh, floor, progress)
    raise ValueError(f"unknown format {fmt!r} (anonbank or jsonl)")
