"""The daily reports sent: one row per site and local date, so a restart never sends one twice.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_reports_sent",
        sa.Column("site", sa.String(100), primary_key=True),
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daily_reports_sent")
