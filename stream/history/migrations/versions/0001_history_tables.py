"""The first history tables: queue intervals, agent days and states, alert changes.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SUMS = ("offered", "answered", "abandoned", "short_abandoned", "transferred", "within_t",
         "wait_sum_ms", "max_wait_ms", "handled", "handle_sum_ms")


def upgrade() -> None:
    op.create_table(
        "queue_intervals",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("start_ms", sa.BigInteger, primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("utc_offset_min", sa.Integer, nullable=False),
        sa.Column("sl_variant", sa.String(32), nullable=False),
        *[sa.Column(c, sa.BigInteger, nullable=False) for c in _SUMS],
        sa.Column("wait_hist", sa.Text, nullable=False),
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "agent_days",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("handled", sa.BigInteger, nullable=False),
        sa.Column("handle_sum_ms", sa.BigInteger, nullable=False),
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "agent_state_days",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("state", sa.String(200), primary_key=True),
        sa.Column("ms", sa.BigInteger, nullable=False),
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "alert_changes",
        sa.Column("dedup_key", sa.String(400), primary_key=True),
        sa.Column("alert_id", sa.String(400), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("queue", sa.String(100)),
        sa.Column("rule", sa.String(100)),
        sa.Column("severity", sa.String(32)),
        sa.Column("value", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("message_en", sa.Text),
        sa.Column("message_zh", sa.Text),
        sa.Column("agent", sa.String(200)),
        sa.Column("acked_by", sa.String(200)),
    )
    op.create_index("ix_alert_changes_site_at", "alert_changes", ["site", "at_ms"])


def downgrade() -> None:
    op.drop_table("alert_changes")
    op.drop_table("agent_state_days")
    op.drop_table("agent_days")
    op.drop_table("queue_intervals")
