"""Browser libraries the dashboard serves itself, from the npm packages `make` installs.

Wall PCs and intranets have no internet, and the project never copies a
library into its repository nor points a page at a CDN: ``dashboard/package.json``
and its committed ``package-lock.json`` pin the libraries, ``make`` runs
``npm ci`` into the git-ignored ``dashboard/node_modules`` when npm is present,
and this router serves the built files under ``/vendor/``. Without them a
request gets 404 and the pages fall back to tables with a visible note.

    app.include_router(vendor_router())

``FLOORWATCH_NODE_MODULES`` points at another ``node_modules`` (an installed
package that has none beside it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"

# URL name -> file inside node_modules (only these: nothing else of the tree is exposed).
FILES = {
    "echarts.min.js": ("echarts", "dist/echarts.min.js"),
}


def node_modules() -> Path:
    env = os.environ.get("FLOORWATCH_NODE_MODULES")
    return Path(env) if env else NODE_MODULES


def vendor_file(name: str) -> Optional[Path]:
    """The installed file behind ``/vendor/<name>``, or None when it is not installed."""
    entry = FILES.get(name)
    if entry is None:
        return None
    p = node_modules() / entry[0] / entry[1]
    return p if p.is_file() else None


def vendor_router() -> APIRouter:
    router = APIRouter()

    @router.get("/vendor/{name}", include_in_schema=False)
    async def vendor(name: str) -> FileResponse:
        # A library, no data: served without a token, like /static.
        p = vendor_file(name)
        if p is None:
            raise HTTPException(404, f"{name} is not installed (run make, which runs npm ci in dashboard/)")
        return FileResponse(p, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    return router
