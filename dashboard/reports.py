"""Reports from the history database: ``/reports`` (the page) and ``/api/history*`` (its data).

For the ``analyst`` role (and supervisors and admins). Everything is read
from the history store (stream/history/) and computed by its rollups, so the
page, the CSV/XLSX exports and ``floorwatch history --json`` give the same
figures.

* ``GET /api/history?site&queue&from&to&step`` — ``{"rows": [...]}``, as the CLI prints it.
* ``GET /api/history/sites`` — sites and queues with history, with their zh/en names.
* ``GET /api/history/agents?site&from&to[&agent][&team][&by=team][&step=1h|1d][&hour=H]`` — per-agent (or
  per-team) performance over those dates from the agent interval rows: handled, AHT and AHT by queue,
  occupancy, not-ready time by reason; one agent or team; by local hour or day; one local hour.
* ``GET /api/history/export?kind=flow|agents&format=csv|xlsx&...`` — the same tables as files.
* ``GET /reports`` — the page (ECharts from /vendor/, tables when it is absent).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Annotated, Optional

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from stream.contracts.floor_config import FloorConfig

PAGE_HEADERS = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}


def _labels(config: Optional[FloorConfig], site: str) -> dict:
    sc = config.sites.get(site) if config is not None else None
    name = {"en": site, "zh": site}
    queues: dict = {}
    if sc is not None:
        if sc.name is not None:
            name = {"en": sc.name.en, "zh": sc.name.zh or sc.name.en}
        for q, qc in sc.queues.items():
            if qc.name is not None:
                queues[q] = {"en": qc.name.en, "zh": qc.name.zh or qc.name.en}
    return {"name": name, "queue_names": queues, "sl_targets": {q: qc.sl_target_pct for q, qc in (sc.queues.items() if sc else [])}}


def _agent_labels(config: Optional[FloorConfig], site: str) -> dict:
    """Agent id -> the name the wall shows (the site's display names where it uses them)."""
    sc = config.sites.get(site) if config is not None else None
    return dict(sc.agents) if sc is not None and sc.agent_label == "display_name" else {}


def reports_router(history_db: Optional[str], config: Optional[FloorConfig], teams=None) -> APIRouter:
    from dashboard.app import STATIC, require

    analyst = Depends(require("analyst"))
    router = APIRouter()
    holder: dict = {}
    lock = threading.Lock()

    def store():
        from stream.history.store import Store, StoreError

        if not history_db:
            raise HTTPException(503, "no history database configured (floorwatch dashboard --db URL)")
        with lock:
            s = holder.get("store")
            if s is None:
                try:
                    s = holder["store"] = Store.open(history_db)
                except StoreError as exc:
                    raise HTTPException(503, str(exc)) from None
        return s

    def flow(site: str, queue: Optional[str], first: str, last: str, step: str) -> dict:
        from stream.history.rollup import QueryError, history, parse_date

        try:
            return history(store(), site, queue or None, parse_date(first, "from"), parse_date(last, "to"), step)
        except QueryError as exc:
            raise HTTPException(400, str(exc)) from None

    def team_book():
        if "teams" not in holder:
            from stream.history.teams import load_teams

            holder["teams"] = teams if teams is not None else load_teams()
        return holder["teams"]

    def agents(site: str, first: str, last: str, agent: Optional[str] = None, team: Optional[str] = None,
               by: str = "agent", step: Optional[str] = None, hour: Optional[int] = None) -> dict:
        from stream.history.agents import agent_days_of, agent_performance, agent_report
        from stream.history.rollup import QueryError, parse_date

        try:
            d0, d1 = parse_date(first, "from"), parse_date(last, "to")
            out = agent_report(store(), site, d0, d1, teams=team_book(), by=by, team=team, agent=agent, step=step,
                               hour=hour, labels=_agent_labels(config, site))
        except QueryError as exc:
            raise HTTPException(400, str(exc)) from None
        if not out["rows"] and by == "agent" and team is None and hour is None and step in (None, "1d"):
            # A database written before agent interval rows (migration 0003) still has agent days.
            days, states = store().agent_rows(site, d0.isoformat(), (d1 + timedelta(days=1)).isoformat())
            out["rows"] = agent_days_of(days, states, agent) if agent is not None else agent_performance(days, states)
            if agent is not None:
                for r in out["rows"]:
                    r["start"] = r["date"]
        return out

    @router.get("/reports", include_in_schema=False)
    async def reports_page() -> FileResponse:
        # The page holds no data; it reads ?token= and calls the API with it.
        return FileResponse(STATIC / "reports.html", headers=PAGE_HEADERS)

    @router.get("/api/history", tags=["history"])
    def api_history(*, who=analyst, site: str, from_: Annotated[str, Query(alias="from")], to: str,
                    queue: Optional[str] = None, step: str = "1h") -> Response:
        """Interval history rolled up by 15m, 1h or 1d (the JSON of ``floorwatch history --json``)."""
        return Response(orjson.dumps(flow(site, queue, from_, to, step)), media_type="application/json")

    @router.get("/api/history/sites", tags=["history"])
    def api_sites(*, who=analyst) -> Response:
        s = store()
        out = [{"site": name, "queues": s.queues(name), "last_date": s.last_date(name), **_labels(config, name)}
               for name in s.sites()]
        return Response(orjson.dumps({"sites": out}), media_type="application/json")

    @router.get("/api/history/agents", tags=["history"])
    def api_agents(*, who=analyst, site: str, from_: Annotated[str, Query(alias="from")], to: str,
                   agent: Optional[str] = None, team: Optional[str] = None, by: str = "agent",
                   step: Optional[str] = None, hour: Optional[int] = None) -> Response:
        """Per-agent (``by=team``: per-team) handled, AHT and AHT by queue, occupancy and not-ready time
        by reason over the dates, and their total; ``agent``/``team``: only that one; ``step`` 1h or 1d:
        by local hour or day; ``hour``: one local hour of each day."""
        return Response(orjson.dumps(agents(site, from_, to, agent, team, by, step, hour)), media_type="application/json")

    @router.get("/api/history/export", tags=["history"])
    def api_export(*, who=analyst, site: str, from_: Annotated[str, Query(alias="from")], to: str,
                   kind: str = "flow", format: str = "xlsx", queue: Optional[str] = None, step: str = "1h",
                   agent: Optional[str] = None, team: Optional[str] = None, by: str = "agent",
                   hour: Optional[int] = None) -> Response:
        """A table of the page as a file: ``kind`` flow (the history rows) or agents; CSV or XLSX."""
        from stream.history.export import to_csv, to_xlsx

        if kind == "flow":
            rows = flow(site, queue, from_, to, step)["rows"]
        elif kind in ("agents", "teams"):
            a_step = step if agent is not None and step in ("1h", "1d") else None
            rows = [{k: v for k, v in r.items() if k not in ("key", "name")} for r in agents(site, from_, to, agent, team, "team" if kind == "teams" else by, a_step, hour)["rows"]]
        else:
            raise HTTPException(400, "kind must be flow, agents or teams")
        name = f"{site}-{kind}-{from_}-{to}" + (f"-{step}" if kind == "flow" else "")
        if format == "csv":
            body, mt = to_csv(rows), "text/csv; charset=utf-8"
        elif format == "xlsx":
            body = to_xlsx([(f"{kind} {from_}..{to}", rows)])
            mt = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            raise HTTPException(400, "format must be csv or xlsx")
        return Response(body, media_type=mt, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})

    return router


