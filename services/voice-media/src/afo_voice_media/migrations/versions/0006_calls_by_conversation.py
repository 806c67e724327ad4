"""calls listed by the conversation they belong to (the console's conversation page, ``GET
/v1/calls?conversation_id=``): an index on the tenant's calls by conversation

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_tenant_conversation", "calls", ["tenant_id", "conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_calls_tenant_conversation", table_name="calls")
