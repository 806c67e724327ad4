"""What notifier's handlers need of storage: one Protocol per repository, the unit of work and the store.
``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the repository tests
run on both. Every method that reads a tenant's rows takes the tenant; the scheduler's ``due`` and ``claim``
work across tenants (one scheduler serves them all) and the claim is a conditional update, so two schedulers
racing for a row claim it once."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_notifier.domain.records import ContactRow, NotificationRow, RemindedMeeting, Status


class Contacts(Protocol):
    async def get(self, tenant_id: str, lead_id: str) -> ContactRow | None: ...

    async def save(self, row: ContactRow) -> None: ...

    async def hold(self, tenant_id: str, lead_id: str, now: datetime) -> None:
        """Locks the lead's contact for the rest of the transaction (writing an empty one when none is held):
        a request for a meeting's reminders holds it while it plans, so a contact saved at the same time is
        seen by one side or the other — the request plans with it, or the save plans the remembered meeting."""
        ...


class Notifications(Protocol):
    async def add(self, row: NotificationRow) -> None: ...

    async def get(self, tenant_id: str, notification_id: str) -> NotificationRow | None: ...

    async def search(self, tenant_id: str, limit: int, before: str | None, *, meeting_id: str | None = None,
                     status: Status | None = None) -> list[NotificationRow]:
        """Newest first (by id), those with an id below ``before``."""
        ...

    async def close_scheduled(self, tenant_id: str, *, meeting_id: str | None = None, lead_id: str | None = None,
                              status: Status, error: str | None, now: datetime) -> int:
        """Every still-scheduled row of the meeting (or of the lead) set to ``status``; how many."""
        ...

    async def mark_cancelled(self, tenant_id: str, meeting_id: str, now: datetime) -> None:
        """Remembers that the meeting was cancelled (once; again is a no-op)."""
        ...

    async def is_cancelled(self, tenant_id: str, meeting_id: str) -> bool: ...

    async def remember(self, meeting: RemindedMeeting) -> None:
        """Keeps a meeting whose reminders were asked for (once; again is a no-op)."""
        ...

    async def upcoming(self, tenant_id: str, lead_id: str, now: datetime) -> list[RemindedMeeting]:
        """The lead's remembered meetings that start after ``now`` and were not cancelled, earliest first."""
        ...

    async def of_meeting(self, tenant_id: str, meeting_id: str) -> list[NotificationRow]: ...

    async def readdress(self, row: NotificationRow) -> None:
        """Writes the row's ``to`` (and ``updated_at``) if it is still scheduled."""
        ...

    async def due(self, now: datetime, limit: int) -> list[NotificationRow]:
        """Rows to send: scheduled with ``send_at`` at or before ``now``, and rows claimed by a scheduler whose
        claim ran out (it stopped mid-send), earliest first."""
        ...

    async def claim(self, row: NotificationRow, owner: str, until: datetime, now: datetime) -> bool:
        """Marks the row ``sending`` for ``owner`` until ``until`` if it is still as ``due`` found it; True for
        the one caller that did."""
        ...

    async def claim_due(self, now: datetime, owner: str, until: datetime, limit: int) -> list[NotificationRow]:
        """``due`` and ``claim`` at once for up to ``limit`` rows, in one statement's conditional update:
        the rows this call claimed for ``owner`` (unique per call), as claimed, earliest first."""
        ...

    async def finish(self, row: NotificationRow) -> None:
        """Writes the outcome (status, error, provider, provider_id, sent_at) of a claimed row."""
        ...


class DeliveryReports(Protocol):
    async def record(self, tenant_id: str, provider_id: str, status: str, error_code: str | None,
                     now: datetime) -> str | None:
        """The report on the tenant's notification sent with ``provider_id``: its id, None when there is none."""
        ...


class Repositories(Protocol):
    @property
    def contacts(self) -> Contacts: ...

    @property
    def notifications(self) -> Notifications: ...

    @property
    def delivery_reports(self) -> DeliveryReports: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it)."""


Store = GenericStore[UnitOfWork, Repositories]
