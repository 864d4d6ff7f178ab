"""The staffing page: ``/staffing`` (the page) and ``/api/staffing*`` (its data), for analysts, supervisors and admins.

Forecast against actual, needed against scheduled per interval, and the
suggested roster, for one queue and a run of days (``stream.planning.board``),
with CSV/XLSX exports of the same tables. The history the forecast learns
from is the history database the dashboard serves (``--db``; the last 8
weeks of interval rows, read once on first use; Erlang A with the patience
its waits show, ``stream.planning.stored``), or a log named by ``FLOORWATCH_PLANNING_LOG``
(``FLOORWATCH_PLANNING_FORMAT`` anonbank or jsonl, default by extension),
which gives the callers' patience from its contacts; a roster
to compare with may be given by ``FLOORWATCH_ROSTER`` (CSV or YAML), else
the page shows the suggested one. A queue of a pool (a site's ``pools``:
queues answered by the same people) shows the pool's need, schedule and
shifts, labelled with the pool's name and queues (``pool`` in the board;
the exports' headers say so), its own forecast against actual beside the
pool's total.

* ``GET /api/staffing/queues`` — the queues with history, their names and dates.
* ``GET /api/staffing?site&queue&from&days&shrinkage[&at]`` — the board (JSON); on the day of ``at``
  (now by default) the rest of it re-forecast from its actuals so far and re-planned, acting after the
  lead time, and aimed at what the day still needs after its service level so far (``recovery``): the
  live floor's own figure (the workers' interval rows in Redis, ``fw:intervals:{site}:{date}``, those
  over by then), else the planning log's (folded up to then), else the history database's interval rows.
* ``GET /api/staffing/export?table=intervals|shifts&format=csv|xlsx&...`` — the same tables as files.
* ``GET /staffing`` — the page (ECharts from /vendor/, tables when it is absent).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

PAGE_HEADERS = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
HEADERS = {
    "intervals": {
        "start": "Start / 开始", "offered": "Forecast offered / 预测进线",
        "reforecast": "Reforecast offered (today) / 今日滚动预测进线", "actual_offered": "Actual offered / 实际进线",
        "aht_s": "Forecast AHT (s) / 预测处理时长(秒)", "actual_aht_s": "Actual AHT (s) / 实际处理时长(秒)",
        "agents": "Needed / 需要人数", "scheduled": "Scheduled / 排班人数",
        "day_ahead_agents": "Day-ahead plan (before the re-plan) / 日前计划人数(重新排班前)",
        "replan": "Re-plan (kept: before it acts; replanned: from then) / 重新排班(kept 维持原计划；replanned 已调整)",
        "pool_offered": "Pool forecast offered / 坐席组预测进线", "pool_actual_offered": "Pool actual offered / 坐席组实际进线",
    },
    "shifts": {
        "date": "Date / 日期", "start": "Start / 上班", "end": "End / 下班", "break_start": "Break from / 休息开始",
        "break_end": "Break to / 休息结束", "count": "People / 人数", "paid_hours": "Paid hours / 计薪小时",
        "pool_queues": "Queues (one pool) / 队列（同一坐席组）",
    },
}
# Columns only a queue staffed in a pool has.
POOL_COLS = {"pool_offered", "pool_actual_offered", "pool_queues"}


def export_table(b: dict, table: str) -> tuple[list[str], dict[str, str], list[dict]]:
    """The columns, their zh/en headers and the rows of a board's table; for a queue of a pool the need and
    schedule say they are the pool's, with its queues named."""
    pool = b.get("pool")
    heads = {c: h for c, h in HEADERS[table].items() if pool or c not in POOL_COLS}
    if pool:
        qs = ", ".join(pool["queues"])
        for c, en, zh in (("agents", "Needed", "需要人数"), ("scheduled", "Scheduled", "排班人数")):
            if c in heads:
                heads[c] = f"{en}, pool {pool['name']} ({qs}) / {zh}（坐席组 {pool['name']}：{qs}）"
    cols = list(heads)
    rows = [{c: ("; ".join(r[c]) if isinstance(r.get(c), list) else r.get(c)) for c in cols} for r in b[table]]
    return cols, heads, rows


