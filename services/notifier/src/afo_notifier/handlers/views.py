"""The notifications as a tenant reads them (``GET /v1/notifications[/{id}]``); another tenant's id is not
found."""

from __future__ import annotations

from afo_common.rpcs import notifier_notifications as ops
from afo_common.rpcs.pages import Page
from afo_notifier.domain.planning import mask
from afo_notifier.domain.records import NotificationRow
from afo_notifier.handlers.unit_of_work import Store


class NotFound(Exception):
    pass


def view(row: NotificationRow) -> ops.NotificationView:
    return ops.NotificationView(
        id=row.id, kind=row.kind, channel=row.channel, to=mask(row.channel, row.to), subject=row.subject,
        body=row.body, attachment="invite.ics" if row.ics else None, provider=row.provider, send_at=row.send_at,
        status=row.status, error=row.error, meeting_id=row.meeting_id, lead_id=row.lead_id, sent_at=row.sent_at,
        created_at=row.created_at, updated_at=row.updated_at, delivery_status=row.delivery_status,
        delivery_error_code=row.delivery_error_code, delivery_updated_at=row.delivery_updated_at)


class NotificationViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self, request: ops.ListNotifications) -> Page[ops.NotificationView]:
        async with self._store.reading() as repos:
            rows = await repos.notifications.search(request.tenant_id, request.limit + 1, request.cursor,
                                                    meeting_id=request.meeting_id, status=request.status)
        more = len(rows) > request.limit
        rows = rows[:request.limit]
        return Page(data=[view(r) for r in rows], next_cursor=rows[-1].id if more and rows else None)

    async def get(self, request: ops.NotificationRef) -> ops.NotificationView:
        async with self._store.reading() as repos:
            row = await repos.notifications.get(request.tenant_id, request.notification_id)
        if row is None:
            raise NotFound(f"no notification {request.notification_id}")
        return view(row)
