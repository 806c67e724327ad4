"""Reminders over the running platform (gateway, agent-runtime, workflow-executor and notifier, real nats-server,
the SMTP sink ``afo up`` starts): a lead who gives a phone and an email in the chat books "next Wednesday at
10am"; the confirmation email with the invitation reaches the SMTP sink and its reminders are scheduled (24 h
before on SMS and email). A meeting about an hour ahead (``meeting.booked`` published as workflow-executor would)
with a reminder offset set just under it (``AFO_REMINDER_OFFSETS_S``): its SMS reminder is sent (to the SMS sink)
once its time comes, and ``GET /v1/notifications`` shows it sent; the 24 h one, already past, is recorded
skipped. Another tenant's notification is a 404, a bad filter a 422. A reminder that comes due while notifier is
stopped is sent after it starts again, once, with a second replica polling the same database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from nats.errors import TimeoutError as NoMessage

from afo_common.events import envelope_for
from afo_common.events.workflow import MeetingBooked
from afo_testkit.platform import Platform, running_platform
from afo_testkit.problems import assert_problem
from tests.e2e.journey import LEAD_EMAIL, Tenant, conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SERVICES = ("gateway", "agent-runtime", "workflow-executor", "notifier")
ZONE = "America/New_York"
PHONE = "+33612345678"
# 24 h before, and 3590 s before: a meeting an hour ahead is reminded ten seconds after it is booked.
OFFSETS_S = (86400, 3590)
WAIT_S = 30.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """A platform of its own: its reminder offsets are the platform's default, and notifier is stopped,
    restarted and given a replica here. Knowledge and voice play no part."""
    home: Path = tmp_path_factory.mktemp("platform")
    async with running_platform(home, services=SERVICES, supervise=False,
                                AFO_REMINDER_OFFSETS_S=f"[{OFFSETS_S[0]}, {OFFSETS_S[1]}]") as running:
        yield running


async def notifications(api: httpx.AsyncClient, tenant: Tenant, holds: Any, **params: str) -> list[dict[str, Any]]:
    body = await eventually(api, tenant, "/v1/notifications", lambda b: holds(b["data"]), params=params,
                            within_s=WAIT_S)
    data: list[dict[str, Any]] = body["data"]
    return data


async def test_reminders_of_a_meeting_booked_in_the_chat_reach_the_sinks(platform: Platform,
                                                                          api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE,
                                     qualification_fields=["email", "phone", "company", "need"])
    conversation_id = await conversation(api, tenant, agent_id)
    await say(api, tenant, conversation_id, f"I'm Dana from Northwind Traders, email {LEAD_EMAIL}")
    await say(api, tenant, conversation_id, f"My phone number is {PHONE}")
    await say(api, tenant, conversation_id, "Can we meet next Wednesday at 10am?")
    meetings = await eventually(api, tenant, "/v1/meetings", lambda b: len(b["data"]) == 1, within_s=WAIT_S)
    [meeting] = meetings["data"]
    start = datetime.fromisoformat(meeting["start"])

    # The confirmation email went out at once through the local SMTP relay, the invitation attached.
    rows = await notifications(api, tenant, lambda d: any(r["kind"] == "confirmation" and r["status"] == "sent"
                                                          for r in d), meeting_id=meeting["id"])
    [confirmation] = [r for r in rows if r["kind"] == "confirmation"]
    assert (confirmation["channel"], confirmation["provider"], confirmation["attachment"]) == (
        "email", "relay", "invite.ics")
    assert confirmation["to"] == "d•••@northwind.example"
    sink = platform.smtp_sink
    assert sink is not None
    [mail] = [m for _, to, m in sink.received if to == [LEAD_EMAIL]]
    assert mail["Subject"] == confirmation["subject"]
    assert [p.get_filename() for p in mail.walk() if p.get_content_type() == "text/calendar"] == ["invite.ics"]
    reminders = sorted((datetime.fromisoformat(r["send_at"]), r["channel"], r["status"]) for r in rows
                       if r["kind"] == "reminder")
    day_before, just_before = start - timedelta(seconds=OFFSETS_S[0]), start - timedelta(seconds=OFFSETS_S[1])
    assert reminders == [(day_before, "email", "scheduled"), (day_before, "sms", "scheduled"),
                         (just_before, "email", "scheduled"), (just_before, "sms", "scheduled")]

    # A meeting an hour ahead: its 3590 s reminder is due in about ten seconds and is sent once.
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    booked = MeetingBooked(meeting_id="mtg_e2e_soon", request_id="req_e2e_soon", conversation_id=conversation_id,
                           agent_id=agent_id, lead_id=meeting["lead_id"], calendar_id="cal_e2e",
                           provider="builtin", start=soon, end=soon + timedelta(minutes=30), timezone=ZONE)
    envelope = envelope_for(booked, tenant_id=tenant.id, source="workflow-executor")
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        await admin.jetstream().publish(envelope.nats_subject, envelope.to_bytes(),
                                        headers={"Nats-Msg-Id": envelope.id})
    finally:
        await admin.drain()
    sent = await notifications(api, tenant, lambda d: any(r["channel"] == "sms" and r["status"] == "sent"
                                                          for r in d), meeting_id="mtg_e2e_soon")
    [sms] = [r for r in sent if r["channel"] == "sms" and r["kind"] == "reminder" and r["status"] == "sent"]
    assert sms["provider"] == "sink" and sms["to"] == "+33•••••5678"
    assert sms["body"].startswith("Reminder: your meeting is in 59 minutes") and "Reply STOP" in sms["body"]
    assert datetime.fromisoformat(sms["send_at"]) == soon - timedelta(seconds=OFFSETS_S[1])
    # The day-before SMS and email were already past when it was booked: recorded, not sent.
    skipped = sorted((r["channel"], datetime.fromisoformat(r["send_at"])) for r in sent if r["status"] == "skipped")
    past = soon - timedelta(seconds=OFFSETS_S[0])
    assert skipped == [("email", past), ("sms", past)]

    one = await api.get(f"/v1/notifications/{sms['id']}", headers=tenant.auth)
    assert one.status_code == 200 and one.json()["status"] == "sent"
    other = await sign_up(api, company="Other Co")
    assert_problem(await api.get(f"/v1/notifications/{sms['id']}", headers=other.auth), 404)
    assert (await api.get("/v1/notifications", headers=other.auth)).json()["data"] == []
    assert_problem(await api.get("/v1/notifications", params={"status": "lost"}, headers=tenant.auth), 422)
    assert_problem(await api.get(f"/v1/notifications/{'x' * 65}", headers=tenant.auth), 422)


async def sent_events(platform: Platform, tenant: Tenant, notification_id: str) -> int:
    """How many ``notification.sent`` of this notification the NOTIFICATION stream holds."""
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        js = admin.jetstream()
        subscription = await js.subscribe(f"afo.{tenant.id}.notification.sent", ordered_consumer=True)
        count = 0
        while True:
            try:
                message = await subscription.next_msg(timeout=1.0)
            except NoMessage:
                return count
            count += json.loads(message.data)["data"]["notification_id"] == notification_id
    finally:
        await admin.drain()


async def test_a_reminder_due_while_notifier_is_down_is_sent_once_by_two_replicas_after_it_restarts(
        platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone=ZONE, qualification_fields=["phone", "company"])
    conversation_id = await conversation(api, tenant, agent_id)
    reply = await say(api, tenant, conversation_id, f"I'm Dana from Northwind Traders, call me on {PHONE}")
    lead_id = reply["lead"]["id"]
    await eventually(api, tenant, f"/v1/leads/{lead_id}", lambda b: b["fields"].get("phone"), within_s=WAIT_S)

    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=OFFSETS_S[1] + 6)
    booked = MeetingBooked(meeting_id="mtg_e2e_restart", request_id="req_e2e_restart",
                           conversation_id=conversation_id, agent_id=agent_id, lead_id=lead_id,
                           calendar_id="cal_e2e", provider="builtin", start=soon, end=soon + timedelta(minutes=30),
                           timezone=ZONE)
    envelope = envelope_for(booked, tenant_id=tenant.id, source="workflow-executor")
    admin = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        await admin.jetstream().publish(envelope.nats_subject, envelope.to_bytes(),
                                        headers={"Nats-Msg-Id": envelope.id})
    finally:
        await admin.drain()
    [scheduled] = await notifications(api, tenant, lambda d: any(r["status"] == "scheduled" for r in d),
                                      meeting_id="mtg_e2e_restart", status="scheduled")
    await platform.stop_service("notifier")
    send_at = datetime.fromisoformat(scheduled["send_at"])
    # Its time passes while no notifier runs.
    await asyncio.sleep(max((send_at - datetime.now(UTC)).total_seconds(), 0.0) + 0.5)
    await asyncio.gather(platform.start_service("notifier"), platform.start_replica("notifier"))

    [sent] = await notifications(api, tenant, lambda d: any(r["status"] == "sent" for r in d),
                                 meeting_id="mtg_e2e_restart", status="sent")
    assert sent["id"] == scheduled["id"] and sent["provider"] == "sink"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while (count := await sent_events(platform, tenant, sent["id"])) == 0:
        assert loop.time() < deadline, "notification.sent never reached the NOTIFICATION stream"
    assert count == 1
