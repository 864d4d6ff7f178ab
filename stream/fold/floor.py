"""The floor core: a pure fold of events into live figures, snapshots, deltas and reports.

No I/O and no wall clock: time is the events' own timestamps, advanced by
explicit ``tick`` calls when a live floor is quiet. The shells (the replay
command, the Faust worker, the Redis writer) feed it and publish what it says.

>>> from stream.contracts.events import CallOffered, CallAnswered
>>> floor = Floor()
>>> floor.apply(CallOffered(id="1", ts=0, site="s1", call="c1", queue="general"))
>>> floor.apply(CallAnswered(id="2", ts=15_000, site="s1", call="c1", agent="a1"))
>>> snap = floor.snapshot("s1")
>>> snap["queues"]["general"]["day"]["sl_pct"], snap["queues"]["general"]["waiting"]
(100.0, 0)
>>> floor.report()["total"]["answered"]
1
"""

from __future__ import annotations

import os
import sys
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union, cast

from stream.fold.calendar import INTERVAL_MS, iso_utc
from stream.contracts.floor_config import FloorConfig
from stream.contracts.decode import Rejection, decode_lines_raw, decode_payload
from stream.fold.delta import diff
from stream.contracts.events import Event, ts_to_ms
from stream.fold.report import build_report
from stream.fold.interface import AgentNow, AgentRow, SiteFold
from stream.fold.site import SLIDING_MIN, Limits, SiteCore, occupancy_pct, state_counts
from stream.fold.stats import QueueStats, merged

SNAPSHOT_SCHEMA = "floorwatch.snapshot"
SNAPSHOT_VERSION = 1

# Events that come as an iterator are folded in lists of this many (bounded memory).
_CHUNK = 65_536

try:  # the native core (stream/fold/native/, built by setup.py); the reference core when it is not built
    from stream.fold import _native
except ImportError:  # pragma: no cover - a machine without a C++ compiler
    _native = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from stream.fold._native import Batch as NativeBatch

# What the floor folds: decoded events in a list (the specification core) or a native batch.
Batch = Union[list, "NativeBatch"]


def native_available() -> bool:
    """Whether the native core is built here (``FLOORWATCH_CORE=python`` still turns it off per process)."""
    return _native is not None


SPEC_ONLY = (
    "floorwatch: the native core is not built here (no C++ compiler at install): folding with the Python "
    "specification, same figures, several times slower. Install a wheel built elsewhere: docs/native.md#wheel"
)
_said_spec_only = False


def _say_spec_only() -> None:
    """Say once per process that the specification folds because the native core is missing."""
    global _said_spec_only
    if not _said_spec_only:
        _said_spec_only = True
        print(SPEC_ONLY, file=sys.stderr, flush=True)


def _want_native(native: Optional[bool]) -> bool:
    if native is None:
        if _native is None:
            _say_spec_only()
            return False
        return os.environ.get("FLOORWATCH_CORE", "native") != "python"
    if native and _native is None:
        raise RuntimeError("the native core is not built here (no C++ compiler at install?)")
    return native


