"""workflow-executor's repositories in memory: the same interface and answers as the database's
(``handlers/unit_of_work.py``), so a handler test runs in milliseconds. The repository tests run on both, so
this file drifting from the SQL repositories fails a test. The cells are a dict keyed as the table's unique
key, so a second booking of a cell is refused here as there. Rows are copied in and out, times kept in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_workflow_executor.adapters.crm_memory import MemoryCrmLeads, MemoryCrmSyncs
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import CrmLinkRow, CrmSyncRow, ProviderCallRow
from afo_workflow_executor.domain.records import BookingRow, BookingStatus, CalendarRow, CancelledBy, Taken
from afo_workflow_executor.domain.slots import cells
from afo_workflow_executor.handlers.unit_of_work import Store


@dataclass
class MemoryTables:
    calendars: dict[str, CalendarRow] = field(default_factory=dict)
    bookings: dict[str, BookingRow] = field(default_factory=dict)
    cells: dict[tuple[str, datetime], str] = field(default_factory=dict)  # (calendar, cell start) -> booking
    crm_leads: dict[tuple[str, str], LeadRecord] = field(default_factory=dict)  # (tenant, lead)
    crm_syncs: dict[str, CrmSyncRow] = field(default_factory=dict)
    provider_calls: dict[tuple[str, str], ProviderCallRow] = field(default_factory=dict)  # (tenant, key)
    crm_links: dict[tuple[str, str, str], CrmLinkRow] = field(default_factory=dict)  # (tenant, lead, provider)
    crm_claims: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)  # -> (owner, until)
    failures: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (tenant, request) -> answer


class MemoryCalendars:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: CalendarRow) -> None:
        if row.id in self._t.calendars:
            raise ValueError(f"calendar {row.id} exists")
        if await self.of_owner(row.tenant_id, row.owner_kind, row.owner_id) is not None:
            raise ValueError(f"{row.owner_kind} {row.owner_id} has a calendar")
        self._t.calendars[row.id] = _stored(row)

    async def of_owner(self, tenant_id: str, owner_kind: str, owner_id: str) -> CalendarRow | None:
        found = [r for r in self._t.calendars.values() if (r.tenant_id, r.owner_kind, r.owner_id)
                 == (tenant_id, owner_kind, owner_id)]
        return _stored(found[0]) if found else None

    async def ensure(self, row: CalendarRow) -> CalendarRow:
        if (found := await self.of_owner(row.tenant_id, row.owner_kind, row.owner_id)) is not None:
            return found
        await self.add(row)
        return _stored(row)

    async def get(self, tenant_id: str, calendar_id: str) -> CalendarRow | None:
        row = self._t.calendars.get(calendar_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[CalendarRow]:
        rows = [r for r in self._t.calendars.values() if r.tenant_id == tenant_id and (not before or r.id < before)]
        return [_stored(r) for r in sorted(rows, key=lambda r: r.id, reverse=True)[:limit]]

    async def save(self, row: CalendarRow) -> None:
        found = self._t.calendars.get(row.id)
        if found is not None and found.tenant_id == row.tenant_id:
            self._t.calendars[row.id] = _stored(replace(found, settings=row.settings, updated_at=row.updated_at))


class MemoryBookings:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def by_request(self, tenant_id: str, request_id: str) -> BookingRow | None:
        first = [b for b in self._t.bookings.values() if (b.tenant_id, b.request_id) == (tenant_id, request_id)]
        return _stored(first[0]) if first else None

    async def book(self, row: BookingRow, step: timedelta) -> BookingRow | Taken:
        if (first := await self.by_request(row.tenant_id, row.request_id)) is not None:
            return first
        keys = [(row.calendar_id, cell) for cell in cells(row.held, step)]
        if any(key in self._t.cells for key in keys):
            return Taken()
        self._t.bookings[row.id] = _stored(row)
        self._t.cells.update(dict.fromkeys(keys, row.id))
        return _stored(row)

    async def cancel(self, tenant_id: str, booking_id: str, now: datetime,
                     by: CancelledBy | None = None) -> BookingRow | None:
        released = await self.release(tenant_id, booking_id, now, by)
        return released if released is not None else await self.get(tenant_id, booking_id)

    async def release(self, tenant_id: str, booking_id: str, now: datetime,
                      by: CancelledBy | None = None) -> BookingRow | None:
        found = await self.get(tenant_id, booking_id)
        if found is None or found.status == "cancelled":
            return None
        self._t.bookings[booking_id] = _stored(replace(found, status="cancelled", updated_at=now, cancelled_by=by))
        for key in [k for k, holder in self._t.cells.items() if holder == booking_id]:
            del self._t.cells[key]
        return await self.get(tenant_id, booking_id)

    async def busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[Interval]:
        window = Interval(start, end)
        held = [b.held for b in self._t.bookings.values()
                if (b.tenant_id, b.calendar_id, b.status) == (tenant_id, calendar_id, "booked")
                and b.held.overlaps(window)]
        return sorted(held, key=lambda i: i.start)

    async def get(self, tenant_id: str, booking_id: str) -> BookingRow | None:
        row = self._t.bookings.get(booking_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def page(self, tenant_id: str, calendar_id: str, limit: int, before: str | None) -> list[BookingRow]:
        rows = [b for b in self._t.bookings.values()
                if (b.tenant_id, b.calendar_id) == (tenant_id, calendar_id) and (not before or b.id < before)]
        return [_stored(b) for b in sorted(rows, key=lambda b: b.id, reverse=True)[:limit]]


    async def record_external(self, tenant_id: str, booking_id: str, provider: str, external_id: str,
                              url: str | None) -> None:
        found = self._t.bookings.get(booking_id)
        if found is not None and found.tenant_id == tenant_id:
            self._t.bookings[booking_id] = _stored(replace(found, provider=provider, external_id=external_id, url=url))

    async def search(self, tenant_id: str, limit: int, before: str | None, *, agent_id: str | None = None,
                     lead_id: str | None = None, status: BookingStatus | None = None) -> list[BookingRow]:
        rows = [b for b in self._t.bookings.values() if b.tenant_id == tenant_id and (not before or b.id < before)
                and agent_id in (None, b.agent_id) and lead_id in (None, b.lead_id) and status in (None, b.status)]
        return [_stored(b) for b in sorted(rows, key=lambda b: b.id, reverse=True)[:limit]]


class MemoryFailures:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def get(self, tenant_id: str, request_id: str) -> dict[str, Any] | None:
        answer = self._t.failures.get((tenant_id, request_id))
        return dict(answer) if answer is not None else None

    async def add(self, tenant_id: str, request_id: str, answer: dict[str, Any], now: datetime) -> None:
        if (tenant_id, request_id) in self._t.failures:
            raise ValueError(f"request {request_id} has an answer")
        self._t.failures[(tenant_id, request_id)] = dict(answer)


class MemoryRepositories(Repositories):
    def __init__(self, tables: MemoryTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.calendars = MemoryCalendars(tables)
        self.bookings = MemoryBookings(tables)
        self.crm_leads = MemoryCrmLeads(tables)
        self.crm_syncs = MemoryCrmSyncs(tables)
        self.failures = MemoryFailures(tables)


def memory_store() -> MemoryStore[MemoryTables, MemoryRepositories]:
    store = MemoryStore(MemoryTables(), MemoryRepositories, "workflow-executor")
    _: Store = store  # mypy holds these repositories to the handlers' Protocols
    return store