async def history_metrics(hub) -> str:
    """The history writers' counters (each worker's, from Redis) in Prometheus text format."""
    from stream.history.sink import STATS_KEY

    try:
        raw = await hub.r.hgetall(hub.keys.prefix + STATS_KEY)
    except Exception:
        return ""
    if not raw:
        return ""
    series = [
        ("floorwatch_history_rows_written_total", "counter", "History rows written to the database.", "rows_written"),
        ("floorwatch_history_rows_queued", "gauge", "History rows waiting for the database (bounded).", "rows_queued"),
        ("floorwatch_history_rows_dropped_total", "counter",
         "Queued rows dropped at the bound (written again from state when the database is back).", "rows_dropped"),
        ("floorwatch_history_write_errors_total", "counter", "Failed history writes (retried).", "write_errors"),
        ("floorwatch_history_db_up", "gauge", "1 when the last history write succeeded.", "db_up"),
        ("floorwatch_history_collect_ms", "gauge", "The longest stretch (ms) the last look for changed rows held the worker's loop.",
         "collect_ms"),
    ]
    stats = {k.decode(): orjson.loads(v) for k, v in raw.items()}
    out = []
    for name, typ, help_, key in series:
        out.append(f"# HELP {name} {help_}\n# TYPE {name} {typ}")
        for worker, st in sorted(stats.items()):
            w = worker.replace("\\", "\\\\").replace('"', '\\"')
            v = st.get(key) or 0
            out.append(f'{name}{{worker="{w}"}} {v if isinstance(v, float) else int(v)}')
    return "\n".join(out) + "\n"

