"""RPC contracts of workflow-executor, the owner of calendars and meetings (bookings).

An agent has one built-in calendar: weekly opening hours in an IANA zone, the meeting length, buffers, the
minimum notice and how far ahead it books. Until one is put, ``calendars.get`` answers the defaults the
agent's first booking request would create (``is_default: true``, no id). ``calendars.put`` checks the
settings (zone, ranges ordered and apart, step dividing an hour, buffers whole steps) and answers
``invalid`` with the reason. Meetings are the bookings, newest first; cancelling one frees its time, and
``meeting.cancelled`` (``by: tenant``) follows. ``meetings.invite`` is the meeting's iCalendar invitation
(a cancelled meeting's is the cancellation)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.workflow import CalendarProvider
from afo_common.messaging.rpc import RpcOperation, TenantRequest
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "workflow-executor"

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Local wall-clock "HH:MM-HH:MM"; an end of 00:00 is the midnight that ends the day.
TimeRangeText = Annotated[str, Field(pattern=r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$")]
MeetingStatus = Literal["booked", "cancelled"]



class CalendarSettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(min_length=1, max_length=64, examples=["America/New_York"])
    weekly: dict[Weekday, list[TimeRangeText]] = Field(
        description="open hours per weekday, local time; a day left out is closed",
        examples=[{"mon": ["09:00-12:00", "13:00-17:00"], "fri": ["09:00-15:00"]}])
    exceptions: dict[date, list[TimeRangeText]] = Field(
        default={}, description="a date's own hours instead of its weekday's; an empty list closes it")
    meeting_minutes: int = Field(default=30, ge=5, le=480, strict=True)
    buffer_before_minutes: int = Field(default=0, ge=0, le=240, strict=True)
    buffer_after_minutes: int = Field(default=0, ge=0, le=240, strict=True)
    minimum_notice_minutes: int = Field(default=120, ge=0, le=60 * 24 * 30, strict=True)
    horizon_days: int = Field(default=60, ge=1, le=365, strict=True)
    slot_step_minutes: int = Field(default=15, ge=5, le=60, strict=True)


class CalendarView(BaseModel):
    id: str | None
    agent_id: str
    # True: the agent has no calendar yet; these are the settings its first booking request creates.
    is_default: bool
    settings: CalendarSettingsBody
    created_at: datetime | None
    updated_at: datetime | None


class AgentCalendarRef(TenantRequest):
    agent_id: str = Field(max_length=64)
    # The agent's own time zone, which an agent's calendar starts in before one is put (else UTC).
    time_zone: str | None = Field(default=None, max_length=64)


class PutCalendar(AgentCalendarRef):
    settings: CalendarSettingsBody


class MeetingView(BaseModel):
    id: str
    agent_id: str | None
    lead_id: str | None
    conversation_id: str | None
    calendar_id: str
    status: MeetingStatus
    start: datetime
    end: datetime
    timezone: str
    title: str | None
    provider: CalendarProvider
    external_id: str | None
    url: str | None
    rescheduled_from: str | None
    cancelled_by: Literal["lead", "tenant", "rescheduled"] | None
    created_at: datetime
    updated_at: datetime


class ListMeetings(PageRequest):
    agent_id: str | None = Field(default=None, max_length=64)
    lead_id: str | None = Field(default=None, max_length=64)
    status: MeetingStatus | None = None


class MeetingRef(TenantRequest):
    meeting_id: str = Field(max_length=64)


class Invite(BaseModel):
    filename: str
    # text/calendar; METHOD:REQUEST, or METHOD:CANCEL for a cancelled meeting.
    ics: str


def _op(name: str, request: type[Any], response: type[Any]) -> RpcOperation[Any, Any]:
    return RpcOperation(SERVICE, name, request, response)


GET_CALENDAR: RpcOperation[AgentCalendarRef, CalendarView] = _op("calendars.get", AgentCalendarRef, CalendarView)
PUT_CALENDAR: RpcOperation[PutCalendar, CalendarView] = _op("calendars.put", PutCalendar, CalendarView)
LIST_MEETINGS: RpcOperation[ListMeetings, Page[MeetingView]] = _op("meetings.list", ListMeetings, Page[MeetingView])
GET_MEETING: RpcOperation[MeetingRef, MeetingView] = _op("meetings.get", MeetingRef, MeetingView)
CANCEL_MEETING: RpcOperation[MeetingRef, MeetingView] = _op("meetings.cancel", MeetingRef, MeetingView)
MEETING_INVITE: RpcOperation[MeetingRef, Invite] = _op("meetings.invite", MeetingRef, Invite)

OPERATIONS: list[RpcOperation[Any, Any]] = [
    GET_CALENDAR, PUT_CALENDAR, LIST_MEETINGS, GET_MEETING, CANCEL_MEETING, MEETING_INVITE,
]
