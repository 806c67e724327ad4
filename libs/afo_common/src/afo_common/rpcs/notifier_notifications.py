"""RPC contracts of notifier: the notifications (reminders and confirmations) sent or to be sent to leads.

``to`` is masked (the last digits of a phone, the first letter and the domain of an email). ``status``:
``scheduled`` (waiting for its ``send_at``), ``sending`` (claimed by a scheduler), ``sent``, ``failed``
(``error`` says why), ``cancelled`` (its meeting was cancelled or moved), ``skipped`` (``error`` says why: the
lead opted out, or the time to send it had already passed when it was planned: the meeting booked, or the
lead's phone or email learnt, too close to it). Another tenant's id answers ``not_found``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.events.notification import NotificationKind
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "notifier"

NotificationStatus = Literal["scheduled", "sending", "sent", "failed", "cancelled", "skipped"]


class ListNotifications(PageRequest):
    meeting_id: str | None = Field(default=None, max_length=64)
    status: NotificationStatus | None = None


class NotificationRef(TenantRequest):
    notification_id: str = Field(min_length=1, max_length=64)


class NotificationView(BaseModel):
    id: str
    kind: NotificationKind
    channel: Literal["sms", "email"]
    to: str
    subject: str | None
    body: str
    # The iCalendar file attached to a confirmation email's, by name (None: nothing attached).
    attachment: str | None
    provider: str | None
    send_at: datetime
    status: NotificationStatus
    error: str | None
    meeting_id: str | None
    lead_id: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # What the provider last reported about the delivery (Twilio's status callback: delivered, undelivered,
    # failed…), its error code, and when; None until a report came.
    delivery_status: str | None = None
    delivery_error_code: str | None = None
    delivery_updated_at: datetime | None = None


LIST_NOTIFICATIONS = RpcOperation(SERVICE, "notifications.list", ListNotifications, Page[NotificationView])
GET_NOTIFICATION = RpcOperation(SERVICE, "notifications.get", NotificationRef, NotificationView)

OPERATIONS: list[RpcOperation[Any, Any]] = [LIST_NOTIFICATIONS, GET_NOTIFICATION]
