"""The calendar's answers said in the conversation, and the conversation's end, over the real platform.

workflow-executor does not run here: this test plays it, so it can script each answer (in
tests/e2e/test_booking.py the real one answers). It reads the ``meeting.requested`` the chat produced and
publishes ``meeting.booked`` on JetStream with workflow-executor's own NATS user, as the service would. The
confirmation then shows in the conversation's history, on its SSE stream (``reply.completed`` and
``meeting.booked``) and on the lead; closing the conversation (twice) gives it one analysis, shown in
``GET /v1/conversations/{id}`` and on the lead. A taken time (``meeting.failed`` with three free times) is
offered back, and the lead's pick ("the second one") becomes a new ``meeting.requested`` for that time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import nats
import pytest
import pytest_asyncio
from nats.aio.msg import Msg

from afo_common.events import Event, envelope_for, parse_envelope
from afo_common.events.conversation import MeetingRequested
from afo_common.events.workflow import MeetingBooked, MeetingFailed, SlotOffer
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, eventually, published_agent, say, sign_up
from tests.e2e.sse import SseReader

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_S = 30.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    home: Path = tmp_path_factory.mktemp("meeting-messages")
    async with running_platform(home, services=("gateway", "agent-runtime"), supervise=False) as running:
        yield running


async def test_a_booking_is_confirmed_in_the_conversation_and_the_closed_conversation_is_analysed(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone="America/New_York")
    conversation_id = await conversation(api, tenant, agent_id)
    requested: asyncio.Queue[MeetingRequested] = asyncio.Queue()
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    executor = await nats.connect(platform.nats_url, **platform.nats_auth("workflow-executor").connect_options())

    async def on_request(msg: Msg) -> None:
        _, event = parse_envelope(msg.data)
        assert isinstance(event, MeetingRequested)
        requested.put_nowait(event)

    await admin.subscribe(f"afo.{tenant.id}.meeting.requested", cb=on_request)
    reader = SseReader(api, f"/v1/conversations/{conversation_id}/stream", headers=tenant.auth,
                       until="meeting.booked")
    try:
        await reader.opened()
        await say(api, tenant, conversation_id, "Hi, I'm Dana from Acme Corp, my email is dana@acme.example")
        await say(api, tenant, conversation_id, "We need a booking system for our three clinics.")
        await say(api, tenant, conversation_id, "Can we meet next Wednesday at 10am?")
        request = await asyncio.wait_for(requested.get(), WAIT_S)

        # workflow-executor's answer, published as it would publish it (its user, JetStream, a message id).
        booked = MeetingBooked(
            meeting_id="mtg_e2e_1", request_id=request.request_id, conversation_id=conversation_id,
            agent_id=agent_id, lead_id=request.lead_id, calendar_id="cal_builtin", provider="builtin",
            start=request.start, end=request.start + timedelta(minutes=30), timezone=request.timezone)
        envelope = envelope_for(booked, tenant_id=tenant.id, source="workflow-executor")
        for _ in range(2):  # published twice (a relay that re-published): said once
            await executor.jetstream().publish(envelope.nats_subject, envelope.to_bytes(),
                                               headers={"Nats-Msg-Id": f"{envelope.id}"})
        await reader.ended(WAIT_S)
    finally:
        await admin.close()
        await executor.close()

    confirmation = [data for kind, data in reader.events if kind == "reply.completed"
                    and data.get("intent") == "meeting_booked"]
    assert len(confirmation) == 1
    assert confirmation[0]["text"].startswith("You're booked! Your meeting is on Wednesday")
    assert "10:00 AM (America/New_York)" in confirmation[0]["text"]
    (meeting,) = [data for kind, data in reader.events if kind == "meeting.booked"]
    assert meeting["meeting_id"] == "mtg_e2e_1" and meeting["message_id"] == confirmation[0]["message_id"]

    history = await eventually(api, tenant, f"/v1/conversations/{conversation_id}",
                               lambda body: body["messages"][-1]["intent"] == "meeting_booked", within_s=WAIT_S)
    assert [m["intent"] for m in history["messages"]].count("meeting_booked") == 1
    assert history["messages"][-1]["text"] == confirmation[0]["text"]
    lead = (await api.get(f"/v1/leads/{history['lead_id']}", headers=tenant.auth)).json()
    assert lead["fields"]["meeting_id"] == "mtg_e2e_1"
    assert lead["fields"]["email"] == "dana@acme.example"

    closed = await api.post(f"/v1/conversations/{conversation_id}/close", headers=tenant.auth)
    again = await api.post(f"/v1/conversations/{conversation_id}/close", headers=tenant.auth)
    assert closed.status_code == 200, closed.text
    assert closed.json()["close_reason"] == "closed"
    assert again.json()["closed_at"] == closed.json()["closed_at"]

    ended = await eventually(api, tenant, f"/v1/conversations/{conversation_id}",
                             lambda body: body["analysis"] is not None, within_s=WAIT_S)
    analysis = ended["analysis"]
    assert analysis["outcome"] == "booked" and analysis["engine"] == "embedded"
    assert "We need a booking system for our three clinics." in analysis["summary"]
    assert analysis["facts"]["meeting_id"] == "mtg_e2e_1"
    assert analysis["next_step"].startswith("Hold the meeting on Wednesday")
    lead = (await api.get(f"/v1/leads/{history['lead_id']}", headers=tenant.auth)).json()
    assert lead["summary"] == analysis["summary"]


async def publish_as_executor(platform: Platform, tenant: Tenant, event: Event) -> None:
    executor = await nats.connect(platform.nats_url, **platform.nats_auth("workflow-executor").connect_options())
    try:
        envelope = envelope_for(event, tenant_id=tenant.id, source="workflow-executor")
        await executor.jetstream().publish(envelope.nats_subject, envelope.to_bytes(),
                                           headers={"Nats-Msg-Id": envelope.id})
    finally:
        await executor.close()


async def test_a_taken_time_offers_three_and_the_leads_pick_goes_back_to_the_calendar(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone="America/New_York")
    conversation_id = await conversation(api, tenant, agent_id)
    requested: asyncio.Queue[MeetingRequested] = asyncio.Queue()
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())

    async def on_request(msg: Msg) -> None:
        _, event = parse_envelope(msg.data)
        assert isinstance(event, MeetingRequested)
        requested.put_nowait(event)

    await admin.subscribe(f"afo.{tenant.id}.meeting.requested", cb=on_request)
    try:
        await say(api, tenant, conversation_id, "Can we meet next Wednesday at 10am?")
        first = await asyncio.wait_for(requested.get(), WAIT_S)
        slots = [first.start + timedelta(minutes=30 * n) for n in (1, 2, 3)]
        await publish_as_executor(platform, tenant, MeetingFailed(
            request_id=first.request_id, conversation_id=conversation_id, agent_id=agent_id, lead_id=first.lead_id,
            reason="slot_taken", detail="the calendar is busy then", timezone=first.timezone,
            alternatives=[SlotOffer(start=s, end=s + timedelta(minutes=30)) for s in slots]))
        offered = await eventually(api, tenant, f"/v1/conversations/{conversation_id}",
                                   lambda body: body["messages"][-1]["intent"] == "meeting_failed", within_s=WAIT_S)
        assert offered["messages"][-1]["text"].startswith("That time is taken — I can offer Wednesday")
        assert "10:30 AM, 11:00 AM or 11:30 AM (America/New_York)" in offered["messages"][-1]["text"]

        picked = await say(api, tenant, conversation_id, "the second one")
        second = await asyncio.wait_for(requested.get(), WAIT_S)
    finally:
        await admin.close()

    assert "11:00 AM" in picked["reply"]["text"]
    assert second.start == slots[1] and second.request_id != first.request_id
    assert second.replaces_meeting_id is None
