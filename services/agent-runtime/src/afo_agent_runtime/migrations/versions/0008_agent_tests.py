"""agent tests and their runs; what a published version's tests were (passed, or overridden) and the run checked

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_versions") as batch:
        batch.add_column(sa.Column("tests", sa.String(16), nullable=True))
        batch.add_column(sa.Column("test_run_id", sa.String(40), nullable=True))
    op.create_table(
        "agent_tests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("turns", sa.JSON(), nullable=False),
        sa.Column("expectations", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("tenant_id", "request_id", name="uq_agent_tests_tenant_id_request_id"),
    )
    op.create_index("ix_agent_tests_tenant_id_agent_id", "agent_tests", ["tenant_id", "agent_id", "id"])
    op.create_table(
        "agent_test_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_agent_test_runs_tenant_id_agent_id", "agent_test_runs", ["tenant_id", "agent_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_agent_test_runs_tenant_id_agent_id", table_name="agent_test_runs")
    op.drop_table("agent_test_runs")
    op.drop_index("ix_agent_tests_tenant_id_agent_id", table_name="agent_tests")
    op.drop_table("agent_tests")
    with op.batch_alter_table("agent_versions") as batch:
        batch.drop_column("test_run_id")
        batch.drop_column("tests")
