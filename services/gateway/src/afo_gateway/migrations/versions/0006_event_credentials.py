"""event credentials (integrators' NATS access)

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_credentials',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_credentials')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_event_credentials_secret_hash'))
    )
    with op.batch_alter_table('event_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_credentials_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_credentials_tenant_id'))

    op.drop_table('event_credentials')
