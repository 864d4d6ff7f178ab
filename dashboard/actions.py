"""What people do from the wall: who am I, acknowledge, silence, the audit log, wall layouts.

A router of the dashboard app (``app.include_router(actions.router)``):

* ``GET /api/whoami`` — the token's role, name and permissions (the page shows
  ack and silence buttons only when they are allowed, and tells a bad token
  apart from a network outage by this call's 401);
* ``POST /api/alerts/{id}/ack`` — supervisor/admin; the first acknowledgement stands;
* ``GET/POST /api/silences``, ``DELETE /api/silences/{key}`` — silence a rule
  for a queue for some minutes with a reason (stream.alerts.silences);
* ``GET /api/audit`` — admin: every ack and silence, who, what, when;
* ``GET/PUT /api/walls/{name}`` — a named wall's layout, edited by admins
  (docs/dashboard.md: which sites, queues and panels, in what order).

Every write is in the audit log.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from dashboard.auth import Principal, require
from dashboard.hub import Hub
from stream.alerts.silences import MAX_MINUTES

router = APIRouter()

Viewer = Annotated[Principal, Depends(require("view"))]
Acker = Annotated[Principal, Depends(require("ack"))]
Silencer = Annotated[Principal, Depends(require("silence"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
LayoutEditor = Annotated[Principal, Depends(require("layout"))]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PANELS = ("tiles", "states", "grid", "counters", "alerts")


def _hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(_hub)]


class WhoAmI(BaseModel):
    role: str
    name: str
    can: list[str]


class SilenceIn(BaseModel):
    site: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    queue: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rule: str = Field(pattern=r"^[a-z_]{1,40}$")
    minutes: int = Field(ge=1, le=MAX_MINUTES)
    reason: str = Field(min_length=1, max_length=200)


class Layout(BaseModel):
    """A wall's layout: empty lists mean "all"; ``order`` is the tiles' order."""

    sites: list[str] = Field(default_factory=list, max_length=100)
    queues: list[str] = Field(default_factory=list, max_length=200)
    panels: list[Literal["tiles", "states", "grid", "counters", "alerts"]] = Field(default_factory=lambda: list(PANELS))
    order: Literal["config", "severity", "name"] = "config"


@router.get("/api/whoami", response_model=WhoAmI, tags=["people"])
async def whoami(who: Viewer) -> dict:
    """The caller's role and what it may do (401 for a missing or unknown token)."""
    return {"role": who.role, "name": who.name, "can": who.permissions()}


@router.post("/api/alerts/{alert_id:path}/ack", tags=["alerts"])
async def ack(alert_id: str, hub: HubDep, who: Acker) -> dict:
    """Acknowledge an alert (supervisor or admin). The first acknowledgement stands; every wall marks it."""
    res = await hub.ack(alert_id, who)
    if res is None:
        raise HTTPException(404, "no such alert")
    shown, first = res
    return {**shown, "first": first}


@router.get("/api/silences", tags=["alerts"])
async def silences(hub: HubDep, who: Viewer) -> list[dict]:
    """Every silence set (the page shows those still in force on the site's clock)."""
    return hub.silence_list()


@router.post("/api/silences", tags=["alerts"])
async def silence(body: SilenceIn, hub: HubDep, who: Silencer) -> dict:
    """Silence ``rule`` for ``site``/``queue`` for ``minutes`` of the floor's time, with a reason."""
    if hub.sites and body.site not in hub.sites:
        raise HTTPException(404, "no such site")
    return await hub.silence(who, body.site, body.queue, body.rule, body.minutes, body.reason.strip())


@router.delete("/api/silences/{key:path}", tags=["alerts"])
async def lift(key: str, hub: HubDep, who: Silencer) -> dict:
    """End a silence before its time."""
    if not await hub.lift_silence(who, key):
        raise HTTPException(404, "no such silence")
    return {"key": key, "lifted": True}


@router.get("/api/audit", tags=["people"])
async def audit(hub: HubDep, who: Auditor, limit: int = Query(200, ge=1, le=5000)) -> list[dict]:
    """Acknowledgements and silences, newest first: who, what, when (wall clock ms)."""
    return await hub.read_audit(limit)


@router.get("/api/walls/{name}", response_model=Layout, tags=["walls"])
async def get_wall(name: str, hub: HubDep, who: Viewer) -> dict:
    """A named wall's layout (``/?wall=name`` reads it)."""
    raw = await hub.r.hget(hub.keys.walls, name) if _NAME.match(name) else None
    if raw is None:
        raise HTTPException(404, "no such wall")
    return orjson.loads(raw)


@router.put("/api/walls/{name}", response_model=Layout, tags=["walls"])
async def put_wall(name: str, body: Layout, hub: HubDep, who: LayoutEditor) -> dict:
    """Set a named wall's layout (admin); walls showing it pick it up when they next load."""
    if not _NAME.match(name):
        raise HTTPException(422, "a wall name is 1-64 letters, digits, '.', '_' or '-'")
    data = body.model_dump()
    await hub.r.hset(hub.keys.walls, name, orjson.dumps(data))
    await hub.audit(who, "layout", name, layout=data)
    return data

