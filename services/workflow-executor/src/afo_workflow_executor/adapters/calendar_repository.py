"""Queries on calendars. Every method is scoped to one tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_workflow_executor.adapters.tables import calendars
from afo_workflow_executor.domain.calendar import CalendarSettings
from afo_workflow_executor.domain.records import CalendarRow


def calendar(row: Any) -> CalendarRow:
    return CalendarRow(row.id, row.tenant_id, row.owner_kind, row.owner_id, CalendarSettings.from_json(row.settings),
                       row.created_at, row.updated_at)


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: CalendarRow) -> None:
        await self._session.execute(insert(calendars).values(
            id=row.id, tenant_id=row.tenant_id, owner_kind=row.owner_kind, owner_id=row.owner_id,
            settings=row.settings.to_json(), created_at=row.created_at, updated_at=row.updated_at))

    async def get(self, tenant_id: str, calendar_id: str) -> CalendarRow | None:
        result = await self._session.execute(
            select(calendars).where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id))
        row = result.first()
        return calendar(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[CalendarRow]:
        query = select(calendars).where(calendars.c.tenant_id == tenant_id)
        if before:
            query = query.where(calendars.c.id < before)
        result = await self._session.execute(query.order_by(calendars.c.id.desc()).limit(limit))
        return [calendar(r) for r in result]

    async def save(self, row: CalendarRow) -> None:
        await self._session.execute(
            update(calendars).where(calendars.c.tenant_id == row.tenant_id, calendars.c.id == row.id)
            .values(settings=row.settings.to_json(), updated_at=row.updated_at))

    async def of_owner(self, tenant_id: str, owner_kind: str, owner_id: str) -> CalendarRow | None:
        result = await self._session.execute(
            select(calendars).where(calendars.c.tenant_id == tenant_id, calendars.c.owner_kind == owner_kind,
                                    calendars.c.owner_id == owner_id))
        row = result.first()
        return calendar(row) if row else None

    async def ensure(self, row: CalendarRow) -> CalendarRow:
        if (found := await self.of_owner(row.tenant_id, row.owner_kind, row.owner_id)) is not None:
            return found
        try:
            async with self._session.begin_nested():
                await self.add(row)
        except IntegrityError:
            # Another request made the owner's calendar meanwhile: the unique owner key refused this one.
            found = await self.of_owner(row.tenant_id, row.owner_kind, row.owner_id)
            if found is None:
                raise
            return found
        return row
