"""CRM sync: the lead projection, each lead's record per CRM, the run record of syncs and their provider calls,
and the claim a replica holds on a lead while it syncs it

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_claims',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'lead_id', name=op.f('pk_crm_claims'))
    )
    op.create_table('crm_leads',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('conversation_id', sa.String(length=40), nullable=True),
    sa.Column('agent_id', sa.String(length=40), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('fields_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('qualified', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('analyzed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('meeting_id', sa.String(length=40), nullable=True),
    sa.Column('meeting_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('meeting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_crm_leads'))
    )
    op.create_table('crm_links',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'lead_id', 'provider', name=op.f('pk_crm_links'))
    )
    op.create_table('crm_syncs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=True),
    sa.Column('record_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_syncs')),
    sa.UniqueConstraint('tenant_id', 'event_id', name='uq_crm_syncs_tenant_id_event_id')
    )
    with op.batch_alter_table('crm_syncs', schema=None) as batch_op:
        batch_op.create_index('ix_crm_syncs_tenant_id_lead_id_id', ['tenant_id', 'lead_id', 'id'], unique=False)

    op.create_table('provider_calls',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('sync_id', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'idempotency_key', name=op.f('pk_provider_calls'))
    )
    with op.batch_alter_table('provider_calls', schema=None) as batch_op:
        batch_op.create_index('ix_provider_calls_sync_id', ['sync_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('provider_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_calls_sync_id')

    op.drop_table('provider_calls')
    with op.batch_alter_table('crm_syncs', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_syncs_tenant_id_lead_id_id')

    op.drop_table('crm_syncs')
    op.drop_table('crm_links')
    op.drop_table('crm_leads')
    op.drop_table('crm_claims')
