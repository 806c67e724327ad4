"""What workflow-executor's handlers need of storage: one Protocol per repository, the repositories together
(``Repositories``, for reads), the unit of work (the same plus ``emit``/``after_commit``) and the store that
opens both. ``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the
repository tests run on both.

Every method takes the tenant and filters by it.

No double booking is a constraint of the store, not a check before writing: a booking occupies the slot-step
cells its held time (buffers included) touches, one row per cell, unique per calendar; ``book`` writes the
booking and its cells together and answers ``Taken`` when any cell is already occupied."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.records import BookingRow, BookingStatus, CalendarRow, CancelledBy, Taken
from afo_workflow_executor.handlers.crm_repositories import CrmLeads, CrmSyncs


class Calendars(Protocol):
    async def add(self, row: CalendarRow) -> None: ...

    async def get(self, tenant_id: str, calendar_id: str) -> CalendarRow | None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[CalendarRow]: ...

    async def save(self, row: CalendarRow) -> None:
        """Writes the settings and updated_at of the tenant's calendar."""
        ...

    async def of_owner(self, tenant_id: str, owner_kind: str, owner_id: str) -> CalendarRow | None: ...

    async def ensure(self, row: CalendarRow) -> CalendarRow:
        """``row`` added, unless its owner has a calendar already (one per owner): then that one. Run it in a
        unit of work of its own."""
        ...


class Bookings(Protocol):
    async def book(self, row: BookingRow, step: timedelta) -> BookingRow | Taken:
        """The booking written with the cells (of ``step``) its held time touches; the tenant's earlier
        booking when ``row.request_id`` was seen already (whatever its time); ``Taken`` when a cell is
        occupied. Run it in a unit of work of its own: on ``Taken`` nothing of it is written."""
        ...

    async def cancel(self, tenant_id: str, booking_id: str, now: datetime,
                     by: CancelledBy | None = None) -> BookingRow | None:
        """The booking cancelled and its cells freed (already cancelled: unchanged); None when unknown."""
        ...

    async def release(self, tenant_id: str, booking_id: str, now: datetime,
                      by: CancelledBy | None = None) -> BookingRow | None:
        """The booking cancelled and its cells freed by this call; None when it was unknown or already cancelled
        (by an earlier or a concurrent call): the one call that cancels is the one that announces it."""
        ...

    async def by_request(self, tenant_id: str, request_id: str) -> BookingRow | None: ...

    async def record_external(self, tenant_id: str, booking_id: str, provider: str, external_id: str,
                              url: str | None) -> None:
        """Notes the outside calendar's event that mirrors the booking."""
        ...

    async def search(self, tenant_id: str, limit: int, before: str | None, *, agent_id: str | None = None,
                     lead_id: str | None = None, status: BookingStatus | None = None) -> list[BookingRow]:
        """The tenant's bookings, newest first (by id), those with an id below ``before``, filtered."""
        ...

    async def busy(self, tenant_id: str, calendar_id: str, start: datetime, end: datetime) -> list[Interval]:
        """What the calendar's live bookings hold (buffers included) overlapping [start, end), in order."""
        ...

    async def get(self, tenant_id: str, booking_id: str) -> BookingRow | None: ...

    async def page(self, tenant_id: str, calendar_id: str, limit: int, before: str | None) -> list[BookingRow]:
        """Newest first (by id), those with an id below ``before``."""
        ...


class MeetingFailures(Protocol):
    """The answer (``meeting.failed``'s fields) given to a booking request that failed, by request id."""

    async def get(self, tenant_id: str, request_id: str) -> dict[str, Any] | None: ...

    async def add(self, tenant_id: str, request_id: str, answer: dict[str, Any], now: datetime) -> None: ...


class Repositories(Protocol):
    @property
    def calendars(self) -> Calendars: ...

    @property
    def bookings(self) -> Bookings: ...

    @property
    def crm_leads(self) -> CrmLeads: ...

    @property
    def crm_syncs(self) -> CrmSyncs: ...

    @property
    def failures(self) -> MeetingFailures: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it) and after-commit
    callbacks."""


Store = GenericStore[UnitOfWork, Repositories]
