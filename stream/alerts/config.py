"""Alert configuration (``config/alerts.yaml``): rules and detectors per site and queue.

Three levels, each overriding the one above field by field: built-in defaults,
the file's ``defaults``, ``sites.<site>`` and ``sites.<site>.queues.<queue>``.
Loading validates every field; an error names the file and the field, in the
style of :mod:`stream.contracts.floor_config`::

    config/alerts.yaml: Expected `float` >= 0, got -5 - at `$.sites.gd-hotline.queues.vip.rules.longest_wait.raise`

>>> cfg = AlertsConfig.from_dict({"sites": {"s": {"queues": {"q": {"rules": {"longest_wait": {"raise": 60}}}}}}})
>>> r = cfg.rule("s", "q", "longest_wait")
>>> (r.raise_, r.clear, r.severity)   # clear keeps the defaults' ratio 180/300
(60.0, 36.0, 'major')
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import msgspec
from msgspec import Meta, Struct, field

from stream.contracts.floor_config import ConfigError, read_yaml

__all__ = ["AlertsConfig", "Rule", "Detector", "load_alerts", "DEFAULT_ALERTS", "RULES", "DETECTORS", "LOWER_IS_WORSE"]

DEFAULT_ALERTS = Path(__file__).resolve().parents[2] / "config" / "alerts.yaml"

# Threshold rules, evaluated on every snapshot, and the online detectors.
RULES = ("longest_wait", "service_level", "abandon_rate", "no_agent_ready", "vip_wait", "agent_not_ready", "agent_wrap_up",
         "understaffed")
DETECTORS = ("arrival_surge", "aht_drift", "abandon_spike")
# A service level is bad when low: its raise level is below its clear level.
LOWER_IS_WORSE = frozenset({"service_level"})

Severity = Literal["info", "minor", "major", "critical"]
NonNeg = Annotated[float, Meta(ge=0)]
Secs = Annotated[int, Meta(ge=0, le=7 * 86_400)]
Score = Annotated[float, Meta(ge=0, le=1)]


class RulePatch(Struct, forbid_unknown_fields=True, kw_only=True, rename={"raise_": "raise"}):
    """One level's settings for a rule; unset fields come from the level above."""

    raise_: Optional[NonNeg] = None
    clear: Optional[NonNeg] = None
    for_s: Optional[Secs] = None
    severity: Optional[Severity] = None
    repeat_s: Optional[Secs] = None
    enabled: Optional[bool] = None
    # service_level / abandon_rate: fewer contacts offered in the window -> no verdict.
    min_offered: Optional[Annotated[int, Meta(ge=0)]] = None
    # agent_not_ready: raise level per not-ready reason (seconds).
    by_reason: Optional[dict[str, NonNeg]] = None


class DetectorPatch(Struct, forbid_unknown_fields=True, kw_only=True, rename={"raise_": "raise"}):
    raise_: Optional[Score] = None
    clear: Optional[Score] = None
    severity: Optional[Severity] = None
    repeat_s: Optional[Secs] = None
    enabled: Optional[bool] = None
    # Buckets a queue's detector must have learnt before it may alert.
    warmup_buckets: Optional[Annotated[int, Meta(ge=0)]] = None


class Rule(Struct, frozen=True, kw_only=True):
    """A rule's resolved settings for one site and queue."""

    raise_: float
    clear: float
    for_s: int = 0
    severity: str = "major"
    repeat_s: int = 0
    enabled: bool = True
    min_offered: int = 0
    by_reason: dict = field(default_factory=dict)


class Detector(Struct, frozen=True, kw_only=True):
    """A detector's resolved alerting settings for one site and queue."""

    raise_: float = 0.875
    clear: float = 0.75
    severity: str = "minor"
    repeat_s: int = 1800
    enabled: bool = True
    warmup_buckets: int = 288


