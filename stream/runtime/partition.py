"""One Kafka partition's floor: the core plus the offsets it has folded.

A partition's state is a pure function of its message log: ``fold`` takes the
messages in offset order and nothing else (no wall clock), so a worker that
rebuilds a partition by reading it again from the beginning holds exactly the
state the dead worker held. ``fold`` refuses an offset it has already folded
(re-delivery after a crash) and reports a gap (the partition was processed
elsewhere meanwhile), which tells the shell to rebuild.

>>> from stream.contracts.floor_config import FloorConfig
>>> p = PartitionFloor(0, FloorConfig())
>>> p.fold(0, b'[{"id":"1","ts":0,"site":"s","kind":"call_offered","call":"c","queue":"q"}]').sites
{'s'}
>>> p.fold(0, b'[]').status, p.next_offset
('duplicate', 1)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

from stream.contracts.floor_config import FloorConfig
from stream.fold.floor import Floor
from stream.fold.site import Limits

# A message the producer already knew was broken (an adapter's bad log row)
# carries its reason in this header; the worker counts and dead-letters it.
REJECTED_HEADER = "floorwatch-rejected"

# Folds a batch of events into the floor itself and returns alert changes
# (the alert driver applies events one by one to evaluate on event time).
EventsHook = Callable[[Floor, list], list]


@dataclass
class Folded:
    """What one message did to the partition."""

    status: str  # "ok", "duplicate" (already folded) or "gap" (rebuild needed)
    sites: set[str] = field(default_factory=set)
    events: int = 0
    dead: list[tuple[bytes, str]] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)


class PartitionFloor:
    """The core of one partition and the next offset it expects."""

    def __init__(self, partition: int, config: FloorConfig, on_events: Optional[EventsHook] = None, native: Optional[bool] = None,
                 limits: Optional[Limits] = None) -> None:
        self.partition = partition
        self.floor = Floor(config, native=native, limits=limits)
        self.next_offset = 0
        self.events = 0
        self.on_events = on_events
        # Every alert change folded so far: published again if Redis lost them.
        self.alert_log: list[dict] = []
        # The last folded message, whose checksum tells a re-delivery from a new log
        # (computed when asked: the worker asks on a rebalance, not for every message).
        self._last_value: Optional[bytes] = None
        # The offset at which a past this log does not hold was joined to the state (a resumed detector
        # checkpoint, a warm start from the history store, the state kept when the broker lost its log);
        # None when all of it was folded from this log. Saved with the checkpoint (stream.alerts.checkpoints).
        self.base: Optional[int] = None

    @property
    def last_crc(self) -> Optional[int]:
        """CRC-32 of the last folded message's value (None before any)."""
        return None if self._last_value is None else zlib.crc32(self._last_value)

    def fold(self, offset: int, value: Optional[bytes], headers: Optional[dict[str, bytes]] = None, timestamp_ms: Optional[int] = None) -> Folded:
        """Fold the message at ``offset``. ``timestamp_ms`` is its Kafka timestamp: its events are
        judged against it (more than ``max_ahead_s`` past it: quarantined), the same on every rebuild."""
        if offset < self.next_offset:
            return Folded("duplicate")
        if offset > self.next_offset:
            return Folded("gap")
        self.next_offset = offset + 1
        self._last_value = value or b""
        out = Folded("ok")
        floor = self.floor
        floor.set_reference(timestamp_ms if timestamp_ms is not None and timestamp_ms >= 0 else None)
        reason = (headers or {}).get(REJECTED_HEADER)
        if reason is not None:
            floor.reject(value or b"", reason.decode("utf-8", "replace"))
        elif not value:
            floor.reject(b"", "empty message")
        else:
            # A batch of the floor's own (the native core decodes the bytes itself).
            evs, bad = floor.decode_payload(value)
            for raw, why in bad:
                floor.reject(raw, why)
            if evs:
                if self.on_events is not None:
                    out.alerts = self.on_events(floor, evs)
                else:
                    floor.apply_many(evs)
                out.events = len(evs)
                self.events += len(evs)
                out.sites = floor.batch_sites(evs)
        out.dead = floor.drain_dead()
        return out
