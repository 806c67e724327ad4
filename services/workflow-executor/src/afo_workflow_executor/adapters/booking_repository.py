"""Queries on bookings and the cells they occupy. Every method is scoped to one tenant.

``book`` never checks whether the time is free before writing: it writes the booking and its cells under a
savepoint, and the cells' key (calendar, cell start) refuses the second booking of any cell, whatever the
concurrency. On PostgreSQL a competing insert of the same cell waits for the first transaction and fails once
it commits; on SQLite writers are serialised. Cells are written in time order, so two overlapping bookings
wait on each other in one direction only (no deadlock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_workflow_executor.adapters.tables import booking_cells, bookings
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.records import BookingRow, BookingStatus, CancelledBy, Taken
from afo_workflow_executor.domain.slots import cells


def booking(row: Any) -> BookingRow:
    return BookingRow(row.id, row.tenant_id, row.calendar_id, row.start, row.end, row.held_from, row.held_until,
                      row.status, row.request_id, row.lead_id, row.conversation_id, row.created_at, row.updated_at,
                      agent_id=row.agent_id, time_zone=row.time_zone, title=row.title, provider=row.provider,
                      external_id=row.external_id, url=row.url, rescheduled_from=row.rescheduled_from,
                      cancelled_by=row.cancelled_by)


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_request(self, tenant_id: str, request_id: str) -> BookingRow | None:
        result = await self._session.execute(
            select(bookings).where(bookings.c.tenant_id == tenant_id, bookings.c.request_id == request_id))
        row = result.first()
        return booking(row) if row else None

    async def book(self, row: BookingRow, step: timedelta) -> BookingRow | Taken:
        if (first := await self.by_request(row.tenant_id, row.request_id)) is not None:
            return first
        occupied = [{"calendar_id": row.calendar_id, "cell_start": cell, "tenant_id": row.tenant_id,
                     "booking_id": row.id} for cell in cells(row.held, step)]
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(bookings).values(
                    id=row.id, tenant_id=row.tenant_id, calendar_id=row.calendar_id, start=row.start, end=row.end,
                    held_from=row.held_from, held_until=row.held_until, status=row.status,
                    request_id=row.request_id, lead_id=row.lead_id, conversation_id=row.conversation_id,
                    created_at=row.created_at, updated_at=row.updated_at, agent_id=row.agent_id,
                    time_zone=row.time_zone, title=row.title, provider=row.provider, external_id=row.external_id,
                    url=row.url, rescheduled_from=row.rescheduled_from, cancelled_by=row.cancelled_by))
                await self._session.execute(insert(booking_cells), occupied)
        except IntegrityError:
            # The same request committed meanwhile (its booking is the answer), or a cell is occupied.
            first = await self.by_request(row.tenant_id, row.request_id)
            return first if first is not None else Taken()
        return row

    async def cancel(self, tenant_id: str, booking_id: str, now: datetime,
                     by: CancelledBy | None = None) -> BookingRow | None:
        released = await self.release(tenant_id, booking_id, now, by)
        return released if released is not None else await self.get(tenant_id, booking_id)

    async def release(self, tenant_id: str, booking_id: str, now: datetime,
                      by: CancelledBy | None = None) -> BookingRow | None:
        # Conditional on the status: of two concurrent cancels the second waits for the first's row lock, then
        # finds it cancelled and changes nothing.
        result = await self._session.execute(
            update(bookings).where(bookings.c.tenant_id == tenant_id, bookings.c.id == booking_id,
                                   bookings.c.status == "booked")
            .values(status="cancelled", updated_at=now, cancelled_by=by))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await self._session.execute(
            delete(booking_cells).where(booking_cells.c.tenant_id == tenant_id,
                                        booking_cells.c.booking_id == booking_id))
        return await self.get(tenant_id, booking_id)

    async def busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[Interval]:
        result = await self._session.execute(
            select(bookings.c.held_from, bookings.c.held_until)
            .where(bookings.c.tenant_id == tenant_id, bookings.c.calendar_id == calendar_id,
                   bookings.c.status == "booked", bookings.c.held_from < end, bookings.c.held_until > start)
            .order_by(bookings.c.held_from))
        return [Interval(r.held_from, r.held_until) for r in result]

    async def get(self, tenant_id: str, booking_id: str) -> BookingRow | None:
        result = await self._session.execute(
            select(bookings).where(bookings.c.tenant_id == tenant_id, bookings.c.id == booking_id))
        row = result.first()
        return booking(row) if row else None

    async def page(self, tenant_id: str, calendar_id: str, limit: int, before: str | None) -> list[BookingRow]:
        query = select(bookings).where(bookings.c.tenant_id == tenant_id, bookings.c.calendar_id == calendar_id)
        if before:
            query = query.where(bookings.c.id < before)
        result = await self._session.execute(query.order_by(bookings.c.id.desc()).limit(limit))
        return [booking(r) for r in result]

    async def record_external(self, tenant_id: str, booking_id: str, provider: str, external_id: str,
                              url: str | None) -> None:
        await self._session.execute(
            update(bookings).where(bookings.c.tenant_id == tenant_id, bookings.c.id == booking_id)
            .values(provider=provider, external_id=external_id, url=url))

    async def search(self, tenant_id: str, limit: int, before: str | None, *, agent_id: str | None = None,
                     lead_id: str | None = None, status: BookingStatus | None = None) -> list[BookingRow]:
        query = select(bookings).where(bookings.c.tenant_id == tenant_id)
        for column, wanted in ((bookings.c.agent_id, agent_id),
                               (bookings.c.lead_id, lead_id), (bookings.c.status, status)):
            if wanted is not None:
                query = query.where(column == wanted)
        if before:
            query = query.where(bookings.c.id < before)
        result = await self._session.execute(query.order_by(bookings.c.id.desc()).limit(limit))
        return [booking(r) for r in result]
