"""Delivery configuration (``config/delivery.yaml``): channels, recipients, routes.

Validated like the floor config (stream/contracts/floor_config.py): an error names the file
and the exact field, e.g.::

    config/delivery.yaml: unknown recipient 'wang' - at `$.routes[0].levels[0].notify[0].to`

String values may reference the environment as ``${NAME}`` or
``${NAME:-default}`` so phone numbers and credentials need not live in the
file; a reference to an unset variable without a default is an error naming
the variable and the field.

>>> cfg = DeliveryConfig.from_dict({
...     "channels": {"log": {"type": "log"}},
...     "recipients": {"duty": {"name": "Duty manager"}},
...     "routes": [{"name": "all", "levels": [{"after_min": 0, "notify": [{"to": "duty", "via": "log"}]}]}]})
>>> cfg.route_for({"rule": "x", "severity": "info", "site": "s", "queue": "q"}).name
'all'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from stream.contracts.floor_config import ConfigError as _FloorConfigError
from stream.contracts.floor_config import convert_at, read_yaml
from stream.delivery.change import alert_queues
from msgspec import Meta, Struct, field

__all__ = [
    "ConfigError",
    "DeliveryConfig",
    "Recipient",
    "Route",
    "load_delivery_config",
    "DEFAULT_DELIVERY_CONFIG",
    "CHANNEL_ADDRESS",
]

DEFAULT_DELIVERY_CONFIG = Path(__file__).resolve().parent.parent.parent / "config" / "delivery.yaml"

Name = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
HHMM = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
# E.164: '+', country code, up to 15 digits. Spaces and dashes are allowed in
# the file for readability and stripped when sending.
Phone = Annotated[str, Meta(pattern=r"^\+[1-9][0-9 \-]{6,18}$")]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s]+$")]
# The brief's severities and the alert engine's (critical/major/minor/info).
Severity = Literal["critical", "major", "warning", "minor", "info"]
Positive = Annotated[float, Meta(gt=0)]


# One error type for every config file: its message names the file and field.
ConfigError = _FloorConfigError


# ---------------------------------------------------------------- channels


class TwilioChannel(Struct, tag="twilio", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """SMS through a Twilio-style Messages API."""

    account_sid: Annotated[str, Meta(min_length=1)]
    auth_token: Annotated[str, Meta(min_length=1)]
    from_: Phone = field(name="from")
    base_url: Url = "https://api.twilio.com"
    timeout_s: Positive = 10.0


class AliyunSmsChannel(Struct, tag="aliyun_sms", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """SMS through Alibaba Cloud's SendSms (RPC API, signature v1)."""

    access_key_id: Annotated[str, Meta(min_length=1)]
    access_key_secret: Annotated[str, Meta(min_length=1)]
    sign_name: Annotated[str, Meta(min_length=1)]
    template_code: Annotated[str, Meta(min_length=1)]
    region_id: str = "cn-hangzhou"
    base_url: Url = "https://dysmsapi.aliyuncs.com"
    timeout_s: Positive = 10.0


