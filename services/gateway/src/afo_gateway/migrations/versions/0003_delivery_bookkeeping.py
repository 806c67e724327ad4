"""outbox attempts and dead letters, inbox pruning index

Revision ID: 0003
Revises: 0002
"""

from afo_common.messaging.migration_ops import add_delivery_bookkeeping, drop_delivery_bookkeeping

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_delivery_bookkeeping()


def downgrade() -> None:
    drop_delivery_bookkeeping()