BUILTIN_RULES: dict[str, dict] = {
    "longest_wait": {"raise_": 300, "clear": 180, "for_s": 60, "severity": "major", "repeat_s": 900},
    "service_level": {"raise_": 60, "clear": 70, "for_s": 300, "severity": "minor", "repeat_s": 1800, "min_offered": 20},
    "abandon_rate": {"raise_": 15, "clear": 10, "for_s": 300, "severity": "minor", "repeat_s": 1800, "min_offered": 20},
    "no_agent_ready": {"raise_": 1, "clear": 0, "for_s": 300, "severity": "major", "repeat_s": 900},
    "vip_wait": {"raise_": 120, "clear": 60, "for_s": 0, "severity": "major", "repeat_s": 600},
    "agent_not_ready": {"raise_": 1500, "clear": 0, "severity": "info", "repeat_s": 0},
    "agent_wrap_up": {"raise_": 600, "clear": 0, "severity": "info", "repeat_s": 0},
    "understaffed": {"raise_": 2, "clear": 0, "for_s": 900, "severity": "minor", "repeat_s": 0},
}
BUILTIN_DETECTORS: dict[str, dict] = {
    "arrival_surge": {"severity": "major", "warmup_buckets": 864},
    "aht_drift": {"severity": "minor", "repeat_s": 3600, "warmup_buckets": 288},
    "abandon_spike": {"severity": "minor", "warmup_buckets": 96},
}


class Level(Struct, forbid_unknown_fields=True, kw_only=True):
    rules: dict[str, RulePatch] = field(default_factory=dict)
    anomaly: dict[str, DetectorPatch] = field(default_factory=dict)


class SiteLevel(Level, forbid_unknown_fields=True, kw_only=True):
    queues: dict[str, Level] = field(default_factory=dict)


def _patch(base: dict, patch: Struct) -> dict:
    out = dict(base)
    for k in patch.__struct_fields__:
        v = getattr(patch, k)
        if v is not None:
            out[k] = v
    return out


