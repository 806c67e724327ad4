"""Notifications sent to leads (owned by notifier): reminders and confirmation emails, with what they said, to
whom (masked), when and how it went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from afo_common.rpcs.notifier_notifications import NotificationStatus, NotificationView
from afo_common.rpcs.pages import Page
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

NotificationId = Annotated[str, Path(max_length=64)]


@router.get("", response_model=Page[NotificationView])
async def list_notifications(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                             meeting_id: Annotated[str | None, Query(max_length=64)] = None,
                             status: Annotated[NotificationStatus | None, Query()] = None) -> Page[NotificationView]:
    """Newest first; filtered by meeting and status."""
    return await gw.notifications.list(principal, limit, cursor, meeting_id, status)


@router.get("/{notification_id}", response_model=NotificationView)
async def get_notification(notification_id: NotificationId, principal: CurrentPrincipal,
                           gw: GatewayDep) -> NotificationView:
    return await gw.notifications.get(principal, notification_id)
