"""The next position of a message in its conversation: a counter per conversation, advanced in the same
transaction that records the message, so positions have no gaps and follow the order of acceptance."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import conversation_sequences


class SequenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next(self, tenant_id: str, conversation_id: str) -> int:
        """1 for a conversation's first message, then 2, 3, … (concurrent callers queue on the row)."""
        table = conversation_sequences
        dialect = self._session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert_(table)
            .values(tenant_id=tenant_id, conversation_id=conversation_id, last_sequence=1)
            .on_conflict_do_update(index_elements=[table.c.tenant_id, table.c.conversation_id],
                                   set_={"last_sequence": table.c.last_sequence + 1})
            .returning(table.c.last_sequence)
        )
        return int((await self._session.execute(statement)).scalar_one())
