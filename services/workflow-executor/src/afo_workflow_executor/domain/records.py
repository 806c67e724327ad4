"""Calendars and bookings as the store keeps them, and what a booking attempt can come back with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from afo_workflow_executor.domain.calendar import CalendarSettings, Interval

OwnerKind = Literal["agent", "team"]
BookingStatus = Literal["booked", "cancelled"]
CancelledBy = Literal["lead", "tenant", "rescheduled"]


@dataclass(frozen=True)
class CalendarRow:
    id: str  # cal_…
    tenant_id: str
    owner_kind: OwnerKind
    owner_id: str
    settings: CalendarSettings
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BookingRow:
    id: str  # mtg_…
    tenant_id: str
    calendar_id: str
    start: datetime
    end: datetime
    held_from: datetime  # the start less the buffer before: what the booking keeps from others begins here
    held_until: datetime  # the end plus the buffer after
    status: BookingStatus
    request_id: str  # a retried request (same id, same tenant) gets the booking the first one made
    lead_id: str | None
    conversation_id: str | None
    created_at: datetime
    updated_at: datetime
    agent_id: str | None = None
    time_zone: str = "UTC"  # the lead's zone when asked, to show the meeting in
    title: str | None = None
    provider: str = "builtin"  # or the outside calendar that holds the event too ("google")
    external_id: str | None = None
    url: str | None = None
    rescheduled_from: str | None = None  # the meeting this one replaced
    cancelled_by: CancelledBy | None = None

    @property
    def held(self) -> Interval:
        return Interval(self.held_from, self.held_until)


@dataclass(frozen=True)
class Taken:
    """Another booking holds some of the time this one needed."""
