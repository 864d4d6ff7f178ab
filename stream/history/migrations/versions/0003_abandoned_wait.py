"""The abandoned contacts' total wait per queue interval: with the answered waits, the exposure that
mean patience is estimated from (Brown et al. 2005: total wait ÷ abandons), so plans made from the
store can use Erlang A. Rows written before it keep NULL there: their abandoned waits are unknown
(not 0: an abandon can wait 0 s), and their days give no patience.

Revision ID: 0003_abandoned_wait
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_abandoned_wait"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queue_intervals", sa.Column("abandon_wait_sum_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue_intervals") as b:
        b.drop_column("abandon_wait_sum_ms")