class PagerDutyChannel(Struct, tag="pagerduty", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """PagerDuty Events API v2; the recipient's ``pager_key`` is the routing key."""

    base_url: Url = "https://events.pagerduty.com"
    source: str = "floorwatch"
    timeout_s: Positive = 10.0


class WebhookChannel(Struct, tag="webhook", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """A generic JSON POST (chat bots, ticketing, an in-house incident tool)."""

    url: Url
    headers: dict[str, str] = field(default_factory=dict)
    # With a secret, each POST carries X-Floorwatch-Signature: sha256=<hex
    # HMAC of the body>, so the receiver can tell it came from us.
    secret: Union[Annotated[str, Meta(min_length=8)], None] = None
    timeout_s: Positive = 10.0


class SmtpChannel(Struct, tag="smtp", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """Email over SMTP (stdlib smtplib in a thread)."""

    host: Annotated[str, Meta(min_length=1)]
    from_: Email = field(name="from")
    port: Annotated[int, Meta(ge=1, le=65535)] = 25
    starttls: bool = False
    ssl: bool = False
    username: Union[str, None] = None
    password: Union[str, None] = None
    timeout_s: Positive = 10.0


class LogChannel(Struct, tag="log", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """Writes to the delivery log (and the process log) only: the demo default."""


Channel = Union[TwilioChannel, AliyunSmsChannel, PagerDutyChannel, WebhookChannel, SmtpChannel, LogChannel]

# Which recipient field each channel type sends to (None: no address needed).
CHANNEL_ADDRESS: dict[str, Union[str, None]] = {
    "twilio": "phone",
    "aliyun_sms": "phone",
    "pagerduty": "pager_key",
    "webhook": None,
    "smtp": "email",
    "log": None,
}


def channel_type(ch: Channel) -> str:
    return type(ch).__struct_config__.tag  # type: ignore[attr-defined]


# -------------------------------------------------------------- recipients


class QuietHours(Struct, forbid_unknown_fields=True, kw_only=True):
    """No messages between ``start`` and ``end`` (local time; may cross midnight)."""

    start: HHMM
    end: HHMM
    # Severities that still get through (a critical alert may wake someone).
    bypass: list[Severity] = field(default_factory=lambda: ["critical"])
    timezone: Union[str, None] = None

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        if self.timezone is not None:
            _zone_ok(self.timezone)


class RateLimit(Struct, forbid_unknown_fields=True, kw_only=True):
    """A token bucket: ``burst`` messages at once, refilled at ``per_hour``."""

    burst: Annotated[int, Meta(ge=1, le=1000)] = 5
    per_hour: Annotated[float, Meta(gt=0, le=36_000)] = 20.0


class Recipient(Struct, forbid_unknown_fields=True, kw_only=True):
    name: Union[str, None] = None
    phone: Union[Phone, None] = None
    email: Union[Email, None] = None
    pager_key: Union[Annotated[str, Meta(min_length=1)], None] = None
    timezone: str = "UTC"
    lang: Literal["zh-CN", "en", "both"] = "both"
    quiet_hours: Union[QuietHours, None] = None
    rate_limit: Union[RateLimit, None] = None

    def __post_init__(self) -> None:
        _zone_ok(self.timezone)


# ------------------------------------------------------------------ routes


class Notify(Struct, forbid_unknown_fields=True, kw_only=True):
    to: Name
    via: Name


class Level(Struct, forbid_unknown_fields=True, kw_only=True):
    """One rung of the ladder: who to notify ``after_min`` minutes after the raise, if unacknowledged."""

    after_min: Annotated[float, Meta(ge=0, le=7 * 24 * 60)]
    notify: Annotated[list[Notify], Meta(min_length=1)]


class Match(Struct, forbid_unknown_fields=True, kw_only=True):
    """Which changes a route takes; an absent list matches anything. ``queues`` takes a pool's alert
    (its ``queue`` the pool's name, its ``queues`` the pool's) when it names the pool or any of its queues:
    the duty manager of one queue is paged when the agents answering it are short."""

    rules: Union[list[str], None] = None
    severities: Union[list[Severity], None] = None
    sites: Union[list[str], None] = None
    queues: Union[list[str], None] = None

    def matches(self, change: dict) -> bool:
        for attr, key in (("rules", "rule"), ("severities", "severity"), ("sites", "site")):
            allowed = getattr(self, attr)
            if allowed is not None and change.get(key) not in allowed:
                return False
        return self.queues is None or any(q in self.queues for q in alert_queues(change))


class Route(Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    levels: Annotated[list[Level], Meta(min_length=1)]
    match: Match = field(default_factory=Match)
    # ``repeated`` changes re-notify level 0 only when asked; the ladder is
    # the usual reminder.
    notify_repeated: bool = False

    def __post_init__(self) -> None:
        if self.levels[0].after_min != 0:
            raise ValueError("the first level is notified on the raise: its after_min must be 0")
        for a, b in zip(self.levels, self.levels[1:]):
            if b.after_min <= a.after_min:
                raise ValueError("levels must have increasing after_min")


# --------------------------------------------------------------- settings


class Retry(Struct, forbid_unknown_fields=True, kw_only=True):
    """Retries of transient failures (5xx, 429, timeouts, connection errors)."""

    attempts: Annotated[int, Meta(ge=1, le=20)] = 5
    base_s: Annotated[float, Meta(ge=0, le=60)] = 0.5
    max_s: Annotated[float, Meta(ge=0, le=600)] = 30.0


class Settings(Struct, forbid_unknown_fields=True, kw_only=True):
    group: Name = "delivery"
    consumer: Union[Name, None] = None
    # A claim still 'pending' after this long is taken to be a crashed sender
    # and is sent again; keep it above the longest send with all retries.
    lease_s: Annotated[float, Meta(gt=0, le=86_400)] = 120.0
    # Stream entries another consumer has held this long are re-claimed.
    reclaim_idle_s: Annotated[float, Meta(ge=0, le=86_400)] = 60.0
    # Changes older than this (by their stream id) are logged, not sent: a new
    # consumer group must not page people about last week.
    max_age_min: Annotated[float, Meta(gt=0)] = 60.0
    # How often deadlines and acknowledgements are checked.
    tick_s: Annotated[float, Meta(gt=0, le=60)] = 5.0
    record_ttl_days: Annotated[float, Meta(gt=0, le=365)] = 7.0
    delivery_log_maxlen: Annotated[int, Meta(ge=100)] = 100_000
    # On stop, how long sends in flight may take to finish before they are cut.
    stop_grace_s: Annotated[float, Meta(ge=0, le=600)] = 15.0
    # Which clock quiet hours are judged on: ``wall`` (live floors: a duty
    # manager's night is real) or ``event`` (the alert's own time: a replay or
    # a simulated day at 60x, where the floor's day is not the operator's).
    quiet_hours_time: Literal["wall", "event"] = "wall"


class DeliveryConfig(Struct, forbid_unknown_fields=True, kw_only=True):
    channels: dict[Name, Channel] = field(default_factory=dict)
    recipients: dict[Name, Recipient] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    retry: Retry = field(default_factory=Retry)
    settings: Settings = field(default_factory=Settings)

    def route_for(self, change: dict) -> Union[Route, None]:
        """The first route whose match takes ``change`` (routes are tried in file order)."""
        for r in self.routes:
            if r.match.matches(change):
                return r
        return None

    def route_named(self, name: str) -> Union[Route, None]:
        return next((r for r in self.routes if r.name == name), None)

    def secrets(self) -> list[str]:
        """Every credential and address in the config: the logging filter redacts them."""
        out: list[str] = []
        for ch in self.channels.values():
            for attr in ("account_sid", "auth_token", "access_key_id", "access_key_secret", "password", "username"):
                v = getattr(ch, attr, None)
                if v:
                    out.append(v)
            if isinstance(ch, WebhookChannel):
                out.extend(v for v in ch.headers.values() if v)
                if ch.secret:
                    out.append(ch.secret)
            if isinstance(ch, TwilioChannel):
                out.append(ch.from_)
        for r in self.recipients.values():
            out.extend(v for v in (r.phone, r.email, r.pager_key) if v)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<delivery config>", env: Union[dict, None] = None) -> "DeliveryConfig":
        """Resolve ``${ENV}`` references, then validate; errors name ``source`` and the field."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a mapping")
        data = _expand(data, os.environ if env is None else env, source, "$")
        _check_parts(data, source)
        try:
            cfg = msgspec.convert(data, cls, strict=True)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        _check_references(cfg, source)
        return cfg


# ------------------------------------------------------------- validation


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(obj: Any, env: Any, source: str, path: str) -> Any:
    """Replace ``${NAME}`` / ``${NAME:-default}`` in every string, depth first."""
    if isinstance(obj, dict):
        return {k: _expand(v, env, source, f"{path}.{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        return [_expand(v, env, source, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, str) and "${" in obj:

        def sub(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            val = env.get(name)
            if val is None or val == "":
                if default is None:
                    raise ConfigError(f"{source}: environment variable {name} is not set - at `{path}`")
                return default
            return val

        return _ENV_REF.sub(sub, obj)
    return obj


_convert = convert_at


def _check_parts(data: dict, source: str) -> None:
    """Validate each channel, recipient and route on its own so errors name its key."""
    for section in ("channels", "recipients"):
        part = data.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise ConfigError(f"{source}: Expected `object` - at `$.{section}`")
        typ = Channel if section == "channels" else Recipient
        for name, item in part.items():
            _convert(name, Name, source, f"$.{section}.{name}")
            _convert(item, typ, source, f"$.{section}.{name}")
    routes = data.get("routes")
    if routes is not None:
        if not isinstance(routes, list):
            raise ConfigError(f"{source}: Expected `array` - at `$.routes`")
        for i, r in enumerate(routes):
            _convert(r, Route, source, f"$.routes[{i}]")
    for section, typ in (("retry", Retry), ("settings", Settings)):
        if section in data:
            _convert(data[section], typ, source, f"$.{section}")


def _check_references(cfg: DeliveryConfig, source: str) -> None:
    names = set()
    for i, route in enumerate(cfg.routes):
        if route.name in names:
            raise ConfigError(f"{source}: duplicate route name {route.name!r} - at `$.routes[{i}].name`")
        names.add(route.name)
        for j, level in enumerate(route.levels):
            for k, n in enumerate(level.notify):
                at = f"$.routes[{i}].levels[{j}].notify[{k}]"
                if n.to not in cfg.recipients:
                    raise ConfigError(f"{source}: unknown recipient {n.to!r} - at `{at}.to`")
                if n.via not in cfg.channels:
                    raise ConfigError(f"{source}: unknown channel {n.via!r} - at `{at}.via`")
                need = CHANNEL_ADDRESS[channel_type(cfg.channels[n.via])]
                if need and not getattr(cfg.recipients[n.to], need):
                    raise ConfigError(
                        f"{source}: recipient {n.to!r} has no {need} for channel {n.via!r} - at `{at}`"
                    )


def _zone_ok(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def load_delivery_config(path: Union[str, Path, None] = None, *, env: Union[dict, None] = None) -> DeliveryConfig:
    """Load and validate a delivery YAML file (``config/delivery.yaml`` by default)."""
    p = Path(path) if path is not None else DEFAULT_DELIVERY_CONFIG
    data = read_yaml(p)
    return DeliveryConfig.from_dict(data, source=str(p), env=env)
