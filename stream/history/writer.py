"""The bounded retry queue in front of the history store.

Rows wait here, one per key (a newer row for the same site × queue ×
interval replaces the waiting one, so an outage queues at most one row per
key), until a write succeeds. A database that is down costs the live floor
nothing: ``flush`` fails, the rows stay, the failure is counted, and the next
flush retries. Past ``max_rows`` waiting rows the oldest are dropped and
counted (the sink writes them again from the floor's state once the database
is back, as long as the floor still holds those intervals).

The counters (``stats``) are published to Redis by the sink and shown on the
dashboard's ``/metrics``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from stream.history.schema import KEYS
from stream.history.store import Batch, Store, StoreError

log = logging.getLogger("floorwatch.history")

_KINDS = KEYS


@dataclass
class WriterStats:
    rows_written: int = 0
    rows_dropped: int = 0
    write_errors: int = 0
    db_up: bool = False
    last_error: Optional[str] = None
    last_write_ms: Optional[int] = None


class HistoryWriter:
    """Queued, retried, idempotent writes to one history database."""

    def __init__(self, db_url: str, *, max_rows: int = 500_000, store: Optional[Store] = None) -> None:
        self.db_url = db_url
        self.max_rows = max_rows
        self.store = store
        self.pending: dict[str, OrderedDict] = {k: OrderedDict() for k in _KINDS}
        self.stats = WriterStats()
        self._lock = threading.Lock()  # offer (event loop) and flush (a thread) share ``pending``

    @property
    def queued(self) -> int:
        return sum(len(p) for p in self.pending.values())

    def offer(self, batch: Batch) -> None:
        with self._lock:
            for kind, keys in _KINDS.items():
                p = self.pending[kind]
                for row in getattr(batch, kind):
                    k = tuple(row[c] for c in keys)
                    p.pop(k, None)
                    p[k] = row
            over = self.queued - self.max_rows
            while over > 0:
                # The oldest waiting rows go first (counted); the sink rewrites them from state later.
                kind = max(self.pending, key=lambda k: len(self.pending[k]))
                self.pending[kind].popitem(last=False)
                self.stats.rows_dropped += 1
                over -= 1

    def flush(self) -> int:
        """Write everything waiting (blocking: run it in a thread). Returns rows written; 0 on failure."""
        with self._lock:
            taken = {k: p for k, p in self.pending.items()}
            self.pending = {k: OrderedDict() for k in _KINDS}
        batch = Batch(**{k: list(p.values()) for k, p in taken.items()})
        if not len(batch):
            return 0
        try:
            if self.store is None:
                self.store = Store.open(self.db_url, connect_timeout_s=5)
            n = self.store.upsert(batch)
        except Exception as exc:  # any database error: keep the rows and retry later
            self._put_back(taken)
            self.stats.write_errors += 1
            if self.stats.db_up or self.stats.write_errors in (1, 10) or self.stats.write_errors % 100 == 0:
                log.warning("history database unavailable (%s); %d rows queued", _one_line(exc), self.queued)
            self.stats.db_up = False
            self.stats.last_error = _one_line(exc)
            return 0
        self.stats.rows_written += n
        self.stats.db_up = True
        self.stats.last_write_ms = int(time.time() * 1000)
        return n

    def _put_back(self, taken: dict) -> None:
        with self._lock:
            for kind, old in taken.items():
                # Rows offered meanwhile are newer: they win over the ones put back.
                newer = self.pending[kind]
                for k in newer:
                    old.pop(k, None)
                old.update(newer)
                self.pending[kind] = old
        self.offer(Batch())  # applies the bound

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
