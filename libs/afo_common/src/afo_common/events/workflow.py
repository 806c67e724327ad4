"""Events of the workflow context (workflow-executor owns calendars, meetings and CRM syncs).

A ``meeting.requested`` (CONVERSATION) is answered by exactly one of ``meeting.booked`` or ``meeting.failed``
with the same ``request_id``; a failed request carries up to three free alternatives the agent offers back.
A lead's CRM sync ends in ``crm.synced`` or ``crm.failed``. No event carries a credential."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import WORKFLOW

CalendarProvider = Literal["builtin", "google", "calendly"]
CrmProvider = Literal["builtin", "hubspot", "salesforce", "pipedrive"]
FailureReason = Literal["slot_taken", "outside_hours", "too_soon", "beyond_horizon", "no_calendar",
                        "provider_error"]


class SlotOffer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime


@event("meeting.booked", stream=WORKFLOW)
class MeetingBooked(Event):
    meeting_id: str
    request_id: str
    conversation_id: str | None
    agent_id: str
    lead_id: str | None
    calendar_id: str
    provider: CalendarProvider
    start: datetime
    end: datetime
    timezone: str
    # The provider's own event and where the tenant opens it (None for the built-in calendar).
    external_id: str | None = None
    url: str | None = None
    # Set when this booking replaces an earlier meeting of the same lead (a reschedule).
    rescheduled_from: str | None = None


@event("meeting.failed", stream=WORKFLOW)
class MeetingFailed(Event):
    request_id: str
    conversation_id: str | None
    agent_id: str
    lead_id: str | None
    reason: FailureReason
    detail: str = Field(max_length=500)
    # The nearest free slots to the time asked for, earliest first; empty when none is free in the horizon.
    alternatives: list[SlotOffer] = Field(default=[], max_length=3)
    timezone: str | None = None
    # Calendly books through a single-use scheduling link the lead finishes; the agent passes it on.
    scheduling_url: str | None = None


@event("meeting.cancelled", stream=WORKFLOW)
class MeetingCancelled(Event):
    meeting_id: str
    conversation_id: str | None
    agent_id: str
    lead_id: str | None
    # ``rescheduled``: cancelled because the lead's new time was booked (see meeting.booked's
    # rescheduled_from); ``lead``: the lead cancelled in the conversation; ``tenant``: over the API.
    by: Literal["lead", "tenant", "rescheduled"]


@event("crm.synced", stream=WORKFLOW)
class CrmSynced(Event):
    lead_id: str
    conversation_id: str | None
    provider: CrmProvider
    record_id: str
    url: str | None
    # ``created`` the first time the lead reached this CRM, ``updated`` after.
    action: Literal["created", "updated"]


@event("crm.failed", stream=WORKFLOW)
class CrmFailed(Event):
    lead_id: str
    conversation_id: str | None
    provider: CrmProvider
    reason: str = Field(max_length=500)
    status: int | None
    attempts: int
