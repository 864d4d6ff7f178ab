"""The history store: connect to PostgreSQL or SQLite, migrate, upsert rows, read them back.

SQLAlchemy Core over one schema (``schema``), migrated by Alembic
(``migrations/``) on open. Writes are idempotent upserts keyed by
(site, queue or agent, interval or date): writing the same rows twice, or
from two workers, leaves the same table. A row is only replaced by one written
at least as far along the event log (``as_of_ms``), so a stale writer cannot
undo a newer one.

    store = Store.open("sqlite:///var/floorwatch/history.db")   # or postgresql://user@host/db
    store.upsert(Batch(queue=[...]))
    rows = store.queue_rows("s1", None, from_ms, to_ms)

URLs: ``postgresql://`` (driven by psycopg 3), ``sqlite:///path``; a plain file
path is taken as an SQLite file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stream.history import schema as S

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be used (bad URL, unreachable, not migratable); the message says which."""


def engine_url(url: str) -> str:
    """A user's database URL as SQLAlchemy takes it (psycopg 3 for PostgreSQL; a path is SQLite)."""
    u = url.strip()
    if u.startswith("postgres://"):
        u = "postgresql://" + u[len("postgres://"):]
    if u.startswith("postgresql://"):
        return "postgresql+psycopg://" + u[len("postgresql://"):]
    if "://" not in u:
        return "sqlite:///" + str(Path(u).expanduser().resolve())
    return u


def redacted(url: str) -> str:
    """The URL with its password hidden (for messages and logs)."""
    try:
        return sa.engine.make_url(engine_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "<database URL>"


def check_url(url: str) -> None:
    """Raise StoreError for a URL that can never work (syntax, unsupported database, no driver);
    a database that is merely down is not checked (the live floor starts without it)."""
    try:
        u = sa.engine.make_url(engine_url(url))
        if u.get_backend_name() not in ("postgresql", "sqlite"):
            raise StoreError(f"history database {redacted(url)}: {u.get_backend_name()} is not supported (PostgreSQL or SQLite)")
        u.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise StoreError(f"history database {redacted(url)}: not a usable URL ({exc})") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI connection
    cur = dbapi_conn.cursor()
    # WAL: the dashboard reads while the worker writes; NORMAL sync is durable across a process crash.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


@dataclass
class Batch:
    """Rows to upsert in one transaction (dicts with the tables' columns)."""

    queue: list[dict] = field(default_factory=list)
    agent: list[dict] = field(default_factory=list)
    agent_state: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    agent_queue_ival: list[dict] = field(default_factory=list)
    agent_state_ival: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.queue) + len(self.agent) + len(self.agent_state) + len(self.alerts)
                + len(self.agent_queue_ival) + len(self.agent_state_ival))

    def extend(self, o: "Batch") -> None:
        self.queue.extend(o.queue)
        self.agent.extend(o.agent)
        self.agent_state.extend(o.agent_state)
        self.alerts.extend(o.alerts)
        self.agent_queue_ival.extend(o.agent_queue_ival)
        self.agent_state_ival.extend(o.agent_state_ival)


_KEYS = {"queue_intervals": S.KEYS["queue"], "agent_days": S.KEYS["agent"], "agent_state_days": S.KEYS["agent_state"],
         "agent_queue_intervals": S.KEYS["agent_queue_ival"], "agent_state_intervals": S.KEYS["agent_state_ival"]}


