"""Predicted waits for a site's snapshot: what the worker publishes and IVRs and ticket printers read.

Per queue, the wait of a contact arriving now (class 0: a VIP is served
sooner) with its band and the contacts ahead: ``{"wait_s", "low_s", "high_s",
"ahead"}`` (whole seconds, so a wall is not sent a new figure for every
millisecond); for a hall, that is the next ticket's wait. Beside it,
``positions``: each waiting contact's remaining wait, in the order served, as
``[wait_s, low_s, high_s]`` (the first ``MAX_POSITIONS``; ``positions[i]`` is
position ``i + 1``, ``i`` ahead of it), what a ticket printer or an IVR reads
for "you are number 4". Computed from the snapshot and the fold's
``queue_now`` at the site's event clock (``view.snapshot_views``): no wall
clock, nothing after it.

>>> site_ewt({"clock": 0, "queues": {}}, {})
{}
"""

from __future__ import annotations

from typing import Mapping

from stream.fold.interface import QueueNow
from stream.predict.ewt import EWT
from stream.predict.view import snapshot_views

__all__ = ["site_ewt", "MAX_POSITIONS"]

# Positions published per queue: a bound on the snapshot's size and on the work at each publish.
MAX_POSITIONS = 50

_EWT = EWT()


def site_ewt(snap: Mapping, legs: Mapping[str, QueueNow]) -> dict[str, dict]:
    """queue -> ``{"wait_s", "low_s", "high_s", "ahead", "positions"}`` for a new (class 0) arrival now
    and for each contact waiting (the first ``MAX_POSITIONS``)."""
    out: dict[str, dict] = {}
    for q, v in snapshot_views(snap, legs).items():
        p = _EWT.predict(v, v.ahead_of(0))
        out[q] = {"wait_s": round(p.wait_s), "low_s": round(p.low_s), "high_s": round(p.high_s), "ahead": p.ahead,
                  "positions": [[round(w.wait_s), round(w.low_s), round(w.high_s)]
                                for w in _EWT.positions(v, MAX_POSITIONS)]}
    return out
