"""meetings: what a booking needs to be shown and answered again (agent, zone, title, outside calendar,
reschedule, who cancelled), one calendar per owner, and the answers of failed booking requests

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('provider', sa.String(length=16), server_default='builtin', nullable=False))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('rescheduled_from', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_bookings_tenant_id_id', ['tenant_id', 'id'], unique=False)

    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index('ix_calendars_tenant_id_owner')
        batch_op.create_index('uq_calendars_tenant_id_owner', ['tenant_id', 'owner_kind', 'owner_id'], unique=True)

    op.create_table('meeting_failures',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'request_id', name=op.f('pk_meeting_failures'))
    )


def downgrade() -> None:
    op.drop_table('meeting_failures')
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index('uq_calendars_tenant_id_owner')
        batch_op.create_index('ix_calendars_tenant_id_owner', ['tenant_id', 'owner_kind', 'owner_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_tenant_id_id')
        batch_op.drop_column('cancelled_by')
        batch_op.drop_column('rescheduled_from')
        batch_op.drop_column('url')
        batch_op.drop_column('external_id')
        batch_op.drop_column('provider')
        batch_op.drop_column('title')
        batch_op.drop_column('time_zone')
        batch_op.drop_column('agent_id')
