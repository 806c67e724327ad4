"""chunk sentences and their vectors

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
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentence_space', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('sentence_texts', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sentence_vectors', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('sentence_vectors')
        batch_op.drop_column('sentence_texts')
        batch_op.drop_column('sentence_space')
