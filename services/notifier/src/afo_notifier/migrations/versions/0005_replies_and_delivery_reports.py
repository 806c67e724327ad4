"""notifications: the number an SMS is sent from (an agent's, for its replies) and the provider's delivery
report (status, error code, when), found by the provider's message id

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("sender", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("delivery_status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("delivery_error_code", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("delivery_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_notifications_tenant_id_provider_id", ["tenant_id", "provider_id"])


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_tenant_id_provider_id")
        batch.drop_column("delivery_updated_at")
        batch.drop_column("delivery_error_code")
        batch.drop_column("delivery_status")
        batch.drop_column("sender")
