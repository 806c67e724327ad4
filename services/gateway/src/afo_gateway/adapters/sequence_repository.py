"""The next position of a message in its conversation: a counter per conversation, advanced in the same
transaction that records the message, so positions have no gaps and follow the order of acceptance. On the
path of every message, so on the driver itself (``afo_common.hot_sql``)."""

from __future__ import annotations

from afo_common.hot_sql import HotTransaction, Sql

NEXT = Sql(
    "INSERT INTO conversation_sequences (tenant_id, conversation_id, last_sequence) VALUES ($1, $2, 1) "
    "ON CONFLICT (tenant_id, conversation_id) DO UPDATE "
    "SET last_sequence = conversation_sequences.last_sequence + 1 RETURNING last_sequence"
)


class SequenceRepository:
    def __init__(self, tx: HotTransaction) -> None:
        self._tx = tx

    async def next(self, tenant_id: str, conversation_id: str) -> int:
        """1 for a conversation's first message, then 2, 3, … (concurrent callers queue on the row)."""
        row = await self._tx.fetchrow(NEXT, tenant_id, conversation_id)
        assert row is not None  # an upsert with RETURNING always returns its row
        return int(row["last_sequence"])
