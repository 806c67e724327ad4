"""anomaly detection: each signal's open bucket and baseline, and the anomalies found

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anomaly_signals',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('signal', sa.String(length=32), nullable=False),
    sa.Column('scope_id', sa.String(length=64), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=False),
    sa.Column('var', sa.Float(), nullable=False),
    sa.Column('buckets', sa.Integer(), nullable=False),
    sa.Column('anomalous_run', sa.Integer(), nullable=False),
    sa.Column('quiet_run', sa.Integer(), nullable=False),
    sa.Column('open_anomaly_id', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'signal', 'scope_id', name=op.f('pk_anomaly_signals'))
    )
    with op.batch_alter_table('anomaly_signals', schema=None) as batch_op:
        batch_op.create_index('ix_anomaly_signals_bucket_start', ['bucket_start'], unique=False)

    op.create_table('anomalies',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('signal', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('scope_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('observed', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('baseline_mean', sa.Float(), nullable=False),
    sa.Column('baseline_sigma', sa.Float(), nullable=False),
    sa.Column('deviation', sa.Float(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomalies'))
    )
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.create_index('ix_anomalies_tenant_id_detected_at_id', ['tenant_id', 'detected_at', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.drop_index('ix_anomalies_tenant_id_detected_at_id')

    op.drop_table('anomalies')
    with op.batch_alter_table('anomaly_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_anomaly_signals_bucket_start')

    op.drop_table('anomaly_signals')
