"""Rate-limiting repeated log records, so an outage is a few lines in a log, not thousands.

While the broker or Redis is away, aiokafka, Faust and our own retry loops log
the same warning or error many times a second. ``RepeatLimit`` lets the first
``burst`` records of one kind (logger, level, message template) through in
each ``window_s``, drops the rest, and tells how many it dropped on the first
record of that kind after the window ends. Records below WARNING pass
untouched.

    install_repeat_limit()      # on every handler of the root logger (idempotent)

>>> import logging
>>> f = RepeatLimit(burst=2, window_s=60, clock=lambda: 0.0)
>>> rec = lambda: logging.LogRecord("x", logging.ERROR, __file__, 1, "broker down: %s", ("refused",), None)
>>> [f.filter(rec()) for _ in range(4)]
[True, True, False, False]
"""

from __future__ import annotations

import logging
import time
from typing import Callable

__all__ = ["RepeatLimit", "install_repeat_limit"]


class RepeatLimit(logging.Filter):
    """Passes at most ``burst`` WARNING+ records of one kind per ``window_s``; counts the rest."""

    def __init__(self, burst: int = 5, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_kinds: int = 1000) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self.max_kinds = max_kinds
        # kind -> [window start, records seen in the window, records dropped in it]
        self._kinds: dict[tuple, list] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, record.msg if isinstance(record.msg, str) else type(record.msg).__name__)
        now = self.clock()
        st = self._kinds.get(kind)
        if st is None or now - st[0] >= self.window_s:
            dropped = st[2] if st is not None else 0
            if st is None and len(self._kinds) >= self.max_kinds:
                self._kinds.clear()  # a flood of distinct messages: start counting again
            self._kinds[kind] = [now, 1, 0]
            if dropped:
                # No "%" in the note, so it is safe whether or not the record has args.
                record.msg = f"{record.msg} [{dropped} more like this in the last {self.window_s:.0f} s were not logged]"
            return True
        st[1] += 1
        if st[1] <= self.burst:
            return True
        st[2] += 1
        return False


_INSTALLED = RepeatLimit()


def install_repeat_limit(logger: logging.Logger | None = None) -> RepeatLimit:
    """Put the one process-wide ``RepeatLimit`` on every handler of ``logger`` (default: root)."""
    lg = logger or logging.getLogger()
    for h in lg.handlers:
        if _INSTALLED not in h.filters:
            h.addFilter(_INSTALLED)
    return _INSTALLED
