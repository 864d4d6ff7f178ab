"""AlertEngine: a pure fold of site snapshots into alert changes.

``engine.evaluate(site, now_ms, snapshot)`` checks every rule of every queue
and agent of the site against the snapshot taken at event time ``now_ms`` and
returns what changed (agents under the lowest level their state and
not-ready reason have at the site, and holding no condition, are skipped
unread: nothing can change for them): alerts **raised**, **repeated** (still
raised, not acknowledged, ``repeat_s`` after the last notice) and
**resolved**. At 5-minute boundaries (``now_ms`` a multiple of 5 min) it
also feeds the online detectors of each queue (arrivals and handle time of
the last 5 minutes; every 15 minutes the abandons of the last 15 with the
seconds their contacts waited) and alerts on their scores.
``engine.ack(alert_id, by, at_ms)`` acknowledges a raised alert (no more
repeats; it still resolves by itself).

No I/O, no wall clock: the same snapshots at the same times give the same
changes. The state is plain JSON (``to_dict`` / ``from_dict``) so a restarted
worker resumes where it stopped. :mod:`stream.alerts.driver` takes the
snapshots at the right moments.

A change is a plain dict (the format is documented in docs/alerts.md)::

    {"id": "gd-hotline/vip/longest_wait@1795395630000",
     "dedup_key": "gd-hotline/vip/longest_wait@1795395630000#raised",
     "key": "gd-hotline/vip/longest_wait", "change": "raised", "state": "raised",
     "kind": "rule", "rule": "longest_wait", "site": "gd-hotline", "queue": "vip", "agent": null,
     "severity": "major", "value": 760.0, "threshold": 600.0, "clear": 300.0,
     "expected": null, "score": null, "usual_for": null, "onset_ms": null,
     "since_ms": 1795395450000, "raised_ms": 1795395630000, "at_ms": 1795395630000,
     "acked_by": null, "acked_ms": null,
     "message": {"zh-CN": "...", "en": "..."}}
"""

from __future__ import annotations

from typing import Any, Optional

from stream.alerts.config import DETECTORS, LOWER_IS_WORSE, AlertsConfig, Detector, Rule, load_alerts
from stream.alerts.detectors import DriftCusum, PatienceDrop, SeasonalCusum
from stream.alerts.hysteresis import beyond, step
from stream.alerts.messages import local_time, message, pool_name
from stream.alerts.rules import AGENT_RULES, QUEUE_RULES, RULE_CODES, UNDERSTAFFED, AgentFloors, agent_floors, agent_threshold, agents_past, rule_value

__all__ = ["AlertEngine", "BUCKET_MS", "ABANDON_BUCKET_MS", "new_detector"]

BUCKET_MS = 5 * 60_000
ABANDON_BUCKET_MS = 15 * 60_000
STATE_VERSION = 1
# Buckets too small to say anything about a queue's handle time or abandon
# rate are not fed to the detectors (a quiet queue's one long call is not a drift).
MIN_HANDLED = 5
MIN_OFFERED = 10
# rule -> the queue snapshot's field holding its target (metrics.md): SL's goal, the SL time for waits.
_TARGET_OF = {"service_level": "sl_target_pct", "longest_wait": "sl_t_s", "vip_wait": "sl_t_s"}


def new_detector(name: str, tz: str, warmup: int):
    """A queue's fresh detector ``name`` in the site's zone (``bench surge`` runs the same).

    Handle times and abandons against their hour of the day (a rush hour's
    level is not a drift; an hour's slot sees twice the calls of a half
    hour's, and its usual is the steadier for it); handle times drifting up
    by half, the alert level at 5 nats of evidence, a bucket adding at most
    half of it (a drift is no one bucket's long calls);
    abandons the waits do not explain (``PatienceDrop``: the usual hazard
    times the seconds waited is what long waits cost; the alternative is the
    abandon-rate spike's, 20 more per 100 contacts), the evidence forgetting
    a fifth a bucket (a spike worth a page lasts half an hour, not a day).
    docs/alerts.md has the figures.
    """
    if name == "arrival_surge":
        return SeasonalCusum(kind="count", tz=tz, warmup=warmup)
    if name == "aht_drift":
        return DriftCusum(warmup=warmup, tz=tz, rel_shift=0.5, slot_s=3600, sides="up", gain=7 / 5, cap=12.0, max_step=2.5)
    return PatienceDrop(warmup=warmup, tz=tz, ratio=1.0, floor=0.2, memory=0.8, slot_s=3600, cap=14.0)