def staffing_router(history_db: Optional[str] = None, config=None) -> APIRouter:
    """``config``: the floor the dashboard serves (its pools); ``config/floor.yaml`` when None."""
    from dashboard.app import STATIC, require

    analyst = Depends(require("analyst"))
    router = APIRouter()
    holder: dict = {}
    lock = threading.Lock()

    def board():
        with lock:
            b = holder.get("board")
            if b is None:
                b = holder["board"] = _load_board(history_db, config)
        return b

    def so_far(b, site: str, now: datetime, live):
        """Where the re-plan's day so far comes from: the live floor, else the planning log, else the store."""
        def get():
            if live is not None:
                return live
            if b.log.events:
                return b.so_far_of_log(site, now)
            return _stored_so_far(history_db, b.log.config, site, now) if history_db else None
        return get

    def compute(site: str, queue: str, first: str, days: int, shrinkage: float, now: datetime, live=None) -> dict:
        try:
            start = date.fromisoformat(first)
        except ValueError:
            raise HTTPException(400, f"from: a date (YYYY-MM-DD), got {first!r}") from None
        if not 0 <= shrinkage < 1:
            raise HTTPException(400, "shrinkage: a fraction in [0, 1)")
        key = (site, queue, start, days, shrinkage, now, live)
        cache = holder.setdefault("cache", {})
        got = cache.get(key)
        if got is None:
            b = board()
            try:
                got = b.board(site, queue, start, days, shrinkage=shrinkage, now=now, so_far=so_far(b, site, now, live))
            except KeyError as exc:
                raise HTTPException(404, str(exc.args[0])) from None
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from None
            if len(cache) > 64:
                cache.clear()
            cache[key] = got
        return got

    @router.get("/staffing", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "staffing.html", headers=PAGE_HEADERS)

    @router.get("/api/staffing/queues", tags=["staffing"])
    def api_queues(*, who=analyst) -> Response:
        """Queues with history to forecast from, with their zh/en names and first/last dates."""
        return Response(orjson.dumps({"queues": board().queues()}), media_type="application/json")

    async def answer(request: Request, site: str, queue: str, first: str, days: int, shrinkage: float,
                     at: Optional[str]) -> dict:
        """The board, with the live floor's day so far read first (Redis; the planning itself in a thread)."""
        now = _now(at)
        b = await run_in_threadpool(board)
        live = None
        if (site, queue) in b.history:
            live = await _live_so_far(getattr(request.app.state, "hub", None), b.log.config, site, now)
        return await run_in_threadpool(compute, site, queue, first, days, shrinkage, now, live)

    @router.get("/api/staffing", tags=["staffing"])
    async def api_board(request: Request, *, who=analyst, site: str, queue: str, from_: Annotated[str, Query(alias="from")],
                        days: Annotated[int, Query(ge=1, le=31)] = 1, shrinkage: float = 0.0, at: Optional[str] = None) -> Response:
        """Per interval: forecast and actual offered and AHT, agents needed and scheduled; the suggested roster.

        ``at`` (a time with offset; now by default): on that day, the rest of it re-forecast from its
        actuals so far and re-planned (``reforecast`` per interval, ``replanned_at``), acting from
        ``effective_from`` (the lead time later; ``replan`` per interval: "kept" before, "replanned" from then,
        ``day_ahead_agents`` the plan before), aimed at what the day still needs (``recovery``)."""
        got = await answer(request, site, queue, from_, days, shrinkage, at)
        return Response(orjson.dumps(got), media_type="application/json")

    @router.get("/api/staffing/export", tags=["staffing"])
    async def api_export(request: Request, *, who=analyst, site: str, queue: str, from_: Annotated[str, Query(alias="from")],
                         days: Annotated[int, Query(ge=1, le=31)] = 1, shrinkage: float = 0.0,
                         table: str = "intervals", format: str = "csv", at: Optional[str] = None) -> Response:
        """The intervals or the suggested shifts as CSV (UTF-8 with BOM) or XLSX (headers in both languages)."""
        from stream.history.export import to_csv, to_xlsx

        if table not in HEADERS or format not in ("csv", "xlsx"):
            raise HTTPException(400, "table is intervals or shifts; format is csv or xlsx")
        b = await answer(request, site, queue, from_, days, shrinkage, at)
        cols, heads, rows = export_table(b, table)
        pool = f"-pool-{b['pool']['name']}" if b.get("pool") else ""
        name = f"staffing-{site}-{queue}{pool}-{from_}-{table}"
        if format == "csv":
            return Response(to_csv(rows, cols), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        data = to_xlsx([(f"{queue} {table}", rows)], heads)
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})

    return router


