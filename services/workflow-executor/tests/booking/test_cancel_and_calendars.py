"""Meetings after booking, on every backend: the lead cancels in the conversation (unknown, another tenant's or
another conversation's meeting dead-lettered), the tenant cancels over the API, the invitation follows the
meeting's state, and calendar settings are put only when they hold together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from afo_common.ids import new_id
from afo_common.messaging.consumer import PermanentError
from afo_common.rpcs import workflow_executor as wx
from afo_workflow_executor.handlers.errors import Invalid, NotFound

TENANT, OTHER, AGENT = "t_acme", "t_other", "agt_1"


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


def ref(meeting_id: str, tenant: str = TENANT) -> wx.MeetingRef:
    return wx.MeetingRef(tenant_id=tenant, meeting_id=meeting_id)


async def test_the_lead_cancels_and_the_time_is_free_again(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [booked] = await flow.events("meeting.booked")

    await flow.cancel_request(booked["meeting_id"])
    await flow.cancel_request(booked["meeting_id"])  # asked twice: answered again, as it was cancelled
    await flow.request(ny(3, 10))

    first, again = await flow.events("meeting.cancelled")
    assert (first["meeting_id"], first["by"], first["agent_id"]) == (booked["meeting_id"], "lead", AGENT)
    assert again["by"] == "lead"
    meeting = await flow.meetings.get(ref(booked["meeting_id"]))
    assert (meeting.status, meeting.cancelled_by) == ("cancelled", "lead")
    assert len(await flow.events("meeting.booked")) == 2 and await flow.events("meeting.failed") == []


async def test_a_cancel_request_for_a_meeting_it_cannot_have_is_dead_lettered(flow: Any) -> None:
    await flow.request(ny(3, 10), tenant=OTHER)
    await flow.request(ny(3, 11))
    theirs, ours = await flow.events("meeting.booked")

    with pytest.raises(PermanentError, match="not found"):
        await flow.cancel_request(new_id("mtg"))
    with pytest.raises(PermanentError, match="not found"):
        await flow.cancel_request(theirs["meeting_id"])
    with pytest.raises(PermanentError, match="not of conversation"):
        await flow.cancel_request(ours["meeting_id"], conversation="conv_someone_else")

    assert await flow.events("meeting.cancelled") == []
    assert (await flow.meetings.get(ref(theirs["meeting_id"], OTHER))).status == "booked"


async def test_the_tenant_cancels_over_the_api_once(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [booked] = await flow.events("meeting.booked")

    first = await flow.meetings.cancel(ref(booked["meeting_id"]))
    second = await flow.meetings.cancel(ref(booked["meeting_id"]))
    with pytest.raises(NotFound):
        await flow.meetings.cancel(ref(booked["meeting_id"], OTHER))

    assert first.status == second.status == "cancelled" and first.cancelled_by == "tenant"
    [cancelled] = await flow.events("meeting.cancelled")
    assert cancelled["by"] == "tenant" and cancelled["_tenant"] == TENANT


async def test_meetings_are_listed_by_agent_lead_and_status_a_page_at_a_time(flow: Any) -> None:
    for hour in (10, 11, 12):
        await flow.request(ny(3, hour))
    await flow.request(ny(3, 13), agent="agt_2")
    ids = [b["meeting_id"] for b in await flow.events("meeting.booked")]
    await flow.meetings.cancel(ref(ids[0]))

    first = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT, agent_id=AGENT, limit=2))
    rest = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT, agent_id=AGENT, limit=2,
                                                    cursor=first.next_cursor))
    booked = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT, status="booked"))
    nobody = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT, lead_id="lead_unknown"))

    # Newest first by id (ids sort by creation time, to the millisecond).
    assert [m.id for m in first.data + rest.data] == sorted(ids[:3], reverse=True) and rest.next_cursor is None
    assert {m.id for m in booked.data} == set(ids[1:]) and nobody.data == []


async def test_the_invitation_follows_the_meeting(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [booked] = await flow.events("meeting.booked")

    invite = await flow.meetings.invite(ref(booked["meeting_id"]))
    await flow.meetings.cancel(ref(booked["meeting_id"]))
    cancel = await flow.meetings.invite(ref(booked["meeting_id"]))
    with pytest.raises(NotFound):
        await flow.meetings.invite(ref(booked["meeting_id"], OTHER))

    request, cancellation = Calendar.from_ical(invite.ics), Calendar.from_ical(cancel.ics)
    assert request["METHOD"] == "REQUEST" and cancellation["METHOD"] == "CANCEL"
    [event] = request.walk("VEVENT")
    assert event["UID"] == f"{booked['meeting_id']}@afo" and event.decoded("DTSTART") == ny(3, 10)
    assert cancellation.walk("VEVENT")[0]["SEQUENCE"] == 1 and invite.filename == f"{booked['meeting_id']}.ics"


async def test_calendar_settings_are_put_when_they_hold_together(flow: Any) -> None:
    agent = wx.AgentCalendarRef(tenant_id=TENANT, agent_id="agt_new")
    default = await flow.calendars.get(agent)
    body = default.settings.model_copy(update={"time_zone": "Europe/Paris", "weekly": {"sat": ["10:00-12:00"]},
                                               "meeting_minutes": 60})

    put = await flow.calendars.put(wx.PutCalendar(tenant_id=TENANT, agent_id="agt_new", settings=body))
    again = await flow.calendars.put(wx.PutCalendar(tenant_id=TENANT, agent_id="agt_new", settings=body))
    read = await flow.calendars.get(agent)
    theirs = await flow.calendars.get(wx.AgentCalendarRef(tenant_id=OTHER, agent_id="agt_new"))

    assert default.is_default and default.id is None and default.settings.weekly["mon"] == ["09:00-17:00"]
    assert put.id == again.id == read.id and not read.is_default
    assert read.settings.time_zone == "Europe/Paris" and read.settings.weekly == {"sat": ["10:00-12:00"]}
    assert theirs.is_default


async def test_an_agents_calendar_starts_in_the_agents_time_zone_or_utc(flow: Any) -> None:
    in_tokyo = await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id="agt_t", time_zone="Asia/Tokyo"))
    unknown = await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id="agt_t", time_zone="Mars/Base"))

    assert (in_tokyo.is_default, in_tokyo.settings.time_zone) == (True, "Asia/Tokyo")
    assert unknown.settings.time_zone == "UTC"


@pytest.mark.parametrize(("change", "says"), [
    ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
    ({"weekly": {"mon": ["12:00-09:00"]}}, "ordered"),
    ({"weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "overlap"),
    ({"weekly": {"mon": ["25:00-26:00"]}}, "malformed"),
    ({"slot_step_minutes": 7}, "divide an hour"),
    ({"buffer_before_minutes": 10}, "whole slot steps"),
])
async def test_settings_that_do_not_hold_together_are_refused_with_the_reason(flow: Any, change: dict[str, Any],
                                                                              says: str) -> None:
    body = (await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id=AGENT))).settings
    with pytest.raises(Invalid, match=says):
        await flow.calendars.put(wx.PutCalendar(tenant_id=TENANT, agent_id=AGENT,
                                                settings=body.model_copy(update=change)))
    assert (await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id=AGENT))).is_default


async def test_a_put_calendar_decides_the_next_booking(flow: Any) -> None:
    body = (await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id=AGENT))).settings
    await flow.calendars.put(wx.PutCalendar(tenant_id=TENANT, agent_id=AGENT, settings=body.model_copy(
        update={"time_zone": "America/New_York", "weekly": {"tue": ["13:00-15:00"]}})))

    await flow.request(ny(3, 10))

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "outside_hours"
    assert [a["start"][11:16] for a in failed["alternatives"]] == ["18:00", "18:15", "18:30"]  # 13:00 in New York


async def test_racing_cancels_announce_the_cancellation_once(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [booked] = await flow.events("meeting.booked")

    answers = await asyncio.gather(*(flow.meetings.cancel(ref(booked["meeting_id"])) for _ in range(6)))

    assert {a.status for a in answers} == {"cancelled"} and {a.cancelled_by for a in answers} == {"tenant"}
    assert len(await flow.events("meeting.cancelled")) == 1
