"""What operators did to dead letters, on the database and in memory. Not a tenant's records: a dead letter is the
platform's, found by its id alone (``tenant_id`` says whose event it carried)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import as_stored
from afo_gateway.adapters.tables import dead_letter_actions
from afo_gateway.domain.dead_letters import ActionTaken, AlreadySettled


class DeadLetterActionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: ActionTaken) -> None:
        try:
            await self._session.execute(insert(dead_letter_actions).values(**row.__dict__))
        except IntegrityError as exc:
            raise AlreadySettled(row.id) from exc

    async def get(self, letter_id: str) -> ActionTaken | None:
        row = (await self._session.execute(
            select(dead_letter_actions).where(dead_letter_actions.c.id == letter_id))).first()
        return ActionTaken(**row._mapping) if row else None

    async def of(self, letter_ids: list[str]) -> dict[str, ActionTaken]:
        if not letter_ids:
            return {}
        result = await self._session.execute(
            select(dead_letter_actions).where(dead_letter_actions.c.id.in_(letter_ids)))
        return {r.id: ActionTaken(**r._mapping) for r in result}


@dataclass
class MemoryDeadLetterActions:
    rows: dict[str, ActionTaken] = field(default_factory=dict)

    async def add(self, row: ActionTaken) -> None:
        if row.id in self.rows:
            raise AlreadySettled(row.id)
        self.rows[row.id] = as_stored(row)

    async def get(self, letter_id: str) -> ActionTaken | None:
        row = self.rows.get(letter_id)
        return as_stored(row) if row else None

    async def of(self, letter_ids: list[str]) -> dict[str, ActionTaken]:
        return {i: as_stored(self.rows[i]) for i in letter_ids if i in self.rows}