def _now(at: Optional[str]) -> datetime:
    """``at`` as an instant (a time with offset), else now to the quarter hour (the page's cache key)."""
    if at:
        try:
            t = datetime.fromisoformat(at)
        except ValueError:
            t = None
        if t is None or t.tzinfo is None:
            raise HTTPException(400, f"at: a time with its offset (YYYY-MM-DDTHH:MM+08:00), got {at!r}")
        return t
    t = datetime.now(timezone.utc)
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


async def _live_so_far(hub, config, site: str, now: datetime):
    """The site's day up to ``now`` as the live floor shows it: the workers' interval rows of that local day
    in Redis (``fw:intervals:{site}:{date}``), those over by ``now``; None without them (no worker has
    published that day, or Redis does not answer: the page still plans, from the next source)."""
    from stream.contracts.floor_config import zone
    from stream.planning.actuals import cutoff_for
    from stream.planning.so_far import site_figure, stats_from_live_rows

    if hub is None:
        return None
    tz = config.site(site).timezone
    day = now.astimezone(zone(tz)).date().isoformat()
    try:
        raw = await asyncio.wait_for(hub.r.get(hub.keys.intervals(site, day)), 2.0)
    except Exception as exc:  # Redis down or slow: the re-plan reads the day from the history instead
        log.warning("staffing: no live day so far for %s (%s)", site, type(exc).__name__)
        return None
    if raw is None:
        return None
    rows = orjson.loads(raw)
    n, sl = site_figure(stats_from_live_rows(rows, cutoff_for(now, tz), lambda q: config.queue(site, q).sl_variant))
    return (n, sl, "live") if sl is not None else None


def _stored_so_far(history_db: str, config, site: str, now: datetime):
    """The site's day up to ``now`` from the history database's interval rows (None without one of them)."""
    from stream.history.store import Store, StoreError
    from stream.planning.so_far import of_store

    try:
        store = Store.open(history_db)
    except StoreError:
        return None
    try:
        n, sl = of_store(store, config, now, [site])[site]
    finally:
        store.close()
    return (n, sl, "history") if sl is not None else None


def _load_board(history_db: Optional[str], floor=None):
    """The Board over ``FLOORWATCH_PLANNING_LOG``, else over the history database (503 with neither); ``floor``
    the dashboard's config (a copy: the log formats' sites are added to it), else ``config/floor.yaml``."""
    import copy

    from stream.contracts.floor_config import load_config
    from stream.planning.actuals import read_log
    from stream.planning.board import Board
    from stream.planning.holidays import load_holidays
    from stream.planning.roster import Units, load_shift_rules, read_roster

    path = os.environ.get("FLOORWATCH_PLANNING_LOG")
    if not path and not history_db:
        raise HTTPException(503, "no history to forecast from (floorwatch dashboard --db URL, or FLOORWATCH_PLANNING_LOG)")
    roster_path = os.environ.get("FLOORWATCH_ROSTER")
    floor = copy.deepcopy(floor) if floor is not None else load_config()
    try:
        if path:
            fmt = os.environ.get("FLOORWATCH_PLANNING_FORMAT") or ("anonbank" if Path(path).suffix == ".txt" else "jsonl")
            b = Board(read_log(path, fmt, floor), load_holidays(), load_shift_rules())
        else:
            from stream.history.store import Store, StoreError
            from stream.planning.actuals import Log
            from stream.planning.stored import history_from_store, with_format_sites

            config = with_format_sites(floor)
            try:
                store = Store.open(history_db)
                hist = history_from_store(store, config)
            except StoreError as exc:
                raise HTTPException(503, str(exc)) from None
            b = Board(Log([], config), load_holidays(), load_shift_rules(), history=hist)
        # A roster's names: the queues and pools of the floor and the history (a pool's name = its queues).
        b.roster = read_roster(roster_path, Units(b.log.config, queues=b.history)) if roster_path else None
        return b
    except ValueError as exc:
        raise HTTPException(503, f"planning history: {exc}") from None
