"""Where a run of events crosses an evaluation boundary: the alert driver's per-event loop, compiled.

The driver (:mod:`stream.alerts.driver`) folds events in runs and evaluates a
site just before the first event stamped after the site's next boundary is
applied. Finding that event means looking at every event's time and site,
which on a busy day is a million look-ups in the interpreter; this module is
compiled with the core (setup.py) and does it in C.

>>> from stream.events import CallOffered
>>> evs = [CallOffered(id=str(i), ts=t, site="s", call=str(i), queue="q") for i, t in enumerate([0, 20_000, 30_000, 31_000])]
>>> nxt = {}
>>> next_crossing(evs, 0, nxt, 30_000), nxt
(3, {'s': 30000})
"""

from __future__ import annotations

from stream.events import ts_to_ms

__all__ = ["next_crossing"]


def next_crossing(events: list, start: int, next_ms: dict[str, int], period_ms: int) -> int:
    """The index of the first event from ``start`` stamped after its site's next boundary (``len`` if none).

    On the way, event times are normalised to epoch ms in place, and a site
    seen for the first time gets its first boundary (the one after its first
    event) in ``next_ms``.
    """
    n = len(events)
    i = start
    while i < n:
        ev = events[i]
        ts = ev.ts
        if ts.__class__ is not int:
            ts = ev.ts = ts_to_ms(ts)
        t: int = ts
        site: str = ev.site
        nb = next_ms.get(site)
        if nb is None:
            next_ms[site] = (t // period_ms + 1) * period_ms
        elif t > nb:
            # The boundary instant includes events stamped at it: this is the first one after.
            return i
        i += 1
    return n
