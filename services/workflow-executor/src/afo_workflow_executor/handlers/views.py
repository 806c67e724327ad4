"""Bookings and calendars as events and RPC replies show them."""

from __future__ import annotations

from typing import cast

from afo_common.events.workflow import CalendarProvider, MeetingBooked
from afo_common.rpcs.workflow_executor import CalendarSettingsBody, CalendarView, MeetingView
from afo_workflow_executor.domain.calendar import CalendarSettings
from afo_workflow_executor.domain.records import BookingRow, CalendarRow


def booked_event(row: BookingRow) -> MeetingBooked:
    return MeetingBooked(meeting_id=row.id, request_id=row.request_id, conversation_id=row.conversation_id,
                         agent_id=row.agent_id or "", lead_id=row.lead_id, calendar_id=row.calendar_id,
                         provider=cast(CalendarProvider, row.provider), start=row.start, end=row.end,
                         timezone=row.time_zone, external_id=row.external_id, url=row.url,
                         rescheduled_from=row.rescheduled_from)


def meeting_view(row: BookingRow) -> MeetingView:
    return MeetingView(id=row.id, agent_id=row.agent_id, lead_id=row.lead_id, conversation_id=row.conversation_id,
                       calendar_id=row.calendar_id, status=row.status, start=row.start, end=row.end,
                       timezone=row.time_zone, title=row.title, provider=cast(CalendarProvider, row.provider),
                       external_id=row.external_id, url=row.url, rescheduled_from=row.rescheduled_from,
                       cancelled_by=row.cancelled_by, created_at=row.created_at, updated_at=row.updated_at)


def settings_body(settings: CalendarSettings) -> CalendarSettingsBody:
    return CalendarSettingsBody.model_validate(settings.to_json())


def calendar_view(agent_id: str, row: CalendarRow | None, default: CalendarSettings) -> CalendarView:
    if row is None:
        return CalendarView(id=None, agent_id=agent_id, is_default=True, settings=settings_body(default),
                            created_at=None, updated_at=None)
    return CalendarView(id=row.id, agent_id=agent_id, is_default=False, settings=settings_body(row.settings),
                        created_at=row.created_at, updated_at=row.updated_at)