class Store:
    """A migrated history database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise StoreError(f"history database: {self.dialect} is not supported (PostgreSQL or SQLite)")
        self._insert = insert
        self._stmts: dict = {}

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, must_exist: bool = False, connect_timeout_s: int = 10) -> "Store":
        """Connect and bring the schema to the latest migration.

        ``must_exist``: a reader's open (a query, a cold start) never makes a database: a SQLite file that
        is not there is an error naming it, not an empty history in a new file.
        """
        try:
            eurl = engine_url(url)
            kw: dict = {"future": True, "pool_pre_ping": True}
            if eurl.startswith("postgresql"):
                kw["connect_args"] = {"connect_timeout": connect_timeout_s}
            elif eurl.startswith("sqlite:///"):
                path = Path(eurl[len("sqlite:///"):])
                if must_exist and not path.is_file():
                    raise StoreError(f"no history database at {url} "  # a file: no password to hide
                                     "(write one with `floorwatch replay … --db` or a worker's --db)")
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(eurl, **kw)
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise StoreError(f"history database {redacted(url)}: {exc}") from None
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            try:
                store.migrate()
            except sa.exc.OperationalError as exc:
                raise StoreError(f"history database {redacted(url)}: cannot connect: {str(exc.orig).strip().splitlines()[0]}") from None
        return store

    def migrate(self) -> None:
        """Alembic ``upgrade head`` on this database."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ----------------------------------------------------------------

    def _statement(self, table: sa.Table, kind: str):
        """One compiled-once statement per table: executed with many rows, the driver batches them."""
        stmt = self._stmts.get(kind)
        if stmt is None:
            ins = self._insert(table)
            if kind == "new":
                stmt = ins.on_conflict_do_nothing()
            else:
                keys = _KEYS[table.name]
                ex = ins.excluded
                stmt = ins.on_conflict_do_update(
                    index_elements=list(keys),
                    set_={c.name: ex[c.name] for c in table.columns if c.name not in keys},
                    # Never go back along the log (a worker that just lost the partition).
                    where=table.c.as_of_ms <= ex.as_of_ms,
                )
            self._stmts[kind] = stmt
        return stmt

    def _upsert(self, conn, table: sa.Table, rows: Sequence[dict]) -> None:
        conn.execute(self._statement(table, table.name), list(rows))

    def _insert_new(self, conn, table: sa.Table, rows: Sequence[dict]) -> None:
        conn.execute(self._statement(table, "new"), list(rows))

    def upsert(self, batch: Batch) -> int:
        """Write a batch in one transaction; returns the rows written (or left as they were)."""
        with self.engine.begin() as conn:
            if batch.queue:
                self._upsert(conn, S.queue_intervals, _dedup(batch.queue, _KEYS["queue_intervals"]))
                self._refresh_hours(conn, batch.queue)
            if batch.agent:
                self._upsert(conn, S.agent_days, _dedup(batch.agent, _KEYS["agent_days"]))
            if batch.agent_state:
                self._upsert(conn, S.agent_state_days, _dedup(batch.agent_state, _KEYS["agent_state_days"]))
            if batch.agent_queue_ival:
                self._upsert(conn, S.agent_queue_intervals, _dedup(batch.agent_queue_ival, _KEYS["agent_queue_intervals"]))
            if batch.agent_state_ival:
                self._upsert(conn, S.agent_state_intervals, _dedup(batch.agent_state_ival, _KEYS["agent_state_intervals"]))
            if batch.alerts:
                self._insert_new(conn, S.alert_changes, _dedup(batch.alerts, S.KEYS["alerts"]))
        return len(batch)

    def _refresh_hours(self, conn, rows: Sequence[dict]) -> None:
        """Recompute, from the stored intervals, every local hour (``queue_hours``) that ``rows``
        touched: in the transaction that wrote them, so hours always equal their intervals,
        whoever writes and however few intervals at a time."""
        span: dict[str, list[int]] = {}
        for r in rows:
            off = r["utc_offset_min"] * 60_000
            h = (r["start_ms"] + off) // 3_600_000 * 3_600_000 - off
            b = span.get(r["site"])
            if b is None:
                span[r["site"]] = [h, h]
            else:
                b[0], b[1] = min(b[0], h), max(b[1], h)
        for site, (lo, hi) in sorted(span.items()):
            self._write_hours(conn, site, lo, hi)

    def _write_hours(self, conn, site: Optional[str] = None, lo: Optional[int] = None, hi: Optional[int] = None) -> None:
        """Upsert the hours starting in [lo, hi] (all when None) of ``site`` (all when None),
        each the sums of its intervals (the largest wait the largest)."""
        t, h = S.queue_intervals, S.queue_hours
        start = ((t.c.start_ms + t.c.utc_offset_min * 60_000) // sa.literal(3_600_000, sa.BigInteger)) * 3_600_000 \
            - t.c.utc_offset_min * 60_000
        cols = [c for _, c in S.QUEUE_SUMS]
        sel = sa.select(t.c.site, start, t.c.queue, t.c.utc_offset_min, sa.func.max(t.c.sl_variant),
                        *[_hour_sum(t.c[c], c) for c in cols],
                        sa.func.max(t.c.as_of_ms))
        if site is not None:
            sel = sel.where(t.c.site == site)
        if lo is not None and hi is not None:
            # An hour's intervals lie within an hour of its start: read that much either side.
            sel = sel.where(t.c.start_ms >= lo - 3_600_000, t.c.start_ms < hi + 2 * 3_600_000, start >= lo, start <= hi)
        sel = sel.group_by(t.c.site, start, t.c.queue, t.c.utc_offset_min)
        names = ["site", "start_ms", "queue", "utc_offset_min", "sl_variant", *cols, "as_of_ms"]
        ins = self._insert(h).from_select(names, sel)
        keys = S.KEYS["queue"]  # the same key: (site, start_ms, queue)
        conn.execute(ins.on_conflict_do_update(index_elements=list(keys),
                                               set_={c: ins.excluded[c] for c in names if c not in keys}))

    def rebuild_hours(self) -> int:
        """Fill ``queue_hours`` from ``queue_intervals`` (rows loaded in bulk, bypassing ``upsert``,
        as a bench or an import does); returns the hour rows now kept."""
        with self.engine.begin() as conn:
            self._write_hours(conn)
            return conn.execute(sa.select(sa.func.count()).select_from(S.queue_hours)).scalar_one()

    # -- reading ----------------------------------------------------------------

    def queue_rows(self, site: str, queue: Optional[str], from_ms: int, to_ms: int) -> list[dict]:
        """The site's interval rows with ``from_ms <= start_ms < to_ms`` (one queue, or all)."""
        t = S.queue_intervals
        q = sa.select(t).where(t.c.site == site, t.c.start_ms >= from_ms, t.c.start_ms < to_ms)
        if queue is not None:
            q = q.where(t.c.queue == queue)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(t.c.start_ms, t.c.queue))]

    def sites(self) -> list[str]:
        t = S.queue_intervals
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(t.c.site).distinct().order_by(t.c.site))]

    def has_site(self, site: str) -> bool:
        """Whether any interval of ``site`` is kept (one primary-key lookup, not a scan of the sites)."""
        t = S.queue_intervals
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.literal(1)).where(t.c.site == site).limit(1)).first() is not None

    def queues(self, site: str) -> list[str]:
        t = S.queue_intervals
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(t.c.queue).where(t.c.site == site).distinct().order_by(t.c.queue))]

    def last_date(self, site: str) -> Optional[str]:
        """The site's latest local date with an interval row (None without rows)."""
        t = S.queue_intervals
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(t.c.start_ms, t.c.utc_offset_min).where(t.c.site == site)
                             .order_by(t.c.start_ms.desc()).limit(1)).first()
        if r is None:
            return None
        from datetime import datetime, timezone

        return datetime.fromtimestamp((r[0] + r[1] * 60_000) / 1000, tz=timezone.utc).date().isoformat()

    def agent_rows(self, site: str, from_date: str, to_date: str) -> tuple[list[dict], list[dict]]:
        """(agent_days rows, agent_state_days rows) of the site for dates in [from_date, to_date)."""
        a, s = S.agent_days, S.agent_state_days
        with self.engine.connect() as conn:
            days = conn.execute(
                sa.select(a).where(a.c.site == site, a.c.date >= from_date, a.c.date < to_date).order_by(a.c.date, a.c.agent)
            )
            states = conn.execute(
                sa.select(s).where(s.c.site == site, s.c.date >= from_date, s.c.date < to_date).order_by(s.c.date, s.c.agent, s.c.state)
            )
            return [dict(r._mapping) for r in days], [dict(r._mapping) for r in states]

    def agent_interval_rows(self, site: str, from_ms: int, to_ms: int, agents: Optional[Sequence[str]] = None) -> tuple[list[dict], list[dict]]:
        """(agent_queue_intervals rows, agent_state_intervals rows) of the site with
        ``from_ms <= start_ms < to_ms`` (of ``agents`` only, if given)."""
        a, s = S.agent_queue_intervals, S.agent_state_intervals
        qa = sa.select(a).where(a.c.site == site, a.c.start_ms >= from_ms, a.c.start_ms < to_ms)
        qs = sa.select(s).where(s.c.site == site, s.c.start_ms >= from_ms, s.c.start_ms < to_ms)
        if agents is not None:
            qa = qa.where(a.c.agent.in_(list(agents)))
            qs = qs.where(s.c.agent.in_(list(agents)))
        with self.engine.connect() as conn:
            return ([dict(r._mapping) for r in conn.execute(qa.order_by(a.c.start_ms, a.c.agent, a.c.queue))],
                    [dict(r._mapping) for r in conn.execute(qs.order_by(s.c.start_ms, s.c.agent, s.c.state))])

    def alert_rows(self, site: str, from_ms: int, to_ms: int) -> list[dict]:
        t = S.alert_changes
        q = sa.select(t).where(t.c.site == site, t.c.at_ms >= from_ms, t.c.at_ms < to_ms).order_by(t.c.at_ms, t.c.dedup_key)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def was_sent(self, site: str, date: str) -> bool:
        t = S.daily_reports_sent
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.c.site).where(t.c.site == site, t.c.date == date)).first() is not None

    def mark_sent(self, site: str, date: str, sent_ms: int, recipients: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._insert(S.daily_reports_sent)
                         .values(site=site, date=date, sent_ms=sent_ms, recipients=recipients).on_conflict_do_nothing())

    def all_rows(self, table: str) -> list[dict]:
        """Every row of a table in key order (tests compare runs with it)."""
        t = S.metadata.tables[table]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]


def _dedup(rows: Iterable[dict], keys: tuple) -> list[dict]:
    """The last row per key (one statement may not touch a row twice in PostgreSQL)."""
    out: dict[tuple, dict] = {}
    for r in rows:
        out[tuple(r[k] for k in keys)] = r
    return list(out.values())


def _hour_sum(col, name: str):
    """An hour's value of an interval column: the largest wait the largest, a sum the sum; a sum
    added by a later migration (``ADDED_SUMS``) is unknown (NULL) for an hour with any interval
    written before it, not the sum of the known part."""
    if name == "max_wait_ms":
        return sa.func.max(col)
    if name in S.ADDED_SUMS:
        return sa.case((sa.func.count(col) == sa.func.count(), sa.func.sum(col)), else_=sa.null())
    return sa.func.sum(col)
