"""cancelled meetings, so a late request for their reminders schedules nothing

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cancelled_meetings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("meeting_id", sa.String(length=40), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "meeting_id", name=op.f("pk_cancelled_meetings")),
    )


def downgrade() -> None:
    op.drop_table("cancelled_meetings")
