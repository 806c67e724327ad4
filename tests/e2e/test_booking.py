"""Booking through the running platform: a lead's meeting.requested (published as agent-runtime publishes it)
is booked on the agent's built-in calendar (meeting.booked, GET /v1/meetings/{id}, its ICS invitation); the
same time asked again is refused with three alternatives, one of which then books; the tenant cancels over the
API (meeting.cancelled). Real processes, real nats-server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest
from icalendar import Calendar
from nats.js.errors import NotFoundError

from afo_common.events import envelope_for
from afo_common.events.conversation import MeetingRequested
from afo_common.ids import new_id
from afo_testkit.platform import Platform
from tests.e2e.journey import Tenant, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ZONE = "America/New_York"


def next_weekday_at_ten() -> datetime:
    """10:00 in New York on the next weekday at least a day away: inside the default calendar's hours."""
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), ZoneInfo(ZONE)).astimezone(UTC)


class Events:
    """Publishes the lead's requests as agent-runtime would and reads workflow-executor's answers."""

    def __init__(self, platform: Platform, tenant: Tenant, agent_id: str, conversation_id: str) -> None:
        self._platform, self._tenant = platform, tenant
        self._agent_id, self._conversation_id = agent_id, conversation_id

    async def request(self, start: datetime) -> str:
        payload = MeetingRequested(request_id=new_id("req"), conversation_id=self._conversation_id,
                                   agent_id=self._agent_id, lead_id=None, start=start, timezone=ZONE,
                                   text="next week at 10am")
        envelope = envelope_for(payload, tenant_id=self._tenant.id, source="agent-runtime")
        nc = await nats.connect(self._platform.nats_url, **self._platform.nats_auth().connect_options())
        try:
            await nc.jetstream().publish(envelope.nats_subject, envelope.to_bytes(),
                                         headers={"Nats-Msg-Id": envelope.id})
        finally:
            await nc.drain()
        return payload.request_id

    async def answer(self, name: str, request_id: str, timeout_s: float = 15.0) -> dict[str, Any]:
        """The last ``meeting.<name>`` of this tenant once it answers ``request_id``."""
        subject = f"afo.{self._tenant.id}.meeting.{name}"
        nc = await nats.connect(self._platform.nats_url, **self._platform.nats_auth().connect_options())
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            while True:
                try:
                    message = await nc.jetstream().get_last_msg("WORKFLOW", subject)
                    data: dict[str, Any] = json.loads(message.data or b"{}")["data"]
                    if data.get("request_id") == request_id or data.get("meeting_id") == request_id:
                        return data
                except NotFoundError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, f"no {subject} for {request_id}"
                await asyncio.sleep(0.1)
        finally:
            await nc.drain()


async def test_a_requested_meeting_is_booked_shown_invited_refused_when_taken_and_cancelled(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    events = Events(platform, tenant, agent_id, await conversation(api, tenant, agent_id))
    start = next_weekday_at_ten()

    booked = await events.answer("booked", await events.request(start))
    meeting = await api.get(f"/v1/meetings/{booked['meeting_id']}", headers=tenant.auth)
    invite = await api.get(f"/v1/meetings/{booked['meeting_id']}/invite.ics", headers=tenant.auth)
    calendar = await api.get(f"/v1/agents/{agent_id}/calendar", headers=tenant.auth)

    assert meeting.status_code == 200, meeting.text
    assert (meeting.json()["status"], meeting.json()["agent_id"]) == ("booked", agent_id)
    assert datetime.fromisoformat(meeting.json()["start"]) == start
    assert invite.status_code == 200 and invite.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(invite.content).walk("VEVENT")
    assert event["UID"] == f"{booked['meeting_id']}@afo" and event.decoded("DTSTART") == start
    assert calendar.json()["id"] == booked["calendar_id"] and calendar.json()["settings"]["time_zone"] == ZONE

    failed = await events.answer("failed", await events.request(start))
    assert failed["reason"] == "slot_taken" and len(failed["alternatives"]) == 3
    picked = datetime.fromisoformat(failed["alternatives"][0]["start"])
    rebooked = await events.answer("booked", await events.request(picked))
    assert datetime.fromisoformat(rebooked["start"]) == picked

    cancelled = await api.post(f"/v1/meetings/{booked['meeting_id']}/cancel", headers=tenant.auth)
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_by"] == "tenant"
    said = await events.answer("cancelled", booked["meeting_id"])
    assert said["by"] == "tenant"
    listed = await api.get("/v1/meetings", headers=tenant.auth, params={"status": "booked"})
    assert [m["id"] for m in listed.json()["data"]] == [rebooked["meeting_id"]]
    other = await sign_up(api)
    assert (await api.get(f"/v1/meetings/{booked['meeting_id']}", headers=other.auth)).status_code == 404


async def test_a_time_the_lead_proposes_in_the_chat_is_booked(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE)
    conversation_id = await conversation(api, tenant, agent_id)

    body = await say(api, tenant, conversation_id, "Can we meet next Tuesday at 3pm?")
    deadline = asyncio.get_running_loop().time() + 15
    while not (listed := (await api.get("/v1/meetings", headers=tenant.auth,
                                        params={"agent_id": agent_id})).json()["data"]):
        assert asyncio.get_running_loop().time() < deadline, "no meeting booked"
        await asyncio.sleep(0.1)

    assert body["reply"]["intent"] == "scheduling"
    [meeting] = listed
    start = datetime.fromisoformat(meeting["start"]).astimezone(ZoneInfo(ZONE))
    assert (start.weekday(), start.hour, start.minute) == (1, 15, 0)  # a Tuesday, 15:00 in New York
    assert (meeting["status"], meeting["conversation_id"], meeting["timezone"]) == ("booked", conversation_id, ZONE)
