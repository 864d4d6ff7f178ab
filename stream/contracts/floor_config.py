"""Floor configuration: sites, queues, counters and thresholds, from YAML.

The YAML files live in ``config/``. Loading validates every field; an error
names the file and the field, e.g.::

    config/floor.yaml: Expected `int` >= 1, got 0 - at `$.sites.gz-hotline.queues.vip.sl_t_s`

>>> cfg = FloorConfig.from_dict({"sites": {"gz": {"timezone": "Asia/Shanghai"}}})
>>> q = cfg.queue("gz", "general")          # unknown queues get the site kind's defaults
>>> (q.sl_t_s, q.short_abandon_s, q.sl_variant)
(20, 5, 'standard')
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml
from msgspec import Meta, Struct, field

__all__ = ["AsteriskSource", "ConfigError", "FloorConfig", "QueueConfig", "SiteConfig", "load_config", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "floor.yaml"

Name = Annotated[str, Meta(min_length=1, max_length=64)]
Seconds = Annotated[int, Meta(ge=0, le=86_400)]
Pct = Annotated[float, Meta(ge=0, le=100)]

# Metric defaults by kind of site (metrics.md): calls T=20 s, short abandon 5 s;
# tickets T=600 s, no short abandons.
KIND_DEFAULTS = {"hotline": (20, 5), "hall": (600, 0)}


class ConfigError(ValueError):
    """A configuration file is invalid; the message names file and field."""


class Labels(Struct, forbid_unknown_fields=True):
    """A display name in the wall's languages."""

    en: str
    zh: Union[str, None] = None


class Threshold(Struct, forbid_unknown_fields=True):
    """Two-level colouring of a figure on the wall (warn, then alarm).

    ``higher_is_worse`` says the direction: a wait is worse when higher, a
    service level when lower.
    """

    warn: float
    alarm: float
    higher_is_worse: bool = True

    def __post_init__(self) -> None:
        if self.higher_is_worse and self.alarm < self.warn:
            raise ValueError("alarm must be >= warn when higher_is_worse")
        if not self.higher_is_worse and self.alarm > self.warn:
            raise ValueError("alarm must be <= warn when higher is better")


class QueueConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    name: Union[Labels, None] = None
    sl_t_s: Union[Annotated[int, Meta(ge=1, le=86_400)], None] = None
    short_abandon_s: Union[Seconds, None] = None
    sl_variant: Literal["standard", "exclude_abandons"] = "standard"
    sl_target_pct: Pct = 80.0
    vip: bool = False
    thresholds: dict[str, Threshold] = field(default_factory=dict)


class AsteriskSource(Struct, forbid_unknown_fields=True, kw_only=True):
    """How a site's Asterisk ``queue_log`` maps onto it (stream/sources/asterisk.py, docs/sources.md).

    ``queues``/``agents`` rename Asterisk's queue and member names (unlisted
    names pass as they are, unless ``only_listed_queues``); ``transfers`` maps
    a transfer target (``exten@context`` or ``exten``) to a queue of this site,
    any other transfer ends the call's leg. The caller ID is hashed with a
    per-site key derived from the secret in ``caller_key_env`` (``hash``),
    masked (``138****5678``) or dropped: never passed on in clear.
    """

    path: str = "/var/log/asterisk/queue_log"
    queues: dict[str, Name] = field(default_factory=dict)
    only_listed_queues: bool = False
    agents: dict[str, Name] = field(default_factory=dict)
    transfers: dict[str, Name] = field(default_factory=dict)
    caller: Literal["hash", "mask", "drop"] = "mask"
    caller_key_env: Name = "FLOORWATCH_CALLER_KEY"


class SiteConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    name: Union[Labels, None] = None
    kind: Literal["hotline", "hall"] = "hotline"
    timezone: str = "UTC"
    region: Name = "default"
    queues: dict[Name, QueueConfig] = field(default_factory=dict)
    counters: list[Name] = field(default_factory=list)
    # How the wall names agents: a configured display name or the work number.
    agent_label: Literal["display_name", "work_number"] = "work_number"
    agents: dict[Name, str] = field(default_factory=dict)
    # The site is fed by an Asterisk queue_log (``--format asterisk``).
    asterisk: Union[AsteriskSource, None] = None
    # Queues (or counters) served by the same people: pool name -> its queues. The staffing plan and its
    # check staff a pool as one group (stream/planning/pools.py); a queue in no pool is staffed alone.
    pools: dict[Name, list[Name]] = field(default_factory=dict)
    # How soon a change decided in an intraday re-plan can act on this floor (calling someone in, moving agents
    # from other work): the /staffing page's re-plan keeps the plan in force until then (stream/planning/intraday.py).
    replan_lead_min: int = 60

    def __post_init__(self) -> None:
        zone_ok(self.timezone)
        if isinstance(self.replan_lead_min, bool) or not 0 <= self.replan_lead_min <= 240 or self.replan_lead_min % 15:
            raise ValueError(f"replan_lead_min must be a multiple of 15 minutes from 0 to 240, got {self.replan_lead_min!r}")
        seen: dict[str, str] = {}
        for pool, queues in self.pools.items():
            if not queues:
                raise ValueError(f"pool {pool!r} lists no queue")
            if pool in self.queues and queues != [pool]:
                raise ValueError(f"pool {pool!r} has the name of a queue; name it apart")
            for q in queues:
                if q in seen:
                    raise ValueError(f"queue {q!r} is in pools {seen[q]!r} and {pool!r}; a queue is in one pool at most")
                seen[q] = pool
            # One group is planned with one Erlang solve: its queues must count "within T" alike (the target may
            # differ: the plan aims at the members' offered-weighted target, docs/planning.md "Pools").
            t_default, short_default = KIND_DEFAULTS[self.kind]
            terms = {}
            for q in queues:
                qc = self.queues.get(q) or QueueConfig()
                terms[q] = (qc.sl_t_s if qc.sl_t_s is not None else t_default,
                            qc.short_abandon_s if qc.short_abandon_s is not None else short_default)
            if len(set(terms.values())) > 1:
                said = ", ".join(f"{q}: T {t} s, short abandon {a} s" for q, (t, a) in terms.items())
                raise ValueError(f"pool {pool!r} mixes service-level terms ({said}); a pool's queues need one T and "
                                 "one short-abandon limit")


class FloorConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole floor. Sites not listed are still accepted (UTC, hotline)."""

    sites: dict[Name, SiteConfig] = field(default_factory=dict)
    lateness_s: Annotated[int, Meta(ge=0, le=3600)] = 60
    # An event more than this far ahead of its message's time (Kafka), or of its
    # site's clock when its next event is not (files), is quarantined: rejected,
    # dead-lettered, the clock not moved (docs/metrics.md, "Wrong clocks").
    max_ahead_s: Annotated[int, Meta(ge=1, le=7 * 86400)] = 300
    default_kind: Literal["hotline", "hall"] = "hotline"
    default_timezone: str = "UTC"
    # Not-ready reason code (as events carry it) -> its name on the wall, in both languages.
    not_ready_reasons: dict[Name, Labels] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone_ok(self.default_timezone)

    def site(self, site: str) -> SiteConfig:
        """The site's config; an unlisted site gets the floor defaults."""
        sc = self.sites.get(site)
        if sc is None:
            return SiteConfig(kind=self.default_kind, timezone=self.default_timezone)
        return sc

    def queue(self, site: str, queue: str) -> "ResolvedQueue":
        """A queue's metric parameters; unlisted queues get the site kind's defaults."""
        sc = self.site(site)
        qc = sc.queues.get(queue) or QueueConfig()
        t_default, short_default = KIND_DEFAULTS[sc.kind]
        return ResolvedQueue(
            sl_t_s=qc.sl_t_s if qc.sl_t_s is not None else t_default,
            short_abandon_s=qc.short_abandon_s if qc.short_abandon_s is not None else short_default,
            sl_variant=qc.sl_variant,
        )

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<config>") -> "FloorConfig":
        """Validate ``data``; a failure names ``source`` and the exact field."""
        _check_keys(data, source)
        try:
            return msgspec.convert(data, cls, strict=True)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


