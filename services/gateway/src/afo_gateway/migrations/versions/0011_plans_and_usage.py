"""plans, tenant_plans, usage_counters: the three plans seeded, every tenant on free

Revision ID: 0011
Revises: 0010
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MB = 1024 * 1024
LIMITS = ("agents", "knowledge_bytes", "messages_per_month", "voice_minutes_per_month", "concurrent_calls",
          "requests_per_minute")
# The plans as first offered (afo_gateway.domain.plans.DEFAULT_LIMITS, copied: a migration never changes).
SEEDED = {
    "free": (3, 50 * MB, 1_000, 60, 1, 300),
    "pro": (25, 2_048 * MB, 50_000, 3_000, 10, 3_000),
    "enterprise": (None, None, None, None, None, None),
}


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("name", sa.String(length=32), primary_key=True),
        *(sa.Column(limit, sa.BigInteger(), nullable=True) for limit in LIMITS),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    tenant_plans = op.create_table(
        "tenant_plans",
        sa.Column("tenant_id", sa.String(length=40), primary_key=True),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tenant_plans_plan", "tenant_plans", ["plan"])
    op.create_table(
        "usage_counters",
        sa.Column("tenant_id", sa.String(length=40), primary_key=True),
        sa.Column("period", sa.String(length=7), primary_key=True),
        sa.Column("metric", sa.String(length=24), primary_key=True),
        sa.Column("amount", sa.Float(), nullable=False),
    )
    # Naive UTC: what the gateway's UtcDateTime stores on SQLite, and what PostgreSQL takes as UTC.
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(plans, [{"name": name, **dict(zip(LIMITS, limits, strict=True)), "updated_at": now}
                           for name, limits in SEEDED.items()])
    # Tenants from before plans start on free; a periodic job of the gateway announces them (announced false).
    tenants = sa.table("tenants", sa.column("id", sa.String()))
    op.execute(tenant_plans.insert().from_select(
        ["tenant_id", "plan", "revision", "announced", "changed_at"],
        sa.select(tenants.c.id, sa.literal("free"), sa.literal(1), sa.false(),
                  sa.literal(now, sa.DateTime(timezone=True)))))


def downgrade() -> None:
    op.drop_table("usage_counters")
    op.drop_index("ix_tenant_plans_plan", table_name="tenant_plans")
    op.drop_table("tenant_plans")
    op.drop_table("plans")
