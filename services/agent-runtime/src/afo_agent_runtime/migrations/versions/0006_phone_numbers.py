"""agents' phone numbers (unique platform-wide) and each lead phone's latest conversation with an agent

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
        "phone_numbers",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_phone_numbers_tenant_id_agent_id", "phone_numbers", ["tenant_id", "agent_id"])
    op.create_table(
        "contact_conversations",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("agent_id", sa.String(40), primary_key=True),
        sa.Column("phone", sa.String(20), primary_key=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contact_conversations")
    op.drop_index("ix_phone_numbers_tenant_id_agent_id", table_name="phone_numbers")
    op.drop_table("phone_numbers")
