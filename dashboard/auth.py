"""Who may do what on the wall: tokens, roles, and keeping tokens out of logs.

Four roles, each including the one before it:

* ``wall`` — read only (the TVs on the floor),
* ``analyst`` — may also read history and reports (``/reports``, ``/api/history``),
* ``supervisor`` — may also acknowledge alerts,
* ``admin`` — may also read ``/metrics``.

Tokens come from ``FLOORWATCH_TOKENS`` (``wall:abc,supervisor:def,admin:ghi``;
``supervisor/alice:def`` names the holder, who then appears as "alice" on
acks) or from the ``tokens:`` section of a YAML file::

    tokens:
      wall: [abc]
      supervisor: [{token: def, name: alice}]

A token travels as ``Authorization: Bearer ...`` or ``?token=...`` (a TV opens
``/?token=...`` without anyone typing). Query strings end up in uvicorn's
access log, so :class:`RedactTokens` rewrites every log record that passes
through the server's loggers.

>>> t = parse_tokens("wall:abc, supervisor/alice:def")
>>> t["abc"].role, t["def"].name, t["def"].allows("wall")
('wall', 'alice', True)
>>> redact('GET /api/snapshot?site=x&token=abc HTTP/1.1')
'GET /api/snapshot?site=x&token=*** HTTP/1.1'
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

import yaml

ROLES = ("wall", "analyst", "supervisor", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


class TokenConfigError(ValueError):
    """A token specification is invalid; the message names where."""


@dataclass(frozen=True)
class Principal:
    """The holder of one token."""

    role: str
    name: str

    def allows(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


Tokens = dict[str, Principal]  # token -> holder


def _principal(role: str, name: str | None, where: str) -> Principal:
    if role not in _RANK:
        raise TokenConfigError(f"{where}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
    return Principal(role=role, name=name or role)


def parse_tokens(spec: str, *, source: str = "FLOORWATCH_TOKENS") -> Tokens:
    """``role[/name]:token`` entries separated by commas."""
    out: Tokens = {}
    for i, item in enumerate(x.strip() for x in spec.split(",")):
        if not item:
            continue
        who, sep, token = item.partition(":")
        if not sep or not token.strip():
            # Never echo the entry: it may be a token.
            raise TokenConfigError(f"{source}: entry {i + 1} is not role:token")
        role, _, name = who.strip().partition("/")
        out[token.strip()] = _principal(role, name or None, f"{source}: entry {i + 1}")
    return out


def load_tokens_file(path: Union[str, Path]) -> Tokens:
    """The ``tokens:`` section of a YAML file (role -> list of tokens or {token, name})."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TokenConfigError(f"{p}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TokenConfigError(f"{p}: not valid YAML: {exc}") from None
    section = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise TokenConfigError(f"{p}: Expected `object` - at `$.tokens`")
    out: Tokens = {}
    for role, items in section.items():
        where = f"{p}: at `$.tokens.{role}`"
        if not isinstance(items, list):
            raise TokenConfigError(f"{where}: Expected `array`")
        for j, it in enumerate(items):
            if isinstance(it, str) and it:
                out[it] = _principal(str(role), None, where)
            elif isinstance(it, dict) and isinstance(it.get("token"), str) and it["token"]:
                out[it["token"]] = _principal(str(role), it.get("name"), where)
            else:
                raise TokenConfigError(f"{where}[{j}]: Expected a token string or {{token, name}}")
    return out


def tokens_from_env(env: Mapping[str, str] | None = None) -> Tokens:
    env = os.environ if env is None else env
    spec = env.get("FLOORWATCH_TOKENS", "")
    return parse_tokens(spec) if spec.strip() else {}


def generate_tokens() -> Tokens:
    """One fresh token per role, for a demo started without any configured."""
    return {secrets.token_urlsafe(16): Principal(role=r, name=r) for r in ROLES}


def token_for(tokens: Tokens, role: str) -> str | None:
    """A token of exactly ``role`` (to print the wall's URL once at start-up)."""
    return next((t for t, p in tokens.items() if p.role == role), None)


# ``token=...`` in a query string, and a Bearer header should one ever be logged.
_TOKEN_RE = re.compile(r"((?:^|[?&;\s\"'])(?:token|access_token)=)[^&\s\"']*", re.IGNORECASE)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str) -> str:
    return _BEARER_RE.sub(r"\1***", _TOKEN_RE.sub(r"\1***", text))


class RedactTokens(logging.Filter):
    """Rewrites a record's message with tokens replaced by ``***``.

    Installed on the loggers (so the record itself is changed before any
    handler, caplog's included, sees it) and on uvicorn's handlers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Redact the format string and each argument in place: uvicorn's access
        # formatter unpacks ``record.args`` (client, method, path, ...), so the
        # record must keep its shape.
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
        return True


_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "websockets", "websockets.server",
            "fastapi", "dashboard")
_FILTER = RedactTokens()


def install_log_redaction() -> None:
    """Put the redacting filter on every logger the server writes through (idempotent)."""
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)
        for h in lg.handlers:
            if _FILTER not in h.filters:
                h.addFilter(_FILTER)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with the redacting filter on its handlers."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["redact_tokens"] = {"()": "dashboard.auth.RedactTokens"}
    for h in cfg.get("handlers", {}).values():
        h.setdefault("filters", []).append("redact_tokens")
    return cfg
