"""Who may do what on the wall: tokens, roles, and keeping tokens out of logs.

Roles are one table, :data:`ROLES`: each role names what it may do
(permissions). A role's own name is one of its permissions and a role that
includes another carries that one's name too, so ``require("wall")`` admits
every role that may see the wall. Today:

* ``wall`` — read only (the TVs on the floor): ``view``,
* ``analyst`` — may also read history and reports (``/reports``, ``/api/history``),
* ``supervisor`` — may also acknowledge alerts and silence a rule: ``ack``, ``silence``,
* ``admin`` — may also read the audit log, edit wall layouts and read ``/metrics``;

and two apart, for machines: ``ingest`` — may only post events (``POST /api/events``,
dashboard/ingest.py); ``ivr`` — may only read predicted waits (``GET /api/ewt``,
dashboard/ewt.py: an IVR announcing the wait, a ticket printer printing it).
A ticket machine that posts reads nothing, no reader posts, and an IVR sees no
agent, caller or alert (every role that sees the wall may read ``/api/ewt`` too).
A new role is one line in :data:`ROLES`.

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

>>> t = parse_tokens("wall:abc, supervisor/alice:def, ingest/kiosk-1:ghi")
>>> t["abc"].role, t["def"].name, t["def"].allows("wall")
('wall', 'alice', True)
>>> t["ghi"].allows("ingest"), t["ghi"].allows("wall"), parse_tokens("admin:x")["x"].allows("ingest")
(True, False, False)
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
from typing import Any, Callable, Mapping, Optional, Union

import yaml
from fastapi import HTTPException, Query, Request, status

# role -> what it may do. One line per role; a permission is any string a
# route asks for with ``require(...)``.
_VIEW = frozenset({"wall", "view", "ewt"})
_ANALYST = _VIEW | {"analyst"}
_SUPERVISOR = _ANALYST | {"supervisor", "ack", "silence"}
ROLES: dict[str, frozenset[str]] = {
    "wall": _VIEW,
    "analyst": _ANALYST,
    "supervisor": _SUPERVISOR,
    "admin": _SUPERVISOR | {"admin", "audit", "layout", "metrics"},
    "ingest": frozenset({"ingest"}),
    "ivr": frozenset({"ivr", "ewt"}),
}


class TokenConfigError(ValueError):
    """A token specification is invalid; the message names where."""


@dataclass(frozen=True)
class Principal:
    """The holder of one token."""

    role: str
    name: str

    def allows(self, permission: str) -> bool:
        """May this holder do ``permission`` (a permission, or a role name: "may act as")?"""
        return permission in ROLES.get(self.role, ())

    def permissions(self) -> list[str]:
        return sorted(ROLES.get(self.role, ()))


Tokens = dict[str, Principal]  # token -> holder


def _principal(role: str, name: str | None, where: str) -> Principal:
    if role not in ROLES:
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


def format_tokens(tokens: Tokens) -> str:
    """The ``FLOORWATCH_TOKENS`` form of ``tokens``, holders' names included (``parse_tokens`` reads it back).

    >>> format_tokens({"def": Principal("supervisor", "alice"), "abc": Principal("wall", "wall")})
    'supervisor/alice:def,wall:abc'
    """
    items = []
    for i, (token, who) in enumerate(tokens.items()):
        item = f"{who.role}:{token}" if who.name == who.role else f"{who.role}/{who.name}:{token}"
        if parse_tokens(item).get(token) != who or "," in token:
            # Never echo the entry: it holds a token.
            raise TokenConfigError(f"token {i + 1} ({who.role}): its holder's name cannot contain ',' or ':'")
        items.append(item)
    return ",".join(items)


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


def bearer(header: Optional[str]) -> Optional[str]:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def principal(tokens: Tokens, header: Optional[str], query_token: Optional[str]) -> Optional[Principal]:
    """The holder of the request's token (Bearer header, else ``?token=``), or None."""
    tok = bearer(header) or query_token
    return tokens.get(tok) if tok else None


def require(permission: str) -> Callable[..., Principal]:
    """A FastAPI dependency: the caller's token must exist (401) and allow ``permission`` (403).

    Any router may use it (``who: Annotated[Principal, Depends(require("analyst"))]``);
    the tokens are the app's (``app.state.tokens``).
    """

    def dep(request: Request, token: Optional[str] = Query(None, include_in_schema=False)) -> Principal:
        who = principal(request.app.state.tokens, request.headers.get("authorization"), token)
        if who is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        if not who.allows(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {who.role} role may not do this")
        return who

    return dep


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
