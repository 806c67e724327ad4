"""operators are the platform's: dead_letter_actions, and no tenant keeps an operator

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The operations tenant (``domain/access.py``): the only one whose users may be operators.
PLATFORM_TENANT_ID = "ten_platform"


def upgrade() -> None:
    op.create_table(
        "dead_letter_actions",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("num_delivered", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Operators a tenant made before the role became the platform's see that tenant's data no longer: members.
    op.execute(sa.text("UPDATE users SET role = 'member' WHERE role = 'operator' AND tenant_id <> :platform")
               .bindparams(platform=PLATFORM_TENANT_ID))


def downgrade() -> None:
    op.drop_table("dead_letter_actions")
