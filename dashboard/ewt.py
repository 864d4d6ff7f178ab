"""``GET /api/ewt?site=&queue=[&position=N]``: a queue's predicted wait, for IVRs and ticket printers.

Answers ``{"wait_s", "low_s", "high_s", "ahead"}``: the wait of a contact
arriving now (for a hall, the next ticket's), its 10-90 % band and the
contacts ahead, as the worker last published it in the site's snapshot
(stream/predict/live.py). With ``position=N`` (1 to ``MAX_POSITIONS``): the
remaining wait of the contact N-th in the order served (``ahead`` = N - 1),
what a ticket printer shows "number 4" or an IVR tells a caller holding. The
``ivr`` role may read this and nothing else; every role that sees the wall may
read it too (dashboard/auth.py). 404 when the site, the queue or its
prediction is unknown, or the position is beyond those waiting (one line,
English and Chinese); 422 for a position outside 1..``MAX_POSITIONS``.
"""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from dashboard.auth import Principal, require
from dashboard.hub import Hub
from stream.predict.live import MAX_POSITIONS

router = APIRouter()

Reader = Annotated[Principal, Depends(require("ewt"))]


class Ewt(BaseModel):
    wait_s: float
    low_s: float
    high_s: float
    ahead: int


@router.get("/api/ewt", response_model=Ewt, tags=["floor"])
async def ewt(request: Request, who: Reader, site: str = Query(max_length=64), queue: str = Query(max_length=64),
              position: Optional[int] = Query(None, ge=1, le=MAX_POSITIONS)) -> Ewt:
    """The queue's predicted wait now (or the N-th waiting contact's), with its band and the contacts ahead."""
    hub: Hub = request.app.state.hub
    st = hub.sites.get(site)
    if st is None:
        raise HTTPException(404, "no such site")
    row = (st.raw.get("ewt") or {}).get(queue)
    if not isinstance(row, dict):
        raise HTTPException(404, "no prediction for this queue")
    if position is None:
        return Ewt(**{k: row[k] for k in ("wait_s", "low_s", "high_s", "ahead")})
    waits = row.get("positions") or []
    if position > len(waits):
        raise HTTPException(404, f"position {position} is beyond the queue ({row['ahead']} waiting) / "
                                 f"第 {position} 位超出队列（{row['ahead']} 人等待）")
    w, lo, hi = waits[position - 1]
    return Ewt(wait_s=w, low_s=lo, high_s=hi, ahead=position - 1)
