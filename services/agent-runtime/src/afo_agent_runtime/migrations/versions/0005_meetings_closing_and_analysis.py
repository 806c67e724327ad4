"""conversations end (closed, opted out, idle) and are analysed once; a lead's summary

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("idle_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("close_reason", sa.String(16), nullable=True))
        batch.add_column(sa.Column("analysis", sa.JSON(), nullable=True))
        batch.create_index("ix_conversations_idle_at", ["idle_at"])
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("summary", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("summary")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_idle_at")
        batch.drop_column("analysis")
        batch.drop_column("close_reason")
        batch.drop_column("closed_at")
        batch.drop_column("idle_at")
