"""audit_log: an index on (tenant_id, id), for its pages newest first

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``GET /v1/audit`` reads a tenant's entries by id (UUIDv7: the order they were recorded), below a cursor;
    # the (tenant_id, at) index would leave every page sorting all of the tenant's entries.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_tenant_id_id", ["tenant_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_tenant_id_id")
