"""The history tables, one schema for PostgreSQL and SQLite (SQLAlchemy Core).

Every figure of docs/metrics.md is kept as the *sums* behind it, so an hour, a
day, a week, a site or a region is the sum of its rows, never an average of
averages:

* ``queue_intervals`` — site × queue × 15-minute interval (UTC epoch ms of its
  start; ``utc_offset_min`` is the site's offset then, so reports show local
  time without the floor config): offered, answered, abandoned, short abandons,
  transferred, answered within T, wait (answered; abandoned apart) and handle-time sums, handled, the
  largest wait, and the wait histogram (sparse JSON ``{bin: count}``, the
  percentiles' mergeable form).
* ``agent_days`` / ``agent_state_days`` — site × agent × local date: handled,
  handle-time sum; time in each state (``not_ready:<reason>`` per reason). The
  core keeps agent totals per day, so that is their grain.
* ``queue_hours`` — the same sums per site × queue × local hour (migration
  0004), recomputed from the stored intervals in the transaction that writes
  them (stream.history.store), so a month by hour reads a quarter of the rows
  and groups none.
* ``agent_queue_intervals`` / ``agent_state_intervals`` — site × agent ×
  15-minute interval (migration 0003): per queue, handled, handle, talk and
  wrap-up time sums (in the interval where the handling ended, as the queue
  rows count AHT); time in each state (``not_ready:<reason>`` per reason).
  Hours, days and teams add these up.
* ``alert_changes`` — every alert state change (raised, acknowledged,
  silenced, resolved), keyed by its dedup key (alert id and change).

``as_of_ms`` on a row is the site's event-time watermark when it was written: an
upsert only replaces a row with one at least as far along the log, so a stale
writer (the worker a partition just left) never undoes a newer one.

No caller data of any kind: no caller numbers, no contact ids, only counts and sums.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, Text, Index

metadata = MetaData()

# The additive counters of a queue interval (QueueStats' COUNTERS, by their column names).
QUEUE_SUMS = (
    ("offered", "offered"),
    ("answered", "answered"),
    ("abandoned", "abandoned"),
    ("short_abandoned", "short_abandoned"),
    ("transferred", "transferred"),
    ("within", "within_t"),
    ("wait_sum", "wait_sum_ms"),
    ("abandon_wait_sum", "abandon_wait_sum_ms"),
    ("max_wait", "max_wait_ms"),
    ("handled", "handled"),
    ("handle_sum", "handle_sum_ms"),
)

# Counters added after the first schema: NULL in the rows written before their migration (unknown, not 0).
ADDED_SUMS = ("abandon_wait_sum_ms",)  # 0003_abandoned_wait

queue_intervals = Table(
    "queue_intervals",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True),
    Column("queue", String(100), primary_key=True),
    Column("utc_offset_min", Integer, nullable=False),
    Column("sl_variant", String(32), nullable=False),
    *[Column(col, BigInteger, nullable=col in ADDED_SUMS) for _, col in QUEUE_SUMS],
    Column("wait_hist", Text, nullable=False),
    Column("as_of_ms", BigInteger, nullable=False),
    # In SQLite the rows live in key order (site, time, queue): a site's month is one range.
    sqlite_with_rowid=False,
)

# The intervals of a local hour added up (Store._write_hours): start_ms is the hour's
# first instant in UTC (local hour start minus the offset).
queue_hours = Table(
    "queue_hours",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True),
    Column("queue", String(100), primary_key=True),
    Column("utc_offset_min", Integer, nullable=False),
    Column("sl_variant", String(32), nullable=False),
    *[Column(col, BigInteger, nullable=col in ADDED_SUMS) for _, col in QUEUE_SUMS],
    Column("as_of_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

agent_days = Table(
    "agent_days",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("agent", String(200), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("handled", BigInteger, nullable=False),
    Column("handle_sum_ms", BigInteger, nullable=False),
    Column("as_of_ms", BigInteger, nullable=False),
)

agent_state_days = Table(
    "agent_state_days",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("agent", String(200), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("state", String(200), primary_key=True),
    Column("ms", BigInteger, nullable=False),
    Column("as_of_ms", BigInteger, nullable=False),
)

agent_queue_intervals = Table(
    "agent_queue_intervals",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True),
    Column("agent", String(200), primary_key=True),
    Column("queue", String(100), primary_key=True),
    Column("utc_offset_min", Integer, nullable=False),
    Column("handled", BigInteger, nullable=False),
    Column("handle_sum_ms", BigInteger, nullable=False),
    Column("talk_sum_ms", BigInteger, nullable=False),
    Column("wrap_sum_ms", BigInteger, nullable=False),
    Column("as_of_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

agent_state_intervals = Table(
    "agent_state_intervals",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("start_ms", BigInteger, primary_key=True),
    Column("agent", String(200), primary_key=True),
    Column("state", String(200), primary_key=True),
    Column("utc_offset_min", Integer, nullable=False),
    Column("ms", BigInteger, nullable=False),
    Column("as_of_ms", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

alert_changes = Table(
    "alert_changes",
    metadata,
    # The engine's dedup_key: one per alert state change (docs/alerts.md).
    Column("dedup_key", String(400), primary_key=True),
    Column("alert_id", String(400), nullable=False),
    Column("change", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("site", String(100), nullable=False),
    Column("queue", String(100)),
    Column("rule", String(100)),
    Column("severity", String(32)),
    Column("value", Float),
    Column("threshold", Float),
    Column("message_en", Text),
    Column("message_zh", Text),
    Column("agent", String(200)),
    Column("acked_by", String(200)),
)
Index("ix_alert_changes_site_at", alert_changes.c.site, alert_changes.c.at_ms)

# The daily reports sent (stream/history/daily.py): a restart never sends one twice.
daily_reports_sent = Table(
    "daily_reports_sent",
    metadata,
    Column("site", String(100), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("sent_ms", BigInteger, nullable=False),
    Column("recipients", Integer, nullable=False),
)

# The key of each kind of row a Batch carries (stream.history.store.Batch's fields).
KEYS = {
    "queue": ("site", "start_ms", "queue"),
    "agent": ("site", "agent", "date"),
    "agent_state": ("site", "agent", "date", "state"),
    "agent_queue_ival": ("site", "start_ms", "agent", "queue"),
    "agent_state_ival": ("site", "start_ms", "agent", "state"),
    "alerts": ("dedup_key",),
}
