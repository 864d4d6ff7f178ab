"""Cold start from the history store: detectors that have learnt the floor's past before their first live bucket.

A worker that starts with no detector checkpoint (a new deployment, a lost
Redis, a partition whose log retention removed the start) would otherwise
spend days in warm-up — three days before the first arrival surge can be
told, two weeks before the weekly profile — while the history store
(docs/history.md) holds the floor's 15-minute intervals. This module turns
those rows into an engine checkpoint (:meth:`AlertEngine.checkpoint`'s
format), so :meth:`AlertEngine.resume` starts from it exactly as from a
saved one. Pure: rows in, a checkpoint out (the shell reads the store).

Each 15-minute row feeds the queue's detectors, built as the engine builds
them (:func:`~stream.alerts.engine.new_detector`), what the engine would have
fed them at its boundaries, as near as the interval grain allows:

* ``arrival_surge`` — three 5-minute buckets of a third of the interval's
  offered calls each (the profile learns the same mean; the 5-minute spread
  is learnt live);
* ``aht_drift`` — one bucket: the interval's handle-time mean over its
  handled calls (``n`` = handled, at least ``MIN_HANDLED``);
* ``abandon_spike`` — the interval itself (its 15-minute bucket): its
  abandons, short ones too, its offered (at least ``MIN_OFFERED``) and the
  seconds waited (``wait_sum_ms`` + ``abandon_wait_sum_ms``). Rows written
  before the store kept abandoned waits (``abandon_wait_sum_ms`` NULL) say
  nothing of the exposure and teach it nothing: the detector then learns
  from the rows that have it, or live.

The store keeps only intervals in which something happened, while the live
engine learns at every 5-minute boundary of a quiet stretch (a night, a quiet
queue) too, walking gaps of up to ``MAX_GAP_MS`` (the driver's). So an
interval missing between a site's first row and its last is learnt as an
empty one (no arrivals; no handle time or abandon rate to learn), unless it
lies in a gap the driver would jump. Otherwise quiet slots would be learnt
only from their busier days, and warm-up would last longer than live.

Each site's ``learnt`` is the end of its last row, so boundaries the history
covered are not learnt again from the log (as with a checkpoint).

>>> from stream.alerts.config import load_alerts
>>> day = 86_400_000
>>> rows = [{"site": "s", "queue": "q", "start_ms": i * 900_000, "offered": 30 if (i % 96) in range(36, 72) else 3,
...          "abandoned": 2, "short_abandoned": 0, "handled": 20, "handle_sum_ms": 20 * 180_000,
...          "wait_sum_ms": 28 * 30_000, "abandon_wait_sum_ms": 2 * 90_000} for i in range(96 * 7)]
>>> ck = warm_checkpoint(rows, load_alerts(), {"s": "UTC"})
>>> ck["learnt"]["s"] == 7 * day
True
>>> sorted(ck["detectors"]["s/q"])
['abandon_spike', 'aht_drift', 'arrival_surge']
>>> ck["detectors"]["s/q"]["arrival_surge"]["n"]          # 3 buckets per row: past the 3-day warm-up
2016
>>> ck["detectors"]["s/q"]["abandon_spike"]["n"]          # the open hours' rows (30 offered): 36 a day
252
>>> busy = [r for r in rows if r["offered"] == 30]        # a store without the quiet hours: learnt as empty
>>> n = warm_checkpoint(busy, load_alerts(), {"s": "UTC"})["detectors"]["s/q"]["arrival_surge"]["n"]
>>> n == 3 * (6 * 96 + 36)                                  # every interval from the first row (9:00) to the last
True
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Iterable, Mapping

from stream.alerts.config import DETECTORS, AlertsConfig
from stream.alerts.driver import MAX_GAP_MS
from stream.alerts.engine import ABANDON_BUCKET_MS, BUCKET_MS, MIN_HANDLED, MIN_OFFERED, STATE_VERSION, new_detector

__all__ = ["warm_checkpoint", "HISTORY_DAYS"]

# Days of history read for a cold start: four weeks (the weekly profile wants two).
HISTORY_DAYS = 28
_ROW_MS = ABANDON_BUCKET_MS  # the history's interval (15 minutes)


def _inputs(name: str, row: dict) -> list[dict]:
    """What ``name`` learns from one interval row (an empty list: nothing, as the engine would skip it)."""
    t = row["start_ms"] / 1000.0
    if name == "arrival_surge":
        per = BUCKET_MS / 1000.0
        y = float(row["offered"] or 0) * BUCKET_MS / _ROW_MS
        return [{"t": t + k * per, "y": y} for k in range(_ROW_MS // BUCKET_MS)]
    if name == "aht_drift":
        n = int(row.get("handled") or 0)
        if n < MIN_HANDLED or row.get("handle_sum_ms") is None:
            return []
        return [{"t": t, "y": float(row["handle_sum_ms"]) / n / 1000.0, "n": n}]
    n = int(row.get("offered") or 0)
    aw = row.get("abandon_wait_sum_ms")
    if n < MIN_OFFERED or aw is None or row.get("wait_sum_ms") is None:
        return []
    return [{"t": t, "k": int(row.get("abandoned") or 0), "n": n, "e": (int(row["wait_sum_ms"]) + int(aw)) / 1000.0}]


def warm_checkpoint(rows: Iterable[dict], alerts: AlertsConfig, zones: Mapping[str, str]) -> dict:
    """An engine checkpoint learnt from history ``rows`` (``queue_intervals`` rows, any order) of the
    sites in ``zones`` (site -> time zone); rows of other sites are left out."""
    by_queue: dict[tuple[str, str], list[dict]] = {}
    learnt: dict[str, int] = {}
    for r in rows:
        site = r["site"]
        if site not in zones:
            continue
        by_queue.setdefault((site, r["queue"]), []).append(r)
        learnt[site] = max(learnt.get(site, 0), int(r["start_ms"]) + _ROW_MS)
    starts = {site: sorted({int(r["start_ms"]) for (s, _), qrows in by_queue.items() if s == site for r in qrows})
              for site in learnt}
    detectors: dict[str, dict] = {}
    for (site, queue), qrows in sorted(by_queue.items()):
        qrows = _with_quiet_intervals(qrows, starts[site])
        dets = {}
        for name in DETECTORS:
            dc = alerts.detector(site, queue, name)
            if not dc.enabled:
                continue
            det = new_detector(name, zones[site], dc.warmup_buckets)
            for r in qrows:
                for x in _inputs(name, r):
                    det.learn_one(x)
            dets[name] = det.to_dict()
        if dets:
            detectors[f"{site}/{queue}"] = dets
    return {"version": STATE_VERSION, "detectors": detectors, "learnt": learnt, "anomalies": {}}


def _with_quiet_intervals(qrows: list[dict], site_starts: list[int]) -> list[dict]:
    """A queue's rows in time order from its site's first row to its last, each interval missing from the
    store (nothing happened then) as an empty row, but for those in a gap the live driver jumps."""
    by_start = {int(r["start_ms"]): r for r in qrows}
    out = []
    for t in range(site_starts[0], site_starts[-1] + 1, _ROW_MS):
        row = by_start.get(t)
        if row is None:
            # The site's next row: a quiet stretch longer than MAX_GAP_MS is learnt only over its end.
            if site_starts[bisect_left(site_starts, t)] - t > MAX_GAP_MS:
                continue
            row = {"start_ms": t, "offered": 0, "abandoned": 0, "short_abandoned": 0, "handled": 0, "handle_sum_ms": None}
        out.append(row)
    return out
