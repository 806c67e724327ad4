"""Events of the notification context (notifier owns reminders and confirmations sent to leads by SMS and
email). Neither carries the message's body nor the full address: a tenant reads those over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import NOTIFICATION

NotificationChannel = Literal["sms", "email"]
NotificationKind = Literal["reminder", "confirmation", "reply", "workflow"]


@event("notification.sent", stream=NOTIFICATION)
class NotificationSent(Event):
    notification_id: str
    meeting_id: str | None
    lead_id: str | None
    kind: NotificationKind
    channel: NotificationChannel
    # "twilio" / "smtp" with the tenant's credentials, "relay" through the local SMTP relay, "sink" recorded only.
    provider: str
    to: str  # masked
    sent_at: datetime


@event("notification.failed", stream=NOTIFICATION)
class NotificationFailed(Event):
    notification_id: str
    meeting_id: str | None
    lead_id: str | None
    kind: NotificationKind
    channel: NotificationChannel
    provider: str
    to: str  # masked
    error: str = Field(max_length=500)
