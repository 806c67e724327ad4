"""Notifications sent to leads (reminders, confirmations), owned by notifier: the gateway checks the caller
may read, then asks the owner over RPC (which answers ``not_found`` for another tenant's id)."""

from __future__ import annotations

from afo_common.rpcs import notifier_notifications as nt
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.owners import Owners


class Notifications:
    def __init__(self, owners: Owners) -> None:
        self._owners = owners

    async def list(self, principal: Principal, limit: int, cursor: str | None, meeting_id: str | None,
                   status: nt.NotificationStatus | None) -> Page[nt.NotificationView]:
        require(principal, Permission.READ)
        return await self._owners.call(nt.LIST_NOTIFICATIONS, nt.ListNotifications(
            tenant_id=principal.tenant_id, limit=limit, cursor=cursor, meeting_id=meeting_id, status=status))

    async def get(self, principal: Principal, notification_id: str) -> nt.NotificationView:
        require(principal, Permission.READ)
        return await self._owners.call(nt.GET_NOTIFICATION, nt.NotificationRef(
            tenant_id=principal.tenant_id, notification_id=notification_id))
