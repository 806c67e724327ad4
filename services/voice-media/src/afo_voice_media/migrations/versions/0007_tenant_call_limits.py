"""tenant_call_limits: voice-media's copy of each tenant's call limits, from the plan events

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_call_limits",
        sa.Column("tenant_id", sa.String(length=40), primary_key=True),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("concurrent_calls", sa.BigInteger(), nullable=True),
        sa.Column("voice_minutes_per_month", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_call_limits")
