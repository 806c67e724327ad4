"""meeting.requested answered on every backend: booked on the agent's default calendar, each refusal with its
reason and three free alternatives, a duplicated request answered as the first time, racing requests for one
slot booking it once, and a reschedule that moves the meeting only when the new time is booked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from afo_common.events.conversation import MeetingRequested
from afo_common.ids import new_id
from afo_common.messaging.consumer import DuplicateDelivery, PermanentError
from afo_common.rpcs import workflow_executor as wx
from afo_workflow_executor.domain.calendar import default_settings

# The same as the conftest's (a test module cannot import it): the Flow fixture books with these.
TENANT, OTHER, AGENT, ZONE = "t_acme", "t_other", "agt_1", "America/New_York"
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York (UTC-5 until the 8th)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bookings(outcome: str) -> float:
    """afo_bookings_total now (afo_workflow_executor.metrics), 0 before its first increment."""
    return REGISTRY.get_sample_value("afo_bookings_total", {"service": "workflow-executor", "outcome": outcome}) or 0.0


async def test_a_request_books_on_the_agents_default_calendar(flow: Any) -> None:
    booked_before = bookings("booked")
    delivery = await flow.request(ny(3, 10), request_id="req_first")
    assert bookings("booked") == booked_before + 1

    [booked] = await flow.events("meeting.booked")
    assert booked["_tenant"] == TENANT and booked["_causation"] == delivery.envelope.id
    assert (booked["request_id"], booked["agent_id"], booked["lead_id"], booked["provider"]) == \
        ("req_first", AGENT, "lead_1", "builtin")
    assert (parse(booked["start"]), parse(booked["end"])) == (ny(3, 10), ny(3, 10, 30))
    assert booked["timezone"] == ZONE and booked["rescheduled_from"] is None
    assert await flow.events("meeting.failed") == []
    calendar = await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id=AGENT))
    assert not calendar.is_default and calendar.id == booked["calendar_id"]
    assert calendar.settings.model_dump(mode="json") == default_settings(ZONE).to_json()
    meeting = await flow.meetings.get(wx.MeetingRef(tenant_id=TENANT, meeting_id=booked["meeting_id"]))
    assert (meeting.status, meeting.start, meeting.conversation_id) == ("booked", ny(3, 10), "conv_1")


@pytest.mark.parametrize(("start", "reason"), [
    (NOW + timedelta(hours=1), "too_soon"),             # Monday 10:00, under two hours' notice
    (ny(3, 20), "outside_hours"),                        # Tuesday 20:00, closed
    (ny(3, 10, 7), "outside_hours"),                     # not on the 15-minute grid
    (NOW + timedelta(days=61), "beyond_horizon"),        # past 60 days ahead
])
async def test_a_refused_time_answers_its_reason_and_three_free_alternatives(flow: Any, start: datetime,
                                                                             reason: str) -> None:
    await flow.request(start)

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == reason and failed["detail"] and failed["timezone"] == ZONE
    offers = [(parse(a["start"]), parse(a["end"])) for a in failed["alternatives"]]
    assert len(offers) == 3 and all(end - begin == timedelta(minutes=30) for begin, end in offers)
    assert all(NOW + timedelta(hours=2) <= begin <= NOW + timedelta(days=60) for begin, _ in offers)
    assert await flow.events("meeting.booked") == []


async def test_a_taken_slot_is_refused_with_the_nearest_free_ones(flow: Any) -> None:
    booked_before, taken_before = bookings("booked"), bookings("slot_taken")
    await flow.request(ny(3, 10))
    await flow.request(ny(3, 10))
    assert (bookings("booked"), bookings("slot_taken")) == (booked_before + 1, taken_before + 1)

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "slot_taken"
    assert [parse(a["start"]) for a in failed["alternatives"]] == [ny(3, 9, 15), ny(3, 9, 30), ny(3, 10, 30)]


async def test_a_duplicated_request_is_answered_as_the_first_time_and_books_once(flow: Any) -> None:
    first = await flow.request(ny(3, 10), request_id="req_same")
    await flow.request(ny(3, 14), request_id="req_same")  # the same request id, even with another time
    with pytest.raises(DuplicateDelivery):  # the same delivery again: the inbox refuses it
        await flow.requests(flow.delivery(first.payload, envelope=first.envelope))

    booked = await flow.events("meeting.booked")
    assert len(booked) == 2 and booked[0]["meeting_id"] == booked[1]["meeting_id"]
    assert parse(booked[1]["start"]) == ny(3, 10)
    page = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT))
    assert [m.id for m in page.data] == [booked[0]["meeting_id"]]


async def test_a_duplicated_failed_request_gets_the_same_failure_even_when_the_time_came_free(flow: Any) -> None:
    await flow.request(ny(3, 10))
    await flow.request(ny(3, 10), request_id="req_late")
    [blocking] = await flow.events("meeting.booked")
    await flow.meetings.cancel(wx.MeetingRef(tenant_id=TENANT, meeting_id=blocking["meeting_id"]))

    await flow.request(ny(3, 10), request_id="req_late")

    first, again = await flow.events("meeting.failed")
    assert {k: v for k, v in first.items() if k != "_causation"} == \
        {k: v for k, v in again.items() if k != "_causation"}
    assert again["reason"] == "slot_taken" and len(await flow.events("meeting.booked")) == 1


async def test_racing_requests_for_one_slot_book_it_once(flow: Any) -> None:
    racers = 10

    async def attempt() -> None:
        await flow.request(ny(4, 11))

    await asyncio.gather(*(attempt() for _ in range(racers)))

    booked, failed = await flow.events("meeting.booked"), await flow.events("meeting.failed")
    assert len(booked) == 1 and len(failed) == racers - 1
    assert {f["reason"] for f in failed} == {"slot_taken"}
    assert all(ny(4, 11) not in [parse(a["start"]) for a in f["alternatives"]] for f in failed)
    page = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT, status="booked"))
    assert len(page.data) == 1


async def test_tenants_calendars_are_apart(flow: Any) -> None:
    await flow.request(ny(3, 10))
    await flow.request(ny(3, 10), tenant=OTHER)

    booked = await flow.events("meeting.booked")
    assert {b["_tenant"] for b in booked} == {TENANT, OTHER} and booked[0]["calendar_id"] != booked[1]["calendar_id"]
    ours = await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT))
    assert [m.id for m in ours.data] == [booked[0]["meeting_id"]]


async def test_a_reschedule_books_the_new_time_then_cancels_the_old(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [old] = await flow.events("meeting.booked")
    rescheduled_before = bookings("rescheduled")

    await flow.request(ny(3, 10, 15), replaces=old["meeting_id"])  # overlaps the time it frees

    assert bookings("rescheduled") == rescheduled_before + 1

    new = (await flow.events("meeting.booked"))[-1]
    [cancelled] = await flow.events("meeting.cancelled")
    assert new["rescheduled_from"] == old["meeting_id"] and parse(new["start"]) == ny(3, 10, 15)
    assert (cancelled["meeting_id"], cancelled["by"]) == (old["meeting_id"], "rescheduled")
    before = await flow.meetings.get(wx.MeetingRef(tenant_id=TENANT, meeting_id=old["meeting_id"]))
    assert (before.status, before.cancelled_by) == ("cancelled", "rescheduled")
    after = await flow.meetings.get(wx.MeetingRef(tenant_id=TENANT, meeting_id=new["meeting_id"]))
    assert after.status == "booked" and after.rescheduled_from == old["meeting_id"]


async def test_a_reschedule_to_a_taken_time_keeps_the_old_meeting(flow: Any) -> None:
    await flow.request(ny(3, 10))
    await flow.request(ny(3, 14))
    old, other = await flow.events("meeting.booked")

    await flow.request(ny(3, 14), replaces=old["meeting_id"])

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "slot_taken" and await flow.events("meeting.cancelled") == []
    kept = await flow.meetings.get(wx.MeetingRef(tenant_id=TENANT, meeting_id=old["meeting_id"]))
    assert kept.status == "booked" and other["meeting_id"] != old["meeting_id"]


async def test_a_reschedule_of_an_unknown_or_other_tenants_meeting_is_dead_lettered(flow: Any) -> None:
    await flow.request(ny(3, 10), tenant=OTHER)
    [theirs] = await flow.events("meeting.booked")

    for meeting_id in (theirs["meeting_id"], new_id("mtg")):
        with pytest.raises(PermanentError):
            await flow.request(ny(3, 11), replaces=meeting_id)
    assert len(await flow.events("meeting.booked")) == 1


async def test_a_time_without_an_offset_is_read_in_the_leads_zone(flow: Any) -> None:
    await flow.request(datetime(2026, 3, 3, 10, 0))  # no offset: 10:00 in New York

    [booked] = await flow.events("meeting.booked")
    assert parse(booked["start"]) == ny(3, 10)


async def test_an_unknown_zone_gets_a_default_calendar_in_utc(flow: Any) -> None:
    payload = MeetingRequested(request_id=new_id("req"), conversation_id="conv_1", agent_id=AGENT, lead_id=None,
                               start=ny(3, 10), timezone="Mars/Olympus", text="tuesday 3pm UTC")
    await flow.requests(flow.delivery(payload))

    [booked] = await flow.events("meeting.booked")
    calendar = await flow.calendars.get(wx.AgentCalendarRef(tenant_id=TENANT, agent_id=AGENT))
    assert calendar.settings.time_zone == "UTC" and booked["timezone"] == "Mars/Olympus"


async def test_a_duplicated_reschedule_answers_both_events_again(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [old] = await flow.events("meeting.booked")
    await flow.request(ny(3, 11), request_id="req_move", replaces=old["meeting_id"])
    await flow.request(ny(3, 11), request_id="req_move", replaces=old["meeting_id"])

    moved = (await flow.events("meeting.booked"))[1:]
    assert len(moved) == 2 and moved[0]["meeting_id"] == moved[1]["meeting_id"]
    assert [c["meeting_id"] for c in await flow.events("meeting.cancelled")] == [old["meeting_id"]] * 2
    assert len((await flow.meetings.list(wx.ListMeetings(tenant_id=TENANT))).data) == 2


async def test_rescheduling_a_meeting_already_cancelled_books_without_cancelling_again(flow: Any) -> None:
    await flow.request(ny(3, 10))
    [old] = await flow.events("meeting.booked")
    await flow.cancel_request(old["meeting_id"])
    await flow.request(ny(3, 10))  # someone else takes the freed time
    taken = (await flow.events("meeting.booked"))[-1]

    await flow.request(ny(3, 10), replaces=old["meeting_id"])
    await flow.request(ny(3, 11), replaces=old["meeting_id"])

    [failed] = await flow.events("meeting.failed")
    assert failed["reason"] == "slot_taken" and taken["meeting_id"] != old["meeting_id"]
    moved = (await flow.events("meeting.booked"))[-1]
    assert moved["rescheduled_from"] == old["meeting_id"] and parse(moved["start"]) == ny(3, 11)
    assert [c["by"] for c in await flow.events("meeting.cancelled")] == ["lead"]
