"""A tenant with an outside calendar (a fake of the ``ExternalCalendar`` port, answering from memory), on every
backend: its busy times are not offered, it receives the booked meeting, a scheduling link or a provider failure
leave the time free here, and a reschedule or a cancel cancels its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from afo_common.provider_errors import ProviderError
from afo_common.rpcs import workflow_executor as wx
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.crm_leads import LeadRecord

TENANT = "t_acme"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_the_outside_calendar_receives_the_meeting(flow: Any, google: Any) -> None:
    await flow.request(ny(3, 10), request_id="req_ext")

    [booked] = await flow.events("meeting.booked")
    assert (booked["provider"], booked["external_id"], booked["url"]) == \
        ("google", "ev_req_ext", "https://calendar.example/e/req_ext")
    draft = google.booked["req_ext"]
    assert (draft.start, draft.end, draft.time_zone) == (ny(3, 10), ny(3, 10, 30), "America/New_York")
    meeting = await flow.meetings.get(wx.MeetingRef(tenant_id=TENANT, meeting_id=booked["meeting_id"]))
    assert (meeting.provider, meeting.external_id) == ("google", "ev_req_ext")


async def test_the_lead_known_by_email_is_the_events_attendee(flow: Any, google: Any) -> None:
    async with flow.store() as uow:
        await uow.crm_leads.save(LeadRecord("lead_1", TENANT, "conv_1", "agt_1", NOW, NOW,
                                            fields={"email": "lee@example.com", "name": "Lee Lead"}))
        await uow.crm_leads.save(LeadRecord("lead_1", "t_other", "conv_9", "agt_9", NOW, NOW,
                                            fields={"email": "someone@else.example"}))

    await flow.request(ny(3, 10), request_id="req_known")

    draft = google.booked["req_known"]
    assert (draft.attendee_email, draft.attendee_name) == ("lee@example.com", "Lee Lead")


async def test_a_lead_without_an_email_is_not_invited(flow: Any, google: Any) -> None:
    async with flow.store() as uow:
        await uow.crm_leads.save(LeadRecord("lead_1", TENANT, "conv_1", "agt_1", NOW, NOW, fields={"name": "Lee"}))

    await flow.request(ny(3, 10), request_id="req_nameless")

    assert (google.booked["req_nameless"].attendee_email, google.booked["req_nameless"].attendee_name) == (None, None)


async def test_the_outside_calendars_busy_times_are_refused_and_not_offered(flow: Any, google: Any) -> None:
    google.held = [Interval(ny(3, 9, 45), ny(3, 11))]

    await flow.request(ny(3, 10))

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "slot_taken"
    starts = [parse(a["start"]) for a in failed["alternatives"]]
    assert starts == [ny(3, 9), ny(3, 9, 15), ny(3, 11)]  # the nearest, earlier on a tie, in the order of the day
    assert google.booked == {}


async def test_a_scheduling_link_is_passed_on_and_holds_nothing_here(flow: Any, google: Any) -> None:
    google.provider, google.answer = "calendly", "link"

    await flow.request(ny(3, 10), request_id="req_link")
    google.answer = "event"
    await flow.request(ny(3, 10), request_id="req_after")

    [failed] = await flow.events("meeting.failed")
    assert (failed["reason"], failed["scheduling_url"]) == ("no_calendar", "https://calendly.example/s/req_link")
    assert failed["alternatives"] == []
    [booked] = await flow.events("meeting.booked")
    assert booked["request_id"] == "req_after" and parse(booked["start"]) == ny(3, 10)


async def test_a_final_provider_failure_frees_the_time_and_says_so(flow: Any, google: Any) -> None:
    google.answer = "error"

    await flow.request(ny(3, 10))

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "provider_error" and "google" in failed["detail"] and len(failed["alternatives"]) == 3
    assert (await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT))).data == []


async def test_a_retryable_provider_failure_is_retried_and_then_given_up(flow: Any, google: Any) -> None:
    google.answer, google.retryable = "error", True

    with pytest.raises(ProviderError):  # the consumer naks it with a delay
        await flow.request(ny(3, 10), request_id="req_retry")
    assert await flow.events() == [] and (await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT))).data == []
    await flow.request(ny(3, 10), request_id="req_retry", attempt=5)  # the last delivery

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "provider_error" and failed["request_id"] == "req_retry"


async def test_a_reschedule_and_a_cancel_cancel_the_outside_events(flow: Any, google: Any) -> None:
    await flow.request(ny(3, 10), request_id="req_a")
    [old] = await flow.events("meeting.booked")

    await flow.request(ny(3, 14), request_id="req_b", replaces=old["meeting_id"])
    new = (await flow.events("meeting.booked"))[-1]
    await flow.cancel_request(new["meeting_id"])

    assert new["external_id"] == "ev_req_b" and google.cancelled == ["ev_req_a", "ev_req_b"]
    assert [c["by"] for c in await flow.events("meeting.cancelled")] == ["rescheduled", "lead"]