class Floor:
    """All sites of a floor. Feed it events; ask it for figures.

    Two cores fold the same events into the same figures: the native one
    (C++, ``stream/fold/native/``; the default where it is built) and the reference
    one in Python (``stream.fold.site``; ``native=False`` or ``FLOORWATCH_CORE=python``).
    Tests hold them equal (tests/fold/test_native_core.py).

    Events come as lists of decoded events, or as *batches*: what
    ``decode_lines``/``decode_payload`` return (a list for the reference
    core; a ``stream.fold._native.Batch`` for the native one, which decodes the
    bytes itself). Either has ``len`` and gives its i-th event by index.
    """

    def __init__(self, config: Optional[FloorConfig] = None, *, limits: Optional[Limits] = None, native: Optional[bool] = None) -> None:
        self.config = config if config is not None else FloorConfig()
        self.limits = limits if limits is not None else Limits(
            lateness_ms=self.config.lateness_s * 1000, max_ahead_ms=self.config.max_ahead_s * 1000
        )
        self.sites: dict[str, SiteFold] = {}  # name -> SiteCore, or NativeSite on the native core
        self._nf: Optional[_native.NativeFloor] = _native.NativeFloor(self) if _want_native(native) else None
        # Rejections before an event reached a site (undecodable input).
        self.rejected: dict[str, int] = {}
        self.dead: list[tuple[object, str]] = []
        self._published: dict[str, dict] = {}
        # The time the input being folded was logged at (a Kafka message's timestamp), or None.
        self.reference: Optional[int] = None
        self._seq: dict[str, int] = {}

    # -- input ----------------------------------------------------------------

    @property
    def native(self) -> bool:
        """Whether this floor folds with the native core."""
        return self._nf is not None

    def site(self, name: str) -> SiteFold:
        sc = self.sites.get(name)
        if sc is None:
            if self._nf is not None:
                sc = self.sites[name] = self._nf.new_site(name, self.config, self.limits)
            else:
                sc = self.sites[name] = SiteCore(name, self.config, self.limits)
            if self.reference is not None:
                sc.set_reference(self.reference)
        return sc

    def set_reference(self, ms: Optional[int]) -> None:
        """The time the input folded next was logged at (a Kafka message's timestamp; None: unknown).

        Events more than ``max_ahead_s`` past it are quarantined instead of moving
        their site's clock. Part of the log, so a rebuild judges them the same.
        """
        if ms == self.reference:
            return
        self.reference = ms
        for sc in self.sites.values():
            sc.set_reference(ms)

    def apply(self, ev) -> None:
        sc = self.sites.get(ev.site)
        if sc is None:
            sc = self.site(ev.site)
        sc.apply(ev)

    # -- batches ------------------------------------------------------------------

    def decode_lines(self, chunk: bytes) -> tuple[Batch, list[Rejection]]:
        """Decode JSON lines into a batch for this floor, and the lines rejected with their reasons."""
        if self._nf is not None:
            return self._nf.decode_lines(chunk)
        return decode_lines_raw(chunk)

    def decode_payload(self, payload: bytes) -> tuple[Batch, list[Rejection]]:
        """Decode a Kafka message value (one event or a JSON array) into a batch, and what was rejected."""
        if self._nf is not None:
            return self._nf.decode_payload(payload)
        return decode_payload(payload, norm=False)

    def as_batch(self, events: Iterable) -> Batch:
        """Decoded events as a batch of this floor (indexable; folded without converting again)."""
        if self._nf is not None:
            return self._native_batch(events)
        return events if isinstance(events, list) else list(events)

    def _native_batch(self, events: Iterable) -> "NativeBatch":
        assert self._nf is not None
        return events if isinstance(events, _native.Batch) else self._nf.batch(events)

    @staticmethod
    def batch_sites(batch: Batch) -> set[str]:
        """The sites of a batch's events."""
        if _native is not None and isinstance(batch, _native.Batch):
            return batch.sites()
        return {ev.site for ev in batch}

    def apply_many(self, evs: Iterable) -> None:
        if not isinstance(evs, list) and not (_native is not None and isinstance(evs, _native.Batch)):
            it = iter(evs)
            while chunk := list(islice(it, _CHUNK)):
                self.apply_many(chunk)
            return
        if self._nf is not None:
            self._nf.fold(self._native_batch(evs))
            return
        # Each run of one site's events goes to that site in one call, which
        # folds until the site changes (no list per run).
        events = cast("list[Event]", evs)
        i, n = 0, len(events)
        while i < n:
            i = self.site(events[i].site).fold_from(events, i, True)

    def fold_until(self, evs: list, start: int, next_ms: dict[str, int], period_ms: int) -> int:
        """Fold ``evs[start:]`` in order up to the first event stamped after its site's next boundary.

        ``next_ms``: site -> its next boundary (the alert driver's); a site
        seen for the first time gets the boundary after its first event.
        Returns the index of that first event (``len(evs)`` if none), unfolded:
        the driver evaluates its site first. Event times are normalised to
        epoch ms on the way.
        """
        if self._nf is not None:
            return self._nf.fold_until(self._native_batch(evs), start, next_ms, period_ms)
        i, n = start, len(evs)
        while i < n:
            ev = evs[i]
            name = ev.site
            nb = next_ms.get(name)
            if nb is None:
                t = ev.ts
                if not isinstance(t, int):
                    t = ev.ts = ts_to_ms(t)
                nb = next_ms[name] = (t // period_ms + 1) * period_ms
            j = self.site(name).fold_from(evs, i, True, nb)
            if j == i:
                return i
            i = j
        return n

    def reject(self, raw: object, reason: str) -> None:
        """Count input that never became an event (it is kept for the dead-letter topic)."""
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if len(self.dead) < self.limits.dead_letters:
            self.dead.append((raw, reason))

    def reject_count(self, reason: str, n: int) -> None:
        """Count ``n`` rejected input rows at once (an adapter's broken rows)."""
        if n:
            self.rejected[reason] = self.rejected.get(reason, 0) + n

    def tick(self, now_ms: int) -> None:
        """Advance every site's event-time clock (a live floor with no events)."""
        for sc in self.sites.values():
            sc.advance(now_ms)

    def flush(self) -> None:
        """End of input: seal everything finished (reports after a replay)."""
        for sc in self.sites.values():
            sc.flush()

    def drain_dead(self) -> list[tuple[object, str]]:
        """Rejected input since the last call, with reasons, for the dead-letter topic."""
        out = self.dead
        self.dead = []
        for sc in self.sites.values():
            if sc.dead:
                out.extend(sc.dead)
                sc.dead = []
        return out

    # -- figures ----------------------------------------------------------------

    def rejected_summary(self) -> dict:
        reasons = dict(self.rejected)
        for sc in self.sites.values():
            for r, n in sc.rejected.items():
                reasons[r] = reasons.get(r, 0) + n
        return {"count": sum(reasons.values()), "reasons": dict(sorted(reasons.items()))}

    def snapshot(self, site: str) -> dict:
        """The site's live figures as a versioned, plain-JSON structure."""
        return self._snapshot(site)[0]

    def _snapshot(self, site: str) -> tuple[dict, dict]:
        sc = self.sites.get(site) or self.site(site)
        cfg = sc.cfg
        now = sc.clock if sc.clock is not None else 0
        date = sc.cal.date_of(now)
        i_now = sc.cal.interval_start(now)
        today, cur_int, handled_today = sc.day_interval(date, i_now)
        sliding = sc.sliding(now)
        waiting = sc.waiting(now)
        occupancy: dict[str, int] = {}
        agents = sc.agent_rows(now, date, {date: handled_today}, occupancy)
        by_queue = _agents_by_queue(agents)

        # The snapshot is plain JSON (its schema: docs/redis.md), built here from the typed rows.
        queues: dict[str, dict[str, Any]] = {}
        for q in _queue_names(sc, by_queue, today):
            t_ms, _, variant = sc.qparams(q)
            qc = cfg.queues.get(q)
            w = waiting.get(q) or _NOBODY_WAITING
            queues[q] = {
                "name": _labels(qc.name if qc else None, q),
                "sl_t_s": t_ms // 1000,
                "sl_variant": variant,
                "sl_target_pct": qc.sl_target_pct if qc else None,
                **w,
                "agents": state_counts(by_queue.get(q, ())),
                "day": (today.get(q) or QueueStats(variant)).figures(),
                "interval": (cur_int.get(q) or QueueStats(variant)).figures(),
                "sliding": {
                    f"{m}m": (sliding[f"{m}m"].get(q) or QueueStats(variant)).figures() for m in SLIDING_MIN
                },
            }
        site_stats: dict[str, Any] = {
            "day": merged(list(today.values())),
            "interval": merged(list(cur_int.values())),
            "sliding": {f"{m}m": merged(list(sliding[f"{m}m"].values())) for m in SLIDING_MIN},
        }
        total = {
            "waiting": sum(v["waiting"] for v in queues.values()),
            "longest_wait_s": max((v["longest_wait_s"] for v in queues.values()), default=0.0),
            "vip_waiting": sum(v["vip_waiting"] for v in queues.values()),
            "longest_vip_wait_s": max((v["longest_vip_wait_s"] for v in queues.values()), default=0.0),
            "agents": state_counts(agents.values()),
            "day": site_stats["day"].figures(),
            "interval": site_stats["interval"].figures(),
            "sliding": {k: v.figures() for k, v in site_stats["sliding"].items()},
            "occupancy_pct": occupancy_pct(occupancy),
        }
        snap = {
            "schema": SNAPSHOT_SCHEMA,
            "version": SNAPSHOT_VERSION,
            "site": site,
            "name": _labels(cfg.name, site),
            "kind": cfg.kind,
            "region": cfg.region,
            "timezone": cfg.timezone,
            "clock": now,
            "clock_utc": iso_utc(now),
            "clock_local": sc.cal.local_iso(now),
            "date": date,
            "interval_start": i_now,
            "queues": queues,
            "total": total,
            "agents": {
                a: {k: r[k] for k in _AGENT_KEYS}  # type: ignore[literal-required]
                for a, r in sorted(agents.items())
                if r["state"] != "logged_out" or r["handled"]
            },
            "health": {
                "events": sc.events,
                "duplicates": sc.duplicates,
                "open_contacts": sc.open_count,
                "watermark": sc.watermark if sc.clock is not None else None,
                "rejected": {"count": sum(sc.rejected.values()), "reasons": dict(sorted(sc.rejected.items()))},
            },
        }
        if cfg.kind == "hall" or cfg.counters:
            snap["counters"] = _counters(cfg.counters, _staffed(agents))
        return snap, site_stats

    def changes(self, site: str) -> tuple[dict, list[dict]]:
        """The site's snapshot and what changed since the last call (RFC 6902 JSON Patch)."""
        snap = self.snapshot(site)
        prev = self._published.get(site)
        seq = self._seq.get(site, 0) + 1
        self._seq[site] = seq
        snap["seq"] = seq
        patch = diff(prev, snap) if prev is not None else [{"op": "replace", "path": "", "value": snap}]
        self._published[site] = snap
        return snap, patch

    def overview(self) -> dict:
        """All sites at once: each site's totals and the rollups per region and floor."""
        sites = {}
        regions: dict[str, list] = {}
        everything = []
        for name in sorted(self.sites):
            snap, stats = self._snapshot(name)
            t = snap["total"]
            sites[name] = {"name": snap["name"], "kind": snap["kind"], "region": snap["region"], "date": snap["date"], **t}
            regions.setdefault(snap["region"], []).append((t, stats))
            everything.append((t, stats))
        return {
            "schema": SNAPSHOT_SCHEMA + ".overview",
            "version": SNAPSHOT_VERSION,
            "sites": sites,
            "regions": {r: _rollup(parts) for r, parts in sorted(regions.items())},
            "total": _rollup(everything),
        }

    def interval_rows(self, site: str, date: Optional[str] = None) -> list[dict]:
        """The day's 15-minute rows per queue (for reports), sealed plus open contacts."""
        sc = self.sites.get(site) or self.site(site)
        now = sc.clock if sc.clock is not None else 0
        date = date or sc.cal.date_of(now)
        _, intervals, _ = sc.totals({date})
        b0, b1 = sc.cal.bounds_of_date(date)
        rows = []
        for start in sorted(i for i in intervals if b0 <= i < b1):
            for q, st in sorted(intervals[start].items()):
                rows.append(
                    {"site": site, "date": date, "start": start, "start_local": sc.cal.local_iso(start), "end": start + INTERVAL_MS, "queue": q, **st.figures()}
                )
        return rows

    def report(self) -> dict:
        """The replay report: per local day, per queue and in total (see README)."""
        return build_report({name: sc.totals()[0] for name, sc in self.sites.items()}, self.rejected_summary())

    def day_sums(self, site: str) -> dict[str, dict[str, QueueStats]]:
        """The site's per-date, per-queue day totals (sealed plus open), for the Redis report."""
        sc = self.sites.get(site) or self.site(site)
        return sc.totals()[0]


_AGENT_KEYS = ("label", "state", "reason", "since", "time_in_state_s", "queues", "counter", "handled", "aht_s", "occupancy_pct")


def _agents_by_queue(rows: Mapping[str, Union[AgentNow, AgentRow]]) -> dict[str, list[Union[AgentNow, AgentRow]]]:
    """Each queue's agent rows (an agent with several skills is in each), in the rows' order."""
    by_queue: dict[str, list[Union[AgentNow, AgentRow]]] = {}
    for r in rows.values():
        for q in dict.fromkeys(r["queues"]):
            by_queue.setdefault(q, []).append(r)
    return by_queue


_NOBODY_WAITING = {"waiting": 0, "longest_wait_s": 0.0, "vip_waiting": 0, "longest_vip_wait_s": 0.0}


def _queue_names(sc: SiteFold, skills: Iterable[str], today: Iterable[str] = ()) -> list[str]:
    """The configured queues in config order, then every other queue seen (in contacts,
    today's totals or agents' skills), by name."""
    configured = list(sc.cfg.queues)
    return configured + sorted((sc.queues_seen | set(today) | set(skills)) - set(configured))


def _labels(labels, fallback: str) -> dict:
    if labels is None:
        return {"en": fallback, "zh": fallback}
    return {"en": labels.en, "zh": labels.zh or labels.en}


def _staffed(agents: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each counter staffed by a logged-in agent of ``agents``, and its state (the later agent wins)."""
    staffed = {}
    for r in agents.values():
        if r["counter"] and r["state"] != "logged_out":
            staffed[r["counter"]] = r["state"]
    return staffed


def _counters(configured: list[str], staffed: Mapping[str, str]) -> dict:
    """A hall's counters: configured, open, and each one's agent state (``staffed``: counter -> state)."""
    names = list(configured) + sorted(set(staffed) - set(configured))
    rows = {c: {"agent_state": staffed.get(c), "open": staffed.get(c) not in (None, "not_ready")} for c in names}
    return {
        "configured": len(configured),
        "open": sum(1 for r in rows.values() if r["open"]),
        "by_counter": rows,
    }


def _rollup(parts: list[tuple[dict, dict]]) -> dict:
    """Roll up sites: counts add, longest waits take the max, figures come from merged stats."""
    totals = [t for t, _ in parts]
    out = {
        "waiting": sum(t["waiting"] for t in totals),
        "longest_wait_s": max((t["longest_wait_s"] for t in totals), default=0.0),
        "vip_waiting": sum(t["vip_waiting"] for t in totals),
        "longest_vip_wait_s": max((t["longest_vip_wait_s"] for t in totals), default=0.0),
    }
    agents: dict[str, Any] = {"ready": 0, "busy": 0, "wrap_up": 0, "not_ready": 0, "logged_in": 0, "not_ready_reasons": {}}
    for t in totals:
        for k in ("ready", "busy", "wrap_up", "not_ready", "logged_in"):
            agents[k] += t["agents"][k]
        for r, n in t["agents"]["not_ready_reasons"].items():
            agents["not_ready_reasons"][r] = agents["not_ready_reasons"].get(r, 0) + n
    out["agents"] = agents
    out["day"] = merged([st["day"] for _, st in parts]).figures()
    out["interval"] = merged([st["interval"] for _, st in parts]).figures()
    out["sliding"] = {f"{m}m": merged([st["sliding"][f"{m}m"] for _, st in parts]).figures() for m in SLIDING_MIN}
    return out
