"""The input formats by ``--format`` name: the one place replay, publish, up, alerts and tail look them up.

A format reads a file into wire events and :class:`Dead` letters, in order
(``Format.read``), may bring sites of its own (``Format.sites``: the Anonymous
Bank log is its own site), may be our wire format already (``Format.wire``:
readers then hand raw chunks to the floor's native decoder), and may be
followed line by line as it grows (``Format.follow``: a per-line mapper whose
state round-trips, for ``floorwatch tail``).

>>> sorted(FORMATS)
['anonbank', 'asterisk', 'jsonl']
>>> get("csv")
Traceback (most recent call last):
...
stream.sources.items.SourceError: unknown format 'csv' (anonbank, asterisk or jsonl)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional, Protocol, Union

from stream.contracts.events import Event
from stream.contracts.floor_config import FloorConfig, SiteConfig
# Defined apart so that the readers this module dispatches to can use them without importing it.
from stream.sources.items import Dead, SourceError

__all__ = ["FORMATS", "NAMES", "Dead", "Format", "LineMapper", "SourceError", "add_sites", "get", "reason_of"]



Item = Union[Event, Dead]


class LineMapper(Protocol):
    """Turns one line of a growing file into events and dead letters; its state is plain JSON data."""

    def feed(self, raw: bytes) -> list: ...

    def state(self) -> dict: ...

    def restore(self, st: dict) -> None: ...


@dataclass(frozen=True)
class Format:
    name: str
    help: str
    # (path, floor config, --site) -> events and dead letters in file order
    read: Callable[[Path, FloorConfig, Optional[str]], Iterator[Item]]
    # floor config -> sites the format brings along (added where missing)
    sites: Callable[[FloorConfig], dict[str, SiteConfig]] = lambda cfg: {}
    wire: bool = False
    follow: Optional[Callable[[FloorConfig, Optional[str]], LineMapper]] = None


# -- anonbank -------------------------------------------------------------------


def _anonbank_read(path: Path, cfg: FloorConfig, site: Optional[str]) -> Iterator[Item]:
    from stream.sources import anonbank

    log = anonbank.read_anonbank(path)
    for _, raw, reason in log.dead:
        yield Dead(raw, f"row: {reason}")
    yield from log.events


def _anonbank_sites(cfg: FloorConfig) -> dict[str, SiteConfig]:
    from stream.sources import anonbank

    return {anonbank.SITE: anonbank.site_config()}


# -- jsonl ------------------------------------------------------------------------


def _jsonl_read(path: Path, cfg: FloorConfig, site: Optional[str]) -> Iterator[Item]:
    from stream.sources.jsonl import Rejected, read_jsonl

    for item in read_jsonl(path):
        # A broken line goes on as it is: the wire decoder names its reason, as everywhere.
        yield Dead(item.raw, None) if isinstance(item, Rejected) else item


class _JsonlLines:
    """JSON lines followed as they grow: each line on its own, nothing remembered."""

    def feed(self, raw: bytes) -> list:
        from stream.contracts.decode import decode_one

        line = raw.strip()
        if not line:
            return []
        good, bad = decode_one(line)
        return good if good else [Dead(line, None)]

    def state(self) -> dict:
        return {}

    def restore(self, st: dict) -> None:
        pass


# -- asterisk -------------------------------------------------------------------------


def _asterisk_mapper(cfg: FloorConfig, site: Optional[str]):
    from stream.sources.asterisk import QueueLogMapper, caller_function, resolve_site

    name, sc = resolve_site(cfg, site)
    src = sc.asterisk
    caller = caller_function(name, src, dict(os.environ)) if src is not None else None
    return QueueLogMapper(name, sc, caller)


def _asterisk_read(path: Path, cfg: FloorConfig, site: Optional[str]) -> Iterator[Item]:
    mapper = _asterisk_mapper(cfg, site)  # a config error shows now, not at the first line
    return _mapped(path, mapper)


def _mapped(path: Path, mapper: LineMapper) -> Iterator[Item]:
    with open(path, "rb") as fh:
        for raw in fh:
            yield from mapper.feed(raw)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("anonbank", "the Anonymous Bank call log (Technion, Feb 1999)", _anonbank_read, sites=_anonbank_sites),
        Format("asterisk", "an Asterisk queue_log (file, or a realtime table exported tab-separated)", _asterisk_read,
               follow=_asterisk_mapper),
        Format("jsonl", "floorwatch's own wire format, one JSON event per line (.gz too)", _jsonl_read, wire=True,
               follow=lambda cfg, site: _JsonlLines()),
    )
}
NAMES = tuple(FORMATS)


def reason_of(d: Dead) -> str:
    """A dead letter's reason; for a broken wire line, the decoder's (as a worker would give it)."""
    if d.reason is not None:
        return d.reason
    from stream.contracts.decode import decode_one

    bad = decode_one(d.raw)[1]
    return bad[0][1] if bad else "rejected"


def none_accepted(path: Path, fmt: str, rejected: dict[str, int]) -> str:
    """The one-line reason a log of which no row was accepted is refused: the format tried, the commonest
    rejection and the other formats it may be in (most often the cause is a wrong ``--format``)."""
    count = sum(rejected.values())
    most = max(rejected, key=rejected.__getitem__) if rejected else "the file is empty"
    others = [n for n in NAMES if n != fmt]
    hint = f"; is it {' or '.join(f'--format {n}' for n in others)}?" if rejected else ""
    return f"none of the {count:,} rows of {path} was accepted as --format {fmt} (most: {most}){hint}"


def get(name: str) -> Format:
    f = FORMATS.get(name)
    if f is None:
        raise SourceError(f"unknown format {name!r} ({', '.join(NAMES[:-1])} or {NAMES[-1]})")
    return f


def add_sites(fmt: Format, cfg: FloorConfig) -> None:
    """Give ``cfg`` the sites ``fmt`` brings, where it has none of that name."""
    for name, sc in fmt.sites(cfg).items():
        cfg.sites.setdefault(name, sc)
