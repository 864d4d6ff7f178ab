"""Queue sums per local hour (the month-by-hour report reads these), filled from the intervals.

Revision ID: 0005_queue_hours
Revises: 0004_agent_intervals
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_queue_hours"
down_revision = "0004_agent_intervals"
branch_labels = None
depends_on = None

SUMS = ("offered", "answered", "abandoned", "short_abandoned", "transferred", "within_t", "wait_sum_ms", "max_wait_ms",
        "handled", "handle_sum_ms")
ADDED = ("abandon_wait_sum_ms",)  # 0003_abandoned_wait: NULL where unknown


def upgrade() -> None:
    op.create_table(
        "queue_hours",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("start_ms", sa.BigInteger, primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("utc_offset_min", sa.Integer, nullable=False),
        sa.Column("sl_variant", sa.String(32), nullable=False),
        *[sa.Column(c, sa.BigInteger, nullable=False) for c in SUMS],
        *[sa.Column(c, sa.BigInteger, nullable=True) for c in ADDED],
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    # Hours of the intervals already kept (integer division: start_ms and offsets are integers).
    hour = "((start_ms + utc_offset_min * 60000) / 3600000) * 3600000 - utc_offset_min * 60000"
    sums = ", ".join([f"MAX({c})" if c == "max_wait_ms" else f"SUM({c})" for c in SUMS]
                     # An hour with an interval from before 0003 has the added sum unknown, not partial.
                     + [f"CASE WHEN COUNT({c}) = COUNT(*) THEN SUM({c}) END" for c in ADDED])
    op.execute(
        f"INSERT INTO queue_hours (site, start_ms, queue, utc_offset_min, sl_variant, {', '.join(SUMS + ADDED)}, as_of_ms) "
        f"SELECT site, {hour}, queue, utc_offset_min, MAX(sl_variant), {sums}, MAX(as_of_ms) FROM queue_intervals "
        f"GROUP BY site, {hour}, queue, utc_offset_min"
    )


def downgrade() -> None:
    op.drop_table("queue_hours")