class ResolvedQueue(Struct, frozen=True):
    """A queue's metric parameters with the site-kind defaults filled in."""

    sl_t_s: int
    short_abandon_s: int
    sl_variant: str


# libyaml's loader where PyYAML was built with it (the wheels are): the same
# safe subset, and every command that reads config/ starts sooner (docs/measurements.md).
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Union[str, Path]) -> Any:
    """A YAML file's data, or a ConfigError naming the file (shared by every config loader)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        # file:line:column, as editors and terminals link them; the problem in one line.
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None


def convert_at(obj: Any, typ: Any, source: str, path: str) -> None:
    """Validate ``obj`` as ``typ``; a ConfigError names the file and the field's full path."""
    try:
        msgspec.convert(obj, typ, strict=True)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        # msgspec writes dict keys as "[...]"; here the path names them.
        head, sep, at = msg.rpartition(" - at `$")
        if sep:
            raise ConfigError(f"{source}: {head} - at `{path}{at}") from None
        raise ConfigError(f"{source}: {msg} - at `{path}`") from None


_convert = convert_at


def _check_keys(data: Any, source: str) -> None:
    """Validate each site, queue and threshold on its own, so errors name its key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    sites = data.get("sites") or {}
    if not isinstance(sites, dict):
        raise ConfigError(f"{source}: Expected `object` - at `$.sites`")
    for sname, site in sites.items():
        spath = f"$.sites.{sname}"
        if not isinstance(site, dict):
            raise ConfigError(f"{source}: Expected `object` - at `{spath}`")
        queues = site.get("queues") or {}
        if not isinstance(queues, dict):
            raise ConfigError(f"{source}: Expected `object` - at `{spath}.queues`")
        for qname, queue in queues.items():
            qpath = f"{spath}.queues.{qname}"
            if isinstance(queue, dict):
                for tname, thr in (queue.get("thresholds") or {}).items():
                    _convert(thr, Threshold, source, f"{qpath}.thresholds.{tname}")
            _convert(queue, QueueConfig, source, qpath)
        # The queues are checked above; their names and terms stay for the site's own checks (pools).
        terms = ("sl_t_s", "short_abandon_s")
        _convert({**site, "queues": {q: {k: v for k, v in (qc or {}).items() if k in terms} for q, qc in queues.items()}},
                 SiteConfig, source, spath)


def load_config(path: Union[str, Path, Sequence[Union[str, Path]], None] = None) -> FloorConfig:
    """Load and validate a floor YAML file (``config/floor.yaml`` by default).

    Several files: the first is the floor; each further one only adds sites
    (e.g. ``config/anonbank.yaml`` for workers fed that log), and a site may be
    in one file only.
    """
    if path is None or isinstance(path, (str, Path)):
        return _load_one(Path(path) if path is not None else DEFAULT_CONFIG)
    paths = [Path(p) for p in path] or [DEFAULT_CONFIG]
    cfg = _load_one(paths[0])
    where = {name: paths[0] for name in cfg.sites}
    for p in paths[1:]:
        more = _load_one(p)
        extra = sorted(set(msgspec.structs.asdict(more)) - {"sites"} - _defaults_of(more))
        if extra:
            raise ConfigError(f"{p}: a further config file only adds sites, not {', '.join(extra)}")
        for name, site in more.sites.items():
            if name in where:
                raise ConfigError(f"{p}: site {name!r} is also in {where[name]}")
            where[name] = p
            cfg.sites[name] = site
    return cfg


def _defaults_of(cfg: FloorConfig) -> set[str]:
    """The top-level fields of ``cfg`` left at their defaults."""
    default = FloorConfig()
    return {f for f in FloorConfig.__struct_fields__ if f != "sites" and getattr(cfg, f) == getattr(default, f)}


def _load_one(p: Path) -> FloorConfig:
    data = read_yaml(p)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    return FloorConfig.from_dict(data, source=str(p))


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_ok(name: str) -> None:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc
