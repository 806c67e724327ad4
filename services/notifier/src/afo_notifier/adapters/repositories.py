"""Queries on contacts and notifications. The claim is one conditional UPDATE (the row still ``scheduled``, or
still held by a claim that ran out, as ``due`` read it): the database lets one writer win, on SQLite and
PostgreSQL alike, so a notification is sent by one scheduler whatever runs beside it."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import insert_with_conflicts
from afo_notifier.adapters.tables import cancelled_meetings, contacts, notifications, reminded_meetings
from afo_notifier.domain.records import ContactRow, NotificationRow, RemindedMeeting, Status

_NOTIFICATION_COLUMNS = tuple(f.name for f in fields(NotificationRow))
_CONTACT_COLUMNS = tuple(f.name for f in fields(ContactRow))
_MEETING_COLUMNS = tuple(f.name for f in fields(RemindedMeeting))


def _notification(r: Any) -> NotificationRow:
    return NotificationRow(**{name: getattr(r, name) for name in _NOTIFICATION_COLUMNS})


def _due(now: datetime) -> ColumnElement[bool]:
    """Scheduled and due, or claimed by a scheduler whose claim ran out."""
    return or_(and_(notifications.c.status == "scheduled", notifications.c.send_at <= now),
               and_(notifications.c.status == "sending", notifications.c.claimed_until < now))


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, lead_id: str) -> ContactRow | None:
        result = await self._session.execute(
            select(contacts).where(contacts.c.tenant_id == tenant_id, contacts.c.lead_id == lead_id))
        row = result.first()
        return ContactRow(**{name: getattr(row, name) for name in _CONTACT_COLUMNS}) if row else None

    async def save(self, row: ContactRow) -> None:
        values = asdict(row)
        await self._session.execute(insert_with_conflicts(self._session, contacts).values(**values)
                                    .on_conflict_do_update(index_elements=["tenant_id", "lead_id"], set_=values))

    async def hold(self, tenant_id: str, lead_id: str, now: datetime) -> None:
        # The insert waits for a concurrent one of the same lead to end; the update that changes nothing takes
        # the row's lock all the same.
        await self._session.execute(insert_with_conflicts(self._session, contacts).values(
            **asdict(ContactRow.unknown(tenant_id, lead_id, now))).on_conflict_do_nothing())
        await self._session.execute(update(contacts).where(
            contacts.c.tenant_id == tenant_id, contacts.c.lead_id == lead_id).values(opted_out=contacts.c.opted_out))


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: NotificationRow) -> None:
        await self._session.execute(notifications.insert().values(**asdict(row)))

    async def get(self, tenant_id: str, notification_id: str) -> NotificationRow | None:
        result = await self._session.execute(select(notifications).where(
            notifications.c.tenant_id == tenant_id, notifications.c.id == notification_id))
        row = result.first()
        return _notification(row) if row else None

    async def search(self, tenant_id: str, limit: int, before: str | None, *, meeting_id: str | None = None,
                     status: Status | None = None) -> list[NotificationRow]:
        query = select(notifications).where(notifications.c.tenant_id == tenant_id)
        if before:
            query = query.where(notifications.c.id < before)
        if meeting_id:
            query = query.where(notifications.c.meeting_id == meeting_id)
        if status:
            query = query.where(notifications.c.status == status)
        result = await self._session.execute(query.order_by(notifications.c.id.desc()).limit(limit))
        return [_notification(r) for r in result]

    async def close_scheduled(self, tenant_id: str, *, meeting_id: str | None = None, lead_id: str | None = None,
                              status: Status, error: str | None, now: datetime) -> int:
        query = update(notifications).where(notifications.c.tenant_id == tenant_id,
                                            notifications.c.status == "scheduled")
        if meeting_id is not None:
            query = query.where(notifications.c.meeting_id == meeting_id)
        if lead_id is not None:
            query = query.where(notifications.c.lead_id == lead_id)
        result = await self._session.execute(query.values(status=status, error=error, updated_at=now))
        return int(getattr(result, "rowcount", 0))

    async def mark_cancelled(self, tenant_id: str, meeting_id: str, now: datetime) -> None:
        if not await self.is_cancelled(tenant_id, meeting_id):
            await self._session.execute(cancelled_meetings.insert().values(
                tenant_id=tenant_id, meeting_id=meeting_id, cancelled_at=now))

    async def is_cancelled(self, tenant_id: str, meeting_id: str) -> bool:
        result = await self._session.execute(select(cancelled_meetings.c.meeting_id).where(
            cancelled_meetings.c.tenant_id == tenant_id, cancelled_meetings.c.meeting_id == meeting_id))
        return result.first() is not None

    async def remember(self, meeting: RemindedMeeting) -> None:
        await self._session.execute(insert_with_conflicts(self._session, reminded_meetings).values(
            **{**asdict(meeting), "offsets_s": list(meeting.offsets_s)}).on_conflict_do_nothing())

    async def upcoming(self, tenant_id: str, lead_id: str, now: datetime) -> list[RemindedMeeting]:
        cancelled = exists().where(cancelled_meetings.c.tenant_id == reminded_meetings.c.tenant_id,
                                   cancelled_meetings.c.meeting_id == reminded_meetings.c.meeting_id)
        result = await self._session.execute(select(reminded_meetings).where(
            reminded_meetings.c.tenant_id == tenant_id, reminded_meetings.c.lead_id == lead_id,
            reminded_meetings.c.start > now, ~cancelled).order_by(reminded_meetings.c.start))
        return [RemindedMeeting(**{name: getattr(r, name) for name in _MEETING_COLUMNS if name != "offsets_s"},
                                offsets_s=tuple(r.offsets_s)) for r in result]

    async def of_meeting(self, tenant_id: str, meeting_id: str) -> list[NotificationRow]:
        result = await self._session.execute(select(notifications).where(
            notifications.c.tenant_id == tenant_id, notifications.c.meeting_id == meeting_id))
        return [_notification(r) for r in result]

    async def readdress(self, row: NotificationRow) -> None:
        await self._session.execute(update(notifications).where(
            notifications.c.tenant_id == row.tenant_id, notifications.c.id == row.id,
            notifications.c.status == "scheduled").values(to=row.to, updated_at=row.updated_at))

    async def due(self, now: datetime, limit: int) -> list[NotificationRow]:
        query = select(notifications).where(_due(now)).order_by(notifications.c.send_at).limit(limit)
        return [_notification(r) for r in await self._session.execute(query)]

    async def claim_due(self, now: datetime, owner: str, until: datetime, limit: int) -> list[NotificationRow]:
        ids = select(notifications.c.id).where(_due(now)).order_by(notifications.c.send_at).limit(limit)
        found = [r.id for r in await self._session.execute(ids)]
        if not found:
            return []
        await self._session.execute(update(notifications).where(notifications.c.id.in_(found), _due(now)).values(
            status="sending", claimed_by=owner, claimed_until=until, updated_at=now))
        claimed = await self._session.execute(select(notifications).where(
            notifications.c.id.in_(found), notifications.c.claimed_by == owner,
            notifications.c.status == "sending").order_by(notifications.c.send_at))
        return [_notification(r) for r in claimed]

    async def claim(self, row: NotificationRow, owner: str, until: datetime, now: datetime) -> bool:
        query = update(notifications).where(notifications.c.id == row.id, notifications.c.status == row.status)
        if row.status == "sending":
            query = query.where(notifications.c.claimed_by == row.claimed_by,
                                notifications.c.claimed_until == row.claimed_until)
        result = await self._session.execute(
            query.values(status="sending", claimed_by=owner, claimed_until=until, updated_at=now))
        return int(getattr(result, "rowcount", 0)) == 1

    async def finish(self, row: NotificationRow) -> None:
        await self._session.execute(update(notifications).where(
            notifications.c.tenant_id == row.tenant_id, notifications.c.id == row.id).values(
            status=row.status, error=row.error, provider=row.provider, provider_id=row.provider_id,
            sent_at=row.sent_at, claimed_until=row.claimed_until, updated_at=row.updated_at))
