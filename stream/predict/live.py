"""Predicted waits for a site's snapshot: what the worker publishes and IVRs and ticket printers read.

Per queue, the wait of a contact arriving now (class 0: a VIP is served
sooner) with its band and the contacts ahead: ``{"wait_s", "low_s", "high_s",
"ahead"}`` (whole seconds, so a wall is not sent a new figure for every
millisecond); for a hall, that is the next ticket's wait. Computed from the
snapshot and the fold's ``queue_now`` at the site's event clock
(``view.snapshot_views``): no wall clock, nothing after it.

>>> site_ewt({"clock": 0, "queues": {}}, {})
{}
"""

from __future__ import annotations

from typing import Mapping

from stream.fold.interface import QueueNow
from stream.predict.ewt import EWT
from stream.predict.view import snapshot_views

__all__ = ["site_ewt"]

_EWT = EWT()


def site_ewt(snap: Mapping, legs: Mapping[str, QueueNow]) -> dict[str, dict[str, float | int]]:
    """queue -> ``{"wait_s", "low_s", "high_s", "ahead"}`` for a new (class 0) arrival now."""
    out: dict[str, dict[str, float | int]] = {}
    for q, v in snapshot_views(snap, legs).items():
        p = _EWT.predict(v, v.ahead_of(0))
        out[q] = {"wait_s": round(p.wait_s), "low_s": round(p.low_s), "high_s": round(p.high_s), "ahead": p.ahead}
    return out
