"""What notifier stores: the contact it knows of each lead (a projection of agent-runtime's lead events and
opt-outs), each meeting whose reminders a workflow asked for, and each notification, from scheduled to sent
(or failed, cancelled, skipped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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

    @classmethod
    def unknown(cls, tenant_id: str, lead_id: str, now: datetime, *, opted_out: bool = False) -> ContactRow:
        """A lead of whom nothing is known yet: no name, no address."""
        return cls(tenant_id=tenant_id, lead_id=lead_id, name=None, email=None, phone=None, opted_out=opted_out,
                   updated_at=now)


@dataclass(frozen=True)
class RemindedMeeting:
    """A meeting whose reminders were asked for, kept so a channel learnt later (the lead's phone arriving
    after the booking) gets its reminders too, on the offsets asked for then."""

    tenant_id: str
    meeting_id: str
    lead_id: str
    agent_id: str
    start: datetime
    end: datetime
    timezone: str
    offsets_s: tuple[float, ...]  # how long before the start each reminder goes
    requested_at: datetime

    @property
    def offsets(self) -> tuple[timedelta, ...]:
        return tuple(timedelta(seconds=s) for s in self.offsets_s)


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