_DET_CLASSES: dict[str, Any] = {"arrival_surge": SeasonalCusum, "aht_drift": DriftCusum, "abandon_spike": PatienceDrop}


def restore_detectors(states: dict) -> dict[str, Any]:
    """A queue's detectors from their saved states, by name. A state of another model than the
    name's now (a checkpoint from before ``abandon_spike`` became ``PatienceDrop``: an abandon rate,
    no waits) is left out: that detector learns afresh rather than from figures it cannot read."""
    out = {}
    for n, d in states.items():
        cls = _DET_CLASSES[n]
        if getattr(cls, "MODEL", None) == d.get("model"):
            out[n] = cls.from_dict(d)
    return out


class _QueueRule:
    """One enabled rule of one queue, resolved from the config once: what evaluate reads of it every time."""

    def __init__(self, site: str, queue: str, rule: str, rc: Rule) -> None:
        self.rule = rule
        self.code = RULE_CODES[rule]
        self.rc = rc
        self.key = f"{site}/{queue}/{rule}"
        self.lower = rule in LOWER_IS_WORSE
        self.raise_: float = rc.raise_
        self.clear: float = rc.clear
        self.for_s: int = rc.for_s
        self.repeat_s: int = rc.repeat_s
        self.min_n: int = max(rc.min_offered, 1)
        # What the config alone says of its condition (never changed: _step copies it).
        self.labels = {"kind": "rule", "rule": rule, "site": site, "queue": queue, "agent": None, "severity": rc.severity}


class _QueueDetector:
    """One enabled detector of one queue, resolved from the config once."""

    def __init__(self, site: str, queue: str, name: str, dc: Detector) -> None:
        self.name = name
        self.dc = dc
        self.key = f"{site}/{queue}/{name}"
        self.raise_: float = dc.raise_
        self.labels = {"kind": "anomaly", "rule": name, "site": site, "queue": queue, "agent": None, "severity": dc.severity}


