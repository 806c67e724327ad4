"""What notifier stores: the contact it knows of each lead (a projection of agent-runtime's lead events and
opt-outs) and each notification, from scheduled to sent (or failed, cancelled, skipped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["scheduled", "sending", "sent", "failed", "cancelled", "skipped"]
ChannelName = Literal["sms", "email"]
# reply: the agent's answer in an SMS conversation; workflow: a step of a tenant's workflow
Kind = Literal["reminder", "confirmation", "reply", "workflow"]


@dataclass(frozen=True)
class ContactRow:
    tenant_id: str
    lead_id: str
    name: str | None
    email: str | None
    phone: str | None
    opted_out: bool
    updated_at: datetime
    fields_at: datetime | None = None  # when the lead's snapshot held (name, email, phone) was taken


@dataclass(frozen=True)
class NotificationRow:
    id: str
    tenant_id: str
    meeting_id: str | None
    lead_id: str | None
    kind: Kind
    channel: ChannelName
    to: str
    subject: str | None
    body: str
    # The iCalendar invitation attached to a confirmation email (text), None otherwise.
    ics: str | None
    send_at: datetime
    status: Status
    error: str | None
    provider: str | None
    provider_id: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # The number an SMS goes from (the agent's, for a reply); None: the tenant's Twilio from_number.
    sender: str | None = None
    # The provider's last delivery report (Twilio's status callback) for ``provider_id``.
    delivery_status: str | None = None
    delivery_error_code: str | None = None
    delivery_updated_at: datetime | None = None
