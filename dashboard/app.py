"""The wall dashboard's web server: the page, a small read API, acks, and the live websocket.

It reads what the stream workers publish in Redis (docs/redis.md) and writes
what people do from the page (acknowledgements, silences, the audit log, wall
layouts: :mod:`dashboard.actions`). Any number of these processes
can serve the same floor: each has one Redis subscriber and fans out to its own
clients (:mod:`dashboard.hub`).

    app = create_app("redis://127.0.0.1:6379/0", tokens=parse_tokens("wall:abc,supervisor:def"))
    serve("redis://127.0.0.1:6379/0", "0.0.0.0", 8080)     # blocking; what `floorwatch dashboard` runs

See docs/dashboard.md for the API, the roles and the wall URL.

Routers: a feature with its own pages or API is a router in its own module,
added to :data:`ROUTERS` with one line (roles are one table in
:mod:`dashboard.auth`; ``require("permission")`` guards a route).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Callable, Optional

import orjson
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from dashboard import actions, ewt
from dashboard.auth import (
    Principal,
    Tokens,
    generate_tokens,
    install_log_redaction,
    principal,
    require,
    token_for,
    tokens_from_env,
    uvicorn_log_config,
)
from dashboard.ahead import ahead_router
from dashboard.hub import Hub, dumps, now_ms
from dashboard.ingest import ingest_router
from dashboard.reports import history_metrics, reports_router
from dashboard.staffing import staffing_router
from dashboard.vendor import vendor_router
from dashboard.wall import wall_alert
from stream.contracts.floor_config import FloorConfig, load_config
from stream.fold.report import build_report, merge_rejected, stats_from_sums

log = logging.getLogger("dashboard")
STATIC = Path(__file__).resolve().parent / "static"

# A request's line and headers together may take this many bytes; a bigger head is refused
# (HTTP 400) before it is buffered, token or not (uvicorn's httptools parser has no limit).
MAX_REQUEST_HEAD_BYTES = 64 * 1024


def allowed_origins_from_env(env: Optional[dict] = None) -> frozenset[str]:
    """``FLOORWATCH_ALLOWED_ORIGINS`` (comma-separated, e.g. ``https://wall.example.cn``; ``*`` for any)."""
    import os

    spec = (env if env is not None else os.environ).get("FLOORWATCH_ALLOWED_ORIGINS", "")
    return frozenset(o.strip().rstrip("/").lower() for o in spec.split(",") if o.strip())


def origin_allowed(origin: Optional[str], host: Optional[str], allowed: frozenset[str]) -> bool:
    """May a websocket opened from page ``origin`` connect to this server (reached as ``host``)?

    A browser always sends ``Origin``; a page of another site must not read the floor
    with a token it got hold of (cross-site websocket hijacking). Same-origin pages and the
    allow-list may; a client without ``Origin`` is not a browser, and its token is the check.

    >>> origin_allowed("http://wall.local:8080", "wall.local:8080", frozenset())
    True
    >>> origin_allowed("https://evil.example", "wall.local:8080", frozenset())
    False
    >>> origin_allowed("https://tv.example.cn", "10.0.0.5:8080", frozenset({"https://tv.example.cn"}))
    True
    """
    if origin is None:
        return True
    o = origin.strip().rstrip("/").lower()
    if "*" in allowed or o in allowed:
        return True
    scheme, sep, hostport = o.partition("://")
    return bool(sep) and scheme in ("http", "https") and host is not None and hostport == host.strip().lower()
# Every router of the dashboard, one line each (``APIRouter`` objects).
ROUTERS = [
    actions.router,
    ewt.router,
]


# -- response models (what OpenAPI documents) ---------------------------------


class Health(BaseModel):
    ok: bool
    redis: bool
    sites: int
    clients: int


class Alert(BaseModel):
    id: str
    dedup_key: Optional[str] = None
    rule: Optional[str] = None
    site: Optional[str] = None
    queue: Optional[str] = None
    severity: Optional[str] = None
    state: Optional[str] = None
    value: Optional[float] = None
    threshold: Optional[float] = None
    since_ms: Optional[int] = None
    at_ms: Optional[int] = None
    message: dict[str, str] = {}
    acknowledged: bool = False
    ack_by: Optional[str] = None
    ack_at_ms: Optional[int] = None
    ack_floor_ms: Optional[int] = None
    key: Optional[str] = None
    kind: Optional[str] = None
    agent: Optional[str] = None
    target: Optional[float] = None
    raised_ms: Optional[int] = None


def _json(obj: Any) -> Response:
    return Response(content=dumps(obj), media_type="application/json")


# -- dependencies --------------------------------------------------------------


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]
Wall = Annotated[Principal, Depends(require("wall"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
Admin = Annotated[Principal, Depends(require("admin"))]


# -- the app -------------------------------------------------------------------


def create_app(
    redis_url: str,
    prefix: Optional[str] = None,
    tokens: Optional[Tokens] = None,
    *,
    config: Optional[FloorConfig] = None,
    client_queue: int = 64,
    allowed_origins: Optional[frozenset[str]] = None,
    history_db: Optional[str] = None,
) -> FastAPI:
    """The dashboard app. ``tokens`` default to ``FLOORWATCH_TOKENS``; with none, every call is refused.

    ``allowed_origins``: pages besides the dashboard's own that may open the websocket
    (default ``FLOORWATCH_ALLOWED_ORIGINS``, else none: same origin only).
    """
    install_log_redaction()
    if config is None:
        try:
            config = load_config()
        except Exception:  # the wall still works without thresholds
            config = None
    hub = Hub(redis_url, prefix=prefix, config=config, client_queue=client_queue)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="floorwatch wall dashboard",
        version="1",
        description="The live floor for wall screens. Every call needs a token (Bearer or ?token=); see docs/dashboard.md.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.tokens = dict(tokens) if tokens is not None else tokens_from_env()
    app.state.started = time.time()
    app.state.allowed_origins = (
        frozenset(o.rstrip("/").lower() for o in allowed_origins) if allowed_origins is not None else allowed_origins_from_env()
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(ingest_router(require))  # POST /api/events (dashboard/ingest.py)
    app.include_router(vendor_router())
    app.include_router(reports_router(history_db, config))
    app.include_router(staffing_router(history_db, config))
    app.include_router(ahead_router())  # GET /api/whatif (dashboard/ahead.py)
    for r in ROUTERS:
        app.include_router(r)

    @app.get("/", include_in_schema=False)
    async def wall_page() -> FileResponse:
        # The page itself holds no data; it reads ?token= and uses it for the websocket.
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)  # no icon; spares the TV's log a 404 a minute

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz(hub: HubDep) -> Response:
        body = Health(ok=hub.metrics.redis_up, redis=hub.metrics.redis_up, sites=len(hub.sites), clients=len(hub.clients))
        return Response(body.model_dump_json(), status_code=200 if body.ok else 503, media_type="application/json")

    @app.get("/api/snapshot", tags=["floor"], responses={200: {"description": "sites -> {view, epoch, seq, history}"}})
    async def snapshot(hub: HubDep, who: Wall, site: Optional[str] = None) -> Response:
        """The wall's view of every site (or one), with the last hour's sparkline points."""
        sites = hub.sites if site is None else {site: hub.sites[site]} if site in hub.sites else None
        if sites is None:
            raise HTTPException(404, "no such site")
        return _json({"sites": {s: {"view": st.view, "epoch": st.epoch, "seq": st.seq, "history": st.history.as_list()}
                                for s, st in sorted(sites.items())}})

    @app.get("/api/report", tags=["floor"], responses={200: {"description": "the same JSON as `floorwatch report --json`"}})
    async def report(hub: HubDep, who: Wall) -> Response:
        """Day-to-date report from the workers' mergeable sums (``report:*`` and ``rejected``)."""
        return _json(await read_report(hub))

    @app.get("/api/alerts", response_model=list[Alert], tags=["alerts"])
    async def alerts(hub: HubDep, who: Wall) -> list[dict]:
        """Every alert's latest record, with its acknowledgement if any (newest first)."""
        k = hub.keys
        pipe = hub.r.pipeline(transaction=False)
        pipe.hgetall(k.alerts)
        pipe.hgetall(k.acks)
        raw_alerts, raw_acks = await pipe.execute()
        acks = {i.decode(): orjson.loads(v) for i, v in raw_acks.items()}
        out = [wall_alert(orjson.loads(v), acks.get(i.decode())) for i, v in raw_alerts.items()]
        out.sort(key=lambda a: a.get("at_ms") or 0, reverse=True)
        return out

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    async def metrics(hub: HubDep, who: Admin) -> str:
        """Prometheus text format."""
        return render_metrics(hub) + await history_metrics(hub)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, token: Optional[str] = None) -> None:
        who = principal(app.state.tokens, websocket.headers.get("authorization"), token)
        if who is None or not who.allows("view"):
            # Before accept: the handshake is refused with HTTP 403. A token that may not view (a ticket
            # machine's ingest token) gets nothing: the stream is the whole floor.
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
            return
        if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"), app.state.allowed_origins):
            # Also before accept (HTTP 403): a page of another site, even with a valid token.
            log.warning("websocket from origin %r refused (not this server's, not allowed)", websocket.headers.get("origin")[:200])
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
            return
        await websocket.accept()
        await stream_to(websocket, hub)

    return app


async def stream_to(websocket: WebSocket, hub: Hub, send_timeout_s: float = 10.0) -> None:
    """Send the floor to one client until it goes; reads its few requests (resync) meanwhile."""
    client = hub.connect()

    async def sender() -> None:
        while True:
            for msg in await hub.next_messages(client):
                # A send that cannot finish in time means a dead peer: let it go.
                try:
                    await asyncio.wait_for(websocket.send_text(msg), send_timeout_s)
                except asyncio.TimeoutError:
                    hub.metrics.slow_clients_closed += 1
                    raise
                hub.metrics.messages_sent += 1

    async def receiver() -> None:
        while True:
            text = await websocket.receive_text()
            if text.startswith("{"):
                req = orjson.loads(text)
                if req.get("t") == "resync":
                    hub.request_resync(client)

    tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.disconnect(client)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await t
        with contextlib.suppress(Exception):
            await websocket.close()


async def read_report(hub: Hub) -> dict:
    """``build_report`` over every site's ``report:*`` sums and every partition's rejects."""
    k = hub.keys
    per_site: dict[str, dict] = {}
    async for key in hub.r.scan_iter(match=k.report("*"), count=500):
        name = key.decode()[len(k.report("")):]
        raw = await hub.r.get(key)
        if raw is None:
            continue
        days = orjson.loads(raw).get("days", {})
        per_site[name] = {d: {q: stats_from_sums(s) for q, s in qs.items()} for d, qs in days.items()}
    rejected = [orjson.loads(v) for v in (await hub.r.hgetall(k.rejected)).values()]
    return build_report(per_site, merge_rejected(rejected))


def render_metrics(hub: Hub) -> str:
    m = hub.metrics
    t = now_ms()
    lag = (t - m.last_published_ms) / 1000.0 if m.last_published_ms is not None else float("nan")
    recv = m.last_received_lag_ms / 1000.0 if m.last_received_lag_ms is not None else float("nan")
    lines = [
        ("floorwatch_dashboard_clients", "gauge", "Connected websocket clients.", len(hub.clients)),
        ("floorwatch_dashboard_messages_sent_total", "counter", "Websocket messages sent to clients.", m.messages_sent),
        ("floorwatch_dashboard_messages_dropped_total", "counter",
         "Queued messages dropped for clients that fell behind (each got a full snapshot instead).", m.messages_dropped),
        ("floorwatch_dashboard_slow_clients_closed_total", "counter",
         "Clients let go because a send to them did not finish within the send timeout.", m.slow_clients_closed),
        ("floorwatch_dashboard_resyncs_total", "counter", "Full snapshots sent after a drop or a client's request.", m.resyncs),
        ("floorwatch_dashboard_changes_received_total", "counter", "Change messages received from the workers.", m.changes_received),
        ("floorwatch_dashboard_snapshot_reloads_total", "counter", "Site snapshots re-read (start, new epoch, seq gap).", m.snapshot_reloads),
        ("floorwatch_dashboard_pipeline_lag_seconds", "gauge", "Now minus published_ms of the last change.", lag),
        ("floorwatch_dashboard_receive_lag_seconds", "gauge", "Arrival minus published_ms of the last change.", recv),
        ("floorwatch_dashboard_redis_up", "gauge", "1 while the Redis subscriber is connected.", int(m.redis_up)),
        ("floorwatch_dashboard_sites", "gauge", "Sites on the wall.", len(hub.sites)),
    ]
    out = []
    for name, typ, help_, value in lines:
        out.append(f"# HELP {name} {help_}\n# TYPE {name} {typ}\n{name} {value}")
    return "\n".join(out) + "\n"


def build_server(redis_url: str, host: str = "127.0.0.1", port: int = 8080, *, prefix: Optional[str] = None,
                 tokens: Optional[Tokens] = None, config: Optional[FloorConfig] = None,
                 log_level: str = "info", access_log: bool = True, client_queue: int = 64,
                 allowed_origins: Optional[frozenset[str]] = None, history_db: Optional[str] = None) -> uvicorn.Server:
    """A uvicorn server for the dashboard (``await server.serve()`` inside a running loop)."""
    app = create_app(redis_url, prefix, tokens, config=config, client_queue=client_queue, allowed_origins=allowed_origins,
                     history_db=history_db)
    # h11, not httptools: h11 buffers at most MAX_REQUEST_HEAD_BYTES of an unfinished request
    # head; httptools buffers any header whole (four 50 MB headers: +280 MiB). The wall's
    # traffic is its websocket, which h11 only hands over.
    cfg = uvicorn.Config(app, host=host, port=port, log_config=uvicorn_log_config(), log_level=log_level,
                         access_log=access_log, lifespan="on", ws_ping_interval=20.0, ws_ping_timeout=20.0,
                         http="h11", h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES)
    return uvicorn.Server(cfg)


def serve(redis_url: str, host: str = "127.0.0.1", port: int = 8080, *, prefix: Optional[str] = None,
          tokens: Optional[Tokens] = None, config: Optional[FloorConfig] = None, log_level: str = "info",
          client_queue: int = 64, announce: Optional[Callable[[str], None]] = None,
          allowed_origins: Optional[frozenset[str]] = None, history_db: Optional[str] = None) -> None:
    """Run the dashboard until interrupted (``floorwatch dashboard``; ``floorwatch up`` calls this).

    Without tokens (none given, none in ``FLOORWATCH_TOKENS``) a fresh set is
    made and told once: through ``announce`` if given, else on the terminal if
    stdout is one, else into a private file whose path is logged (stdout may
    well be a log then, and tokens never go to logs).
    """
    if tokens is None:
        tokens = tokens_from_env()
    if not tokens:
        tokens = generate_tokens()
        _tell_tokens(tokens, host, port, announce)
    build_server(redis_url, host, port, prefix=prefix, tokens=tokens, config=config, log_level=log_level,
                 client_queue=client_queue, allowed_origins=allowed_origins, history_db=history_db).run()


def _tell_tokens(tokens: Tokens, host: str, port: int, announce: Optional[Callable[[str], None]]) -> None:
    import os
    import sys
    import tempfile

    shown = "localhost" if host in ("0.0.0.0", "::") else host
    lines = [
        f"wall URL:         http://{shown}:{port}/?token={token_for(tokens, 'wall')}",
        f"analyst token:    {token_for(tokens, 'analyst')}",
        f"supervisor token: {token_for(tokens, 'supervisor')}",
        f"admin token:      {token_for(tokens, 'admin')}",
    ]
    if announce is None and sys.stdout.isatty():
        announce = print
    if announce is not None:
        for ln in lines:
            announce("floorwatch dashboard: " + ln)
        return
    fd, path = tempfile.mkstemp(prefix="floorwatch-tokens-", suffix=".txt")  # created 0600
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    log.warning("no tokens configured: generated ones are in %s (readable by this user only)", path)
