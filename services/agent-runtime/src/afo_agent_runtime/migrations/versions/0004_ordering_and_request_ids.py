"""message order per conversation, request ids of creates

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
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_agents_tenant_id_request_id", ["tenant_id", "request_id"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_sequence", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_conversations_tenant_id_request_id", ["tenant_id", "request_id"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("uq_conversations_tenant_id_request_id", type_="unique")
        batch.drop_column("request_id")
        batch.drop_column("last_sequence")
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint("uq_agents_tenant_id_request_id", type_="unique")
        batch.drop_column("request_id")