class AlertsConfig:
    """Validated alert settings; ``rule(site, queue, name)`` resolves the three levels."""

    def __init__(self, defaults: Level, sites: dict[str, SiteLevel]) -> None:
        self.defaults = defaults
        self.sites = sites
        self._cache: dict[tuple, Any] = {}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<alerts>") -> "AlertsConfig":
        """Validate ``data``; a failure names ``source`` and the exact field."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a mapping")
        unknown = set(data) - {"defaults", "sites"}
        if unknown:
            raise ConfigError(f"{source}: Object contains unknown field `{sorted(unknown)[0]}` - at `$`")
        defaults = _level(data.get("defaults") or {}, Level, source, "$.defaults")
        sites_raw = data.get("sites") or {}
        if not isinstance(sites_raw, dict):
            raise ConfigError(f"{source}: Expected `object` - at `$.sites`")
        sites = {}
        for sname, sraw in sites_raw.items():
            spath = f"$.sites.{sname}"
            sraw = sraw or {}
            if not isinstance(sraw, dict):
                raise ConfigError(f"{source}: Expected `object` - at `{spath}`")
            queues_raw = sraw.get("queues") or {}
            if not isinstance(queues_raw, dict):
                raise ConfigError(f"{source}: Expected `object` - at `{spath}.queues`")
            queues = {q: _level(qraw or {}, Level, source, f"{spath}.queues.{q}") for q, qraw in queues_raw.items()}
            site = _level({k: v for k, v in sraw.items() if k != "queues"}, Level, source, spath)
            sites[str(sname)] = SiteLevel(rules=site.rules, anomaly=site.anomaly, queues=queues)
        cfg = cls(defaults, sites)
        cfg._check(source)
        return cfg

    def _check(self, source: str) -> None:
        """Each resolved rule must have its clear level on the good side of its raise level."""
        places = [("$.defaults", None, None)]
        for s, sl in self.sites.items():
            places.append((f"$.sites.{s}", s, None))
            places += [(f"$.sites.{s}.queues.{q}", s, q) for q in sl.queues]
        for path, s, q in places:
            for name in RULES:
                r = self.rule(s, q, name)
                bad = r.clear < r.raise_ if name in LOWER_IS_WORSE else r.clear > r.raise_
                if bad:
                    side = "at or above" if name in LOWER_IS_WORSE else "at or below"
                    raise ConfigError(f"{source}: clear ({r.clear:g}) must be {side} raise ({r.raise_:g}) - at `{path}.rules.{name}`")
            for name in DETECTORS:
                d = self.detector(s, q, name)
                if d.clear > d.raise_:
                    raise ConfigError(f"{source}: clear ({d.clear:g}) must be at or below raise ({d.raise_:g}) - at `{path}.anomaly.{name}`")

    def _levels(self, site: Optional[str], queue: Optional[str]) -> list[Level]:
        out: list[Level] = [self.defaults]
        sl = self.sites.get(site) if site is not None else None
        if sl is not None:
            out.append(sl)
            ql = sl.queues.get(queue) if queue is not None else None
            if ql is not None:
                out.append(ql)
        return out

    def rule(self, site: Optional[str], queue: Optional[str], name: str) -> Rule:
        """The rule's settings for this queue (``queue=None``: the site's own level)."""
        key = ("r", site, queue, name)
        hit = self._cache.get(key)
        if hit is None:
            d = dict(BUILTIN_RULES[name])
            d.setdefault("clear", d["raise_"])
            for lvl in self._levels(site, queue):
                p = lvl.rules.get(name)
                if p is not None:
                    if p.raise_ is not None and p.clear is None:
                        # A level that moves only the raise level keeps the
                        # hysteresis of the level above, as a ratio.
                        ratio = d["clear"] / d["raise_"] if d["raise_"] else 1.0
                        d = _patch(d, p)
                        d["clear"] = p.raise_ * ratio
                    else:
                        d = _patch(d, p)
            hit = self._cache[key] = Rule(**d)
        return hit

    def detector(self, site: Optional[str], queue: Optional[str], name: str) -> Detector:
        key = ("d", site, queue, name)
        hit = self._cache.get(key)
        if hit is None:
            d = dict(BUILTIN_DETECTORS[name])
            for lvl in self._levels(site, queue):
                p = lvl.anomaly.get(name)
                if p is not None:
                    d = _patch(d, p)
            hit = self._cache[key] = Detector(**d)
        return hit


def _level(raw: Any, typ: type, source: str, path: str) -> Level:
    """Convert one level, validating each rule on its own so the error names it."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: Expected `object` - at `{path}`")
    for section, known, ptype in (("rules", RULES, RulePatch), ("anomaly", DETECTORS, DetectorPatch)):
        sec = raw.get(section) or {}
        if not isinstance(sec, dict):
            raise ConfigError(f"{source}: Expected `object` - at `{path}.{section}`")
        for name, body in sec.items():
            if name not in known:
                raise ConfigError(f"{source}: unknown {'rule' if section == 'rules' else 'detector'} `{name}` (one of {', '.join(known)}) - at `{path}.{section}.{name}`")
            _convert(body, ptype, source, f"{path}.{section}.{name}")
    clean = {k: (v or {}) for k, v in raw.items()}
    try:
        return msgspec.convert(clean, typ, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_located(str(exc), path)}") from None


def _located(msg: str, path: str) -> str:
    head, sep, at = msg.rpartition(" - at `$")
    return f"{head} - at `{path}{at}" if sep else f"{msg} - at `{path}`"


def _convert(obj: Any, typ: type, source: str, path: str) -> None:
    try:
        msgspec.convert(obj if obj is not None else {}, typ, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_located(str(exc), path)}") from None


def load_alerts(path: Union[str, Path, None] = None) -> AlertsConfig:
    """Load and validate an alerts YAML file (``config/alerts.yaml`` by default)."""
    p = Path(path) if path is not None else DEFAULT_ALERTS
    data = read_yaml(p)
    return AlertsConfig.from_dict(data, source=str(p))