class AlertEngine:
    """Rules + detectors for any number of sites; see the module docstring."""

    def __init__(self, config: Optional[AlertsConfig] = None) -> None:
        self.config = config if config is not None else load_alerts()
        # key -> state of an alert condition (pending or raised), with its labels.
        self.active: dict[str, dict] = {}
        # "site/queue" -> detector name -> detector
        self.detectors: dict[str, dict[str, Any]] = {}
        # site -> the last 5-minute boundary its detectors learnt (a resumed
        # checkpoint's boundaries are not learnt twice).
        self.learnt: dict[str, int] = {}
        # Resolved from the config once: per site, per queue its enabled rules and
        # detectors; per site the lowest agent levels (by watched state and reason).
        self._plans: dict[str, dict[str, list[_QueueRule]]] = {}
        self._det_plans: dict[str, dict[str, list[_QueueDetector]]] = {}
        self._agent_floors: dict[str, AgentFloors] = {}
        # (site, queue, agent rule, not-ready reason) -> (settings, raise level)
        self._agent_levels: dict[tuple, tuple[Rule, float]] = {}

    # -- the fold ---------------------------------------------------------------

    def evaluate(self, site: str, now_ms: int, snapshot: dict) -> list[dict]:
        """Changes of ``site``'s alerts at event time ``now_ms`` given its snapshot then."""
        cfg = self.config
        active = self.active
        out: list[dict] = []
        # The conditions stepped now: every held one whose subject is in the
        # snapshot is (a quiet one skipped is not held, and stays so).
        seen: set[str] = set()
        hall = snapshot.get("kind") == "hall"
        queues: dict = snapshot.get("queues", {})
        plans = self._plans.get(site)
        if plans is None:
            plans = self._plans[site] = {}
        for q in queues:
            qd: dict = queues[q]
            name = qd["name"]
            plan = plans.get(q)
            if plan is None:
                plan = plans[q] = self._queue_rules(site, q)
            for r in plan:
                if r.code == UNDERSTAFFED:
                    self._understaffed(out, seen, site, r, now_ms, snapshot, qd, name, queues, hall)
                    continue
                key = r.key
                v = rule_value(r.code, snapshot, qd, r.min_n)
                if key not in active and not beyond(v, r.raise_, r.lower):
                    continue  # quiet and staying so (what step() says): no labels to build
                seen.add(key)
                # The queue's own goal, so the message names it beside the raise level.
                tk = _TARGET_OF.get(r.rule)
                extra: Optional[dict] = {"target": qd.get(tk)} if tk else None
                self._step(out, key, v, now_ms, raise_at=r.raise_, clear_at=r.clear, for_s=r.for_s, repeat_s=r.repeat_s,
                           lower=r.lower, labels=r.labels, name=name, hall=hall, extra=extra)
        # Only agents past their lowest level (by state and not-ready reason, over
        # the site's queues), or with a condition already, can change anything:
        # the rest are skipped unread.
        floors, held = self.agent_filter(site)
        levels = self._agent_levels
        agents: dict = snapshot.get("agents", {})
        for agent in agents_past(agents, floors, held):
            row = agents[agent]
            rule = AGENT_RULES.get(row["state"])
            if rule is None:
                continue
            qs = row.get("queues") or []
            q = qs[0] if qs else None
            secs = float(row["time_in_state_s"])
            reason = row.get("reason")
            lv = levels.get((site, q, rule, reason))
            if lv is None:
                rc = cfg.rule(site, q, rule)
                lv = levels[(site, q, rule, reason)] = (rc, agent_threshold(rc, reason))
            rc, raise_at = lv
            if not rc.enabled:
                continue
            if agent not in held and not beyond(secs, raise_at, False):
                continue  # under its level and no condition to carry on (what step() says): nothing to do
            key = f"{site}/{q or '-'}/{rule}/{agent}"
            if key not in active and not beyond(secs, raise_at, False):
                continue
            seen.add(key)
            name = queues[q]["name"] if q in queues else {"en": q or "-", "zh": q or "-"}
            label = row.get("label") or agent
            self._step(out, key, secs, now_ms, raise_at=raise_at, clear_at=rc.clear, for_s=rc.for_s,
                       repeat_s=rc.repeat_s, lower=False,
                       labels={"kind": "rule", "rule": rule, "site": site, "queue": q, "agent": agent, "severity": rc.severity},
                       name=name, hall=hall, extra={"label": label, "reason": reason})
        if now_ms % BUCKET_MS == 0:
            if now_ms <= self.learnt.get(site, -1):
                # Learnt already (a checkpoint resumed past this boundary): the
                # detectors and the conditions they hold stay as they are.
                seen.update(k for k, st in active.items() if st["kind"] == "anomaly" and st["site"] == site)
            else:
                self._detect(out, site, now_ms, snapshot, seen)
                self.learnt[site] = now_ms
        # Conditions whose subject left the snapshot (an agent who changed state
        # or logged out, a queue gone): unknown now, so clear.
        prefix = f"{site}/"
        for key in sorted(k for k in self.active if k.startswith(prefix) and k not in seen):
            st = self.active[key]
            if st["kind"] == "anomaly" and now_ms % BUCKET_MS != 0:
                continue
            # An unknown value always clears (and ends the condition): no labels to give.
            self._step(out, key, None, now_ms, raise_at=0, clear_at=0, for_s=0, repeat_s=0, lower=False, labels=None)
        return out

    def agent_filter(self, site: str) -> tuple[AgentFloors, set[str]]:
        """What decides which agents of ``site`` an evaluation now reads: the lowest levels by
        state and reason, and the agents with a condition held. Any other agent is skipped
        unread (``agents_past``), so a snapshot may leave it out (the native view does)."""
        floors = self._agent_floors.get(site)
        if floors is None:
            floors = self._agent_floors[site] = agent_floors(self.config, site)
        held: set[str] = {st["agent"] for st in self.active.values() if st.get("agent") is not None and st.get("site") == site}
        return floors, held

    def _queue_rules(self, site: str, queue: str) -> list[_QueueRule]:
        """The queue's enabled rules, in QUEUE_RULES order."""
        return [_QueueRule(site, queue, rule, rc) for rule in QUEUE_RULES if (rc := self.config.rule(site, queue, rule)).enabled]

    def _queue_detectors(self, site: str, queue: str) -> list[_QueueDetector]:
        """The queue's enabled detectors, in DETECTORS order."""
        return [_QueueDetector(site, queue, name, dc) for name in DETECTORS if (dc := self.config.detector(site, queue, name)).enabled]

    def _detect(self, out: list, site: str, now_ms: int, snapshot: dict, seen: set) -> None:
        tz = snapshot.get("timezone") or "UTC"
        t = (now_ms - BUCKET_MS) / 1000.0  # the bucket that just closed, by its start
        active = self.active
        plans = self._det_plans.get(site)
        if plans is None:
            plans = self._det_plans[site] = {}
        queues: dict = snapshot.get("queues", {})
        for q, qd in queues.items():
            sl5, sl15 = qd["sliding"]["5m"], qd["sliding"]["15m"]
            inputs = {"arrival_surge": {"t": t, "y": sl5["offered"]}}
            if sl5["handled"] >= MIN_HANDLED and sl5["aht_s"] is not None:
                inputs["aht_drift"] = {"t": t, "y": sl5["aht_s"], "n": sl5["handled"]}
            # Every abandon, short ones too: a fault dropping calls at once is what short abandons show.
            waited = sl15.get("waited_s")  # absent from a snapshot that is not the alert view's: no input
            if now_ms % ABANDON_BUCKET_MS == 0 and sl15["offered"] >= MIN_OFFERED and waited is not None:
                inputs["abandon_spike"] = {"t": (now_ms - ABANDON_BUCKET_MS) / 1000.0, "k": sl15["abandoned"], "n": sl15["offered"], "e": waited}
            dets = self.detectors.setdefault(f"{site}/{q}", {})
            plan = plans.get(q)
            if plan is None:
                plan = plans[q] = self._queue_detectors(site, q)
            for d in plan:
                name, key = d.name, d.key
                x = inputs.get(name)
                if x is None:
                    if key in active:
                        seen.add(key)  # no new bucket for this detector: its alert holds as it is
                    continue
                det = dets.get(name)
                if det is None:
                    dc = d.dc
                    det = dets[name] = new_detector(name, tz, dc.warmup_buckets)
                e = det.explain_learn_one(x)  # explain_one, then learn_one
                score = e["score"]
                if key not in active and not beyond(score, d.raise_, False):
                    continue  # quiet and staying so (what step() says): no labels to build
                seen.add(key)
                dc = d.dc
                self._step(out, key, score, now_ms, raise_at=d.raise_, clear_at=dc.clear, for_s=0, repeat_s=dc.repeat_s,
                           lower=False, labels=d.labels, name=qd["name"], hall=snapshot.get("kind") == "hall",
                           extra={"observed": e["observed"], "expected": e["expected"], "score": score, "slot": e.get("slot"),
                                  "onset_ms": (om := e.get("onset_ms")), "onset": None if om is None else local_time(om, tz, now_ms)})

    def _understaffed(self, out: list, seen: set, site: str, r: _QueueRule, now_ms: int, snapshot: dict, qd: dict,
                      name: Any, queues: dict, hall: bool) -> None:
        """Step a queue's ``understaffed`` rule (apart from the loop above, which every other rule keeps lean).

        A pooled queue's advice is its pool's: one alert for the pool, keyed and named by it (raised from its
        first member in the snapshot, with that member's rule settings)."""
        adv = qd.get("advice") or {}
        pool = adv.get("pool")
        key = r.key
        labels: Any = r.labels
        if pool is not None:
            key = f"{site}/{pool}/understaffed"
            if key in seen:
                return
        v = rule_value(r.code, snapshot, qd, r.min_n)
        if key not in self.active and not beyond(v, r.raise_, r.lower):
            return  # quiet and staying so
        seen.add(key)
        if pool is not None:
            labels = {**r.labels, "queue": pool, "queues": list(adv.get("queues") or [])}
            name = pool_name(pool, labels["queues"], queues)
        self._step(out, key, v, now_ms, raise_at=r.raise_, clear_at=r.clear, for_s=r.for_s, repeat_s=r.repeat_s,
                   lower=r.lower, labels=labels, name=name, hall=hall, extra={"target": adv.get("need_now")})  # agents needed now

    def _step(self, out: list, key: str, value, now: int, *, raise_at, clear_at, for_s, repeat_s, lower,
              labels: Optional[dict], name: Any = None, hall: bool = False, extra: Optional[dict] = None) -> None:
        """Step the condition ``key`` with the value now; its state keeps ``labels``, ``name``,
        ``hall`` and ``extra`` (in this order), the value and the levels."""
        old = self.active.get(key)
        st, ev = step(old, value, raise_at=raise_at, clear_at=clear_at, for_s=for_s, repeat_s=repeat_s, lower_is_worse=lower, now=now)
        if st is None:
            self.active.pop(key, None)
        else:
            # step() gives back the state itself (nothing happened) or a new dict of
            # its own: either way this condition's alone (records and to_dict copy
            # it), so it is brought up to date in place, every evaluation of a held
            # condition. Same keys in the same order as a copy with them would have.
            if labels is not None:
                st.update(labels)
                st["name"] = name
                st["hall"] = hall
            if extra is not None:
                st.update(extra)
            st["value"] = value
            st["threshold"] = raise_at
            st["clear"] = clear_at
            if ev == "repeated":
                st["repeats"] = st.get("repeats", 0) + 1
            if st is not old:
                self.active[key] = st
        if ev is not None:
            # Resolved (st None) only ever follows a state: old is set then.
            rec = st if st is not None else {**(old or {}), **{k: v for k, v in (extra or {}).items() if k in ("observed", "expected", "score", "slot")}, "value": value}
            out.append(self._record(key, rec, ev, now))

    def _record(self, key: str, st: dict, change: str, now: int) -> dict:
        rule = st["rule"]
        anomaly = st["kind"] == "anomaly"
        value = st.get("observed") if anomaly else st["value"]
        aid = f"{key}@{st['raised_ms']}"
        suffix = f"repeated-{st.get('repeats', 0)}" if change == "repeated" else change
        if change == "resolved":
            state = "resolved"
        elif st.get("acked_by") is not None:
            state = "acknowledged"
        else:
            state = "raised"
        held = now - st["since_ms"] if change != "resolved" else now - st["raised_ms"]
        msg = message(rule, change, st["name"], value, st["threshold"], held, hall=st.get("hall", False),
                      agent=st.get("label"), reason=st.get("reason"), expected=st.get("expected"), score=st.get("score") or 0.0,
                      slot=st.get("slot") if anomaly else None, target=st.get("target"), since=st.get("onset") if anomaly else None)
        rec = {
            "id": aid,
            "dedup_key": f"{aid}#{suffix}",
            "key": key,
            "change": change,
            "state": state,
            "kind": st["kind"],
            "rule": rule,
            "site": st["site"],
            "queue": st["queue"],
            "agent": st.get("agent"),
            "severity": st["severity"],
            "value": value,
            "threshold": st["threshold"],
            "target": st.get("target"),
            "clear": st["clear"],
            "expected": st.get("expected") if anomaly else None,
            "score": st.get("score") if anomaly else None,
            "usual_for": st.get("slot") if anomaly else None,
            "onset_ms": st.get("onset_ms") if anomaly else None,
            "since_ms": st["since_ms"],
            "raised_ms": st["raised_ms"],
            "at_ms": now,
            "acked_by": st.get("acked_by"),
            "acked_ms": st.get("acked_ms"),
            "message": msg,
        }
        if st.get("queues"):
            rec["queues"] = list(st["queues"])  # a pool's alert: its queues (``queue`` is the pool's name)
        return rec

    # -- people -----------------------------------------------------------------

    def ack(self, alert_id: str, by: str, at_ms: int) -> Optional[dict]:
        """Acknowledge a raised alert: no more repeats. Returns the change, or None if it is not raised
        (unknown, already resolved, or already acknowledged)."""
        key, _, raised = alert_id.rpartition("@")
        st = self.active.get(key)
        if st is None or st["phase"] != "raised" or str(st["raised_ms"]) != raised or st.get("acked_by") is not None:
            return None
        st = self.active[key] = {**st, "acked_by": by, "acked_ms": at_ms}
        return self._record(key, st, "acknowledged", at_ms)

    def alerts(self, site: Optional[str] = None) -> list[dict]:
        """The alerts raised now (acknowledged or not), as records with change ``"current"``."""
        out = []
        for key in sorted(self.active):
            st = self.active[key]
            if st["phase"] == "raised" and (site is None or st["site"] == site):
                out.append(self._record(key, st, "current", st["notified_ms"]))
        return out

    # -- state ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The engine's whole state as plain JSON (the config is not included)."""
        return {
            "version": STATE_VERSION,
            "active": {k: dict(v) for k, v in sorted(self.active.items())},
            "detectors": {k: {n: d.to_dict() for n, d in sorted(v.items())} for k, v in sorted(self.detectors.items())},
            "learnt": dict(sorted(self.learnt.items())),
        }

    def checkpoint(self) -> dict:
        """What the detectors have learnt, as JSON: their states, the last boundary each site's
        detectors learnt, and the anomaly conditions held then. ``resume`` gives it to a new
        engine, so a partition rebuilt from a log whose start is gone (Kafka's retention) keeps
        its learnt profiles instead of starting from nothing."""
        d = self.to_dict()
        return {"version": STATE_VERSION, "detectors": d["detectors"], "learnt": d["learnt"],
                "anomalies": {k: v for k, v in d["active"].items() if v["kind"] == "anomaly"}}

    def resume(self, ckpt: dict) -> None:
        """Take a ``checkpoint``'s detectors, before any evaluation: boundaries up to the ones it
        had learnt are then evaluated without the detectors (nothing is learnt twice, its
        anomaly conditions hold), later ones go on exactly as the checkpointed engine would."""
        if ckpt.get("version") != STATE_VERSION:
            raise ValueError(f"detector checkpoint version {ckpt.get('version')!r}, expected {STATE_VERSION}")
        for k, v in ckpt["detectors"].items():
            self.detectors[k] = restore_detectors(v)
        for site, t in ckpt["learnt"].items():
            self.learnt[site] = max(self.learnt.get(site, -1), int(t))
        for k, st in ckpt["anomalies"].items():
            self.active.setdefault(k, dict(st))

    @classmethod
    def from_dict(cls, data: dict, config: Optional[AlertsConfig] = None) -> "AlertEngine":
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"alert engine state version {data.get('version')!r}, expected {STATE_VERSION}")
        eng = cls(config)
        eng.active = {k: dict(v) for k, v in data["active"].items()}
        eng.detectors = {k: restore_detectors(v) for k, v in data["detectors"].items()}
        eng.learnt = {k: int(v) for k, v in data.get("learnt", {}).items()}
        return eng
