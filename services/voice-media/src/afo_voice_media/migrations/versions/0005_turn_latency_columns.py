"""analytics: each turn's main latency components as columns (from its latency JSON), and an index on the
tenant's turns by start that holds them

Revision ID: 0005
Revises: 0004
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COMPONENTS = ("turn_decision_ms", "stt_final_ms", "first_reply_delta_ms", "first_tts_audio_ms", "first_audio_out_ms")


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        for name in COMPONENTS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.create_index("ix_turns_tenant_started", ["tenant_id", "started_at", "call_id", *COMPONENTS])
    _backfill()


def _backfill() -> None:
    """Turns recorded before: their components read from the JSON (few rows: one per spoken turn)."""
    turns = sa.table("turns", sa.column("call_id", sa.String), sa.column("idx", sa.Integer),
                     sa.column("latency", sa.JSON), *(sa.column(name, sa.Integer) for name in COMPONENTS))
    bind = op.get_bind()
    rows = bind.execute(sa.select(turns.c.call_id, turns.c.idx, turns.c.latency)
                        .where(turns.c.latency.is_not(None))).all()
    for call_id, idx, latency in rows:
        values = _components(latency)
        if values:
            bind.execute(turns.update().where(turns.c.call_id == call_id, turns.c.idx == idx).values(**values))


def _components(latency: Any) -> dict[str, int]:
    if not isinstance(latency, dict):
        return {}
    return {name: round(latency[name]) for name in COMPONENTS if isinstance(latency.get(name), int | float)}


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_index("ix_turns_tenant_started")
        for name in reversed(COMPONENTS):
            batch.drop_column(name)
