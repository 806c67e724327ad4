"""per-conversation message sequence

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
    op.create_table(
        "conversation_sequences",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "conversation_id", name=op.f("pk_conversation_sequences")),
    )


def downgrade() -> None:
    op.drop_table("conversation_sequences")
