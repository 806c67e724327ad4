"""notifier's repositories in memory: the same interface and answers as the database's, so a handler test runs
in milliseconds (the repository tests run on both). Rows are copied in and out, times kept in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_notifier.adapters.delivery_reports import MemoryDeliveryReports
from afo_notifier.domain.records import ContactRow, NotificationRow, RemindedMeeting, Status
from afo_notifier.handlers.unit_of_work import Store


@dataclass
class MemoryTables:
    contacts: dict[tuple[str, str], ContactRow] = field(default_factory=dict)
    notifications: dict[str, NotificationRow] = field(default_factory=dict)
    cancelled_meetings: set[tuple[str, str]] = field(default_factory=set)
    reminded_meetings: dict[tuple[str, str], RemindedMeeting] = field(default_factory=dict)


class MemoryContacts:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def get(self, tenant_id: str, lead_id: str) -> ContactRow | None:
        row = self._t.contacts.get((tenant_id, lead_id))
        return _stored(row) if row else None

    async def save(self, row: ContactRow) -> None:
        self._t.contacts[(row.tenant_id, row.lead_id)] = _stored(row)

    async def hold(self, tenant_id: str, lead_id: str, now: datetime) -> None:
        self._t.contacts.setdefault((tenant_id, lead_id), _stored(ContactRow.unknown(tenant_id, lead_id, now)))


class MemoryNotifications:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: NotificationRow) -> None:
        if row.id in self._t.notifications:
            raise ValueError(f"notification {row.id} exists")
        self._t.notifications[row.id] = _stored(row)

    async def get(self, tenant_id: str, notification_id: str) -> NotificationRow | None:
        row = self._t.notifications.get(notification_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def search(self, tenant_id: str, limit: int, before: str | None, *, meeting_id: str | None = None,
                     status: Status | None = None) -> list[NotificationRow]:
        rows = [r for r in self._t.notifications.values() if r.tenant_id == tenant_id
                and (not before or r.id < before) and (not meeting_id or r.meeting_id == meeting_id)
                and (not status or r.status == status)]
        return [_stored(r) for r in sorted(rows, key=lambda r: r.id, reverse=True)[:limit]]

    async def close_scheduled(self, tenant_id: str, *, meeting_id: str | None = None, lead_id: str | None = None,
                              status: Status, error: str | None, now: datetime) -> int:
        closed = 0
        for key, r in list(self._t.notifications.items()):
            if (r.tenant_id == tenant_id and r.status == "scheduled"
                    and (meeting_id is None or r.meeting_id == meeting_id)
                    and (lead_id is None or r.lead_id == lead_id)):
                self._t.notifications[key] = replace(r, status=status, error=error, updated_at=now)
                closed += 1
        return closed

    async def mark_cancelled(self, tenant_id: str, meeting_id: str, now: datetime) -> None:
        self._t.cancelled_meetings.add((tenant_id, meeting_id))

    async def is_cancelled(self, tenant_id: str, meeting_id: str) -> bool:
        return (tenant_id, meeting_id) in self._t.cancelled_meetings

    async def remember(self, meeting: RemindedMeeting) -> None:
        self._t.reminded_meetings.setdefault((meeting.tenant_id, meeting.meeting_id), _stored(meeting))

    async def upcoming(self, tenant_id: str, lead_id: str, now: datetime) -> list[RemindedMeeting]:
        found = [m for (tenant, meeting_id), m in self._t.reminded_meetings.items()
                 if tenant == tenant_id and m.lead_id == lead_id and m.start > now
                 and (tenant, meeting_id) not in self._t.cancelled_meetings]
        return [_stored(m) for m in sorted(found, key=lambda m: m.start)]

    async def of_meeting(self, tenant_id: str, meeting_id: str) -> list[NotificationRow]:
        return [_stored(r) for r in self._t.notifications.values()
                if r.tenant_id == tenant_id and r.meeting_id == meeting_id]

    async def readdress(self, row: NotificationRow) -> None:
        found = self._t.notifications.get(row.id)
        if found is not None and found.tenant_id == row.tenant_id and found.status == "scheduled":
            self._t.notifications[row.id] = _stored(replace(found, to=row.to, updated_at=row.updated_at))

    async def due(self, now: datetime, limit: int) -> list[NotificationRow]:
        rows = [r for r in self._t.notifications.values()
                if (r.status == "scheduled" and r.send_at <= now)
                or (r.status == "sending" and r.claimed_until is not None and r.claimed_until < now)]
        return [_stored(r) for r in sorted(rows, key=lambda r: r.send_at)[:limit]]

    async def claim_due(self, now: datetime, owner: str, until: datetime, limit: int) -> list[NotificationRow]:
        claimed = []
        for row in await self.due(now, limit):
            self._t.notifications[row.id] = _stored(replace(row, status="sending", claimed_by=owner,
                                                            claimed_until=until, updated_at=now))
            claimed.append(_stored(self._t.notifications[row.id]))
        return claimed

    async def claim(self, row: NotificationRow, owner: str, until: datetime, now: datetime) -> bool:
        found = self._t.notifications.get(row.id)
        if found is None or found.status != row.status or (
                row.status == "sending" and (found.claimed_by, found.claimed_until)
                != (row.claimed_by, row.claimed_until)):
            return False
        self._t.notifications[row.id] = _stored(replace(found, status="sending", claimed_by=owner,
                                                        claimed_until=until, updated_at=now))
        return True

    async def finish(self, row: NotificationRow) -> None:
        found = self._t.notifications.get(row.id)
        if found is not None and found.tenant_id == row.tenant_id:
            self._t.notifications[row.id] = _stored(replace(
                found, status=row.status, error=row.error, provider=row.provider, provider_id=row.provider_id,
                sent_at=row.sent_at, claimed_until=row.claimed_until, updated_at=row.updated_at))


class MemoryRepositories(Repositories):
    def __init__(self, tables: MemoryTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.contacts = MemoryContacts(tables)
        self.notifications = MemoryNotifications(tables)
        self.delivery_reports = MemoryDeliveryReports(tables)


def memory_store() -> Store:
    return MemoryStore(MemoryTables(), MemoryRepositories, "notifier")
