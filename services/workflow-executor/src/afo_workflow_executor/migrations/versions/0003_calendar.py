"""calendars, bookings and the cells bookings occupy (unique per calendar: no double booking)

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('booking_cells',
    sa.Column('calendar_id', sa.String(length=40), nullable=False),
    sa.Column('cell_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('booking_id', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('calendar_id', 'cell_start', name=op.f('pk_booking_cells'))
    )
    with op.batch_alter_table('booking_cells', schema=None) as batch_op:
        batch_op.create_index('ix_booking_cells_booking_id', ['booking_id'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('calendar_id', sa.String(length=40), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=True),
    sa.Column('conversation_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('tenant_id', 'request_id', name='uq_bookings_tenant_id_request_id')
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_tenant_id_calendar_id_held_from', ['tenant_id', 'calendar_id', 'held_from'], unique=False)

    op.create_table('calendars',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('owner_kind', sa.String(length=8), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars'))
    )
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.create_index('ix_calendars_tenant_id_id', ['tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_calendars_tenant_id_owner', ['tenant_id', 'owner_kind', 'owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calendars', schema=None) as batch_op:
        batch_op.drop_index('ix_calendars_tenant_id_owner')
        batch_op.drop_index('ix_calendars_tenant_id_id')

    op.drop_table('calendars')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_tenant_id_calendar_id_held_from')

    op.drop_table('bookings')
    with op.batch_alter_table('booking_cells', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_cells_booking_id')

    op.drop_table('booking_cells')
