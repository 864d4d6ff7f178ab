"""Agent rows per 15-minute interval: per queue handled, handle/talk/wrap-up sums; ms per state.

Revision ID: 0004_agent_intervals
Revises: 0003_abandoned_wait
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_agent_intervals"
down_revision = "0003_abandoned_wait"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_queue_intervals",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("start_ms", sa.BigInteger, primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("utc_offset_min", sa.Integer, nullable=False),
        sa.Column("handled", sa.BigInteger, nullable=False),
        sa.Column("handle_sum_ms", sa.BigInteger, nullable=False),
        sa.Column("talk_sum_ms", sa.BigInteger, nullable=False),
        sa.Column("wrap_sum_ms", sa.BigInteger, nullable=False),
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "agent_state_intervals",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("start_ms", sa.BigInteger, primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(200), primary_key=True),
        sa.Column("utc_offset_min", sa.Integer, nullable=False),
        sa.Column("ms", sa.BigInteger, nullable=False),
        sa.Column("as_of_ms", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("agent_state_intervals")
    op.drop_table("agent_queue_intervals")
