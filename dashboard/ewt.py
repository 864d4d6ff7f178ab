"""``GET /api/ewt?site=&queue=``: a queue's predicted wait, for IVRs and ticket printers.

Answers ``{"wait_s", "low_s", "high_s", "ahead"}``: the wait of a contact
arriving now (for a hall, the next ticket's), its 10-90 % band and the
contacts ahead, as the worker last published it in the site's snapshot
(stream/predict/live.py). The ``ivr`` role may read this and nothing else;
every role that sees the wall may read it too (dashboard/auth.py). 404 when the
site, the queue or its prediction is unknown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from dashboard.auth import Principal, require
from dashboard.hub import Hub

router = APIRouter()

Reader = Annotated[Principal, Depends(require("ewt"))]


class Ewt(BaseModel):
    wait_s: float
    low_s: float
    high_s: float
    ahead: int


@router.get("/api/ewt", response_model=Ewt, tags=["floor"])
async def ewt(request: Request, who: Reader, site: str = Query(max_length=64), queue: str = Query(max_length=64)) -> Ewt:
    """The queue's predicted wait now, with its band and the contacts ahead."""
    hub: Hub = request.app.state.hub
    st = hub.sites.get(site)
    if st is None:
        raise HTTPException(404, "no such site")
    row = (st.raw.get("ewt") or {}).get(queue)
    if not isinstance(row, dict):
        raise HTTPException(404, "no prediction for this queue")
    return Ewt(**{k: row[k] for k in ("wait_s", "low_s", "high_s", "ahead")})
