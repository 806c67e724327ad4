"""reminded_meetings: the meetings whose reminders were asked for, so a channel learnt later is planned too

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminded_meetings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("meeting_id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("offsets_s", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "meeting_id", name=op.f("pk_reminded_meetings")),
    )
    op.create_index("ix_reminded_meetings_tenant_id_lead_id_start", "reminded_meetings",
                    ["tenant_id", "lead_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_reminded_meetings_tenant_id_lead_id_start", table_name="reminded_meetings")
    op.drop_table("reminded_meetings")
