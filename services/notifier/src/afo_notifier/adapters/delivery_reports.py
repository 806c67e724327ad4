"""Providers' delivery reports on the notifications they are about, found by the provider's message id (the
tenant's, so a report can only touch its own tenant's rows): on the database and in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import as_stored
from afo_notifier.adapters.tables import notifications

if TYPE_CHECKING:
    from afo_notifier.adapters.memory import MemoryTables


class DeliveryReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, tenant_id: str, provider_id: str, status: str, error_code: str | None,
                     now: datetime) -> str | None:
        keys = (notifications.c.tenant_id == tenant_id, notifications.c.provider_id == provider_id)
        found = (await self._session.execute(select(notifications.c.id).where(*keys).limit(1))).first()
        if found is None:
            return None
        await self._session.execute(update(notifications).where(*keys).values(
            delivery_status=status, delivery_error_code=error_code, delivery_updated_at=now))
        return str(found.id)


class MemoryDeliveryReports:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def record(self, tenant_id: str, provider_id: str, status: str, error_code: str | None,
                     now: datetime) -> str | None:
        for row in self._t.notifications.values():
            if (row.tenant_id, row.provider_id) == (tenant_id, provider_id):
                self._t.notifications[row.id] = as_stored(replace(
                    row, delivery_status=status, delivery_error_code=error_code, delivery_updated_at=now))
                return row.id
        return None
