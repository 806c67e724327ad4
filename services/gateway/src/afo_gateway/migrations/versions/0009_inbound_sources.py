"""inbound_sources (speed to lead: web forms and lead forms posting leads)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_sources",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("field_map", sa.JSON(), nullable=False),
        sa.Column("phone_region", sa.String(length=2), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbound_sources_tenant_id", "inbound_sources", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_sources_tenant_id", table_name="inbound_sources")
    op.drop_table("inbound_sources")
