"""calls' recordings

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("recording", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("recording_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recording_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("recording_s")
        batch.drop_column("recording_bytes")
        batch.drop_column("recording")
