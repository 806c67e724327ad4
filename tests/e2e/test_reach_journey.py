"""The whole reach of a booked meeting over the running platform (every service, real nats-server, the sinks
``afo up`` starts): an integrator subscribes to ``lead.qualified`` and ``meeting.booked``; a lead qualifies in
the chat and books a time a few minutes ahead on an agent whose own reminder offset
(``reminder_offsets_minutes``) makes the reminder due within a minute and a half; the reminder reaches the SMS
sink, and both events reach the integrator's endpoint signed per Standard Webhooks (verified with the
``standardwebhooks`` library). Bad reminder offsets are refused with 422."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from afo_testkit.local_server import serving
from afo_testkit.problems import assert_problem
from afo_testkit.webhook_receiver import Receiver
from tests.e2e.journey import LEAD_EMAIL, agent_reminding_soon, conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PHONE = "+33612345678"
# Time the chat has to qualify and book before the reminder's send time.
MARGIN = timedelta(seconds=25)
WAIT_S = 90.0


async def test_a_lead_qualified_and_booked_in_the_chat_is_reminded_by_sms_and_each_step_reaches_the_webhook(
        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    receiver = Receiver()
    async with serving(receiver.app()) as port:
        created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth, json={
            "url": f"http://127.0.0.1:{port}/afo", "events": ["lead.qualified", "meeting.booked"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]

        soon = await agent_reminding_soon(api, tenant, MARGIN)
        agent_id, start, offset_min, send_at = soon.agent_id, soon.start, soon.offset_min, soon.send_at

        conversation_id = await conversation(api, tenant, agent_id)
        await say(api, tenant, conversation_id, f"I'm Dana from Northwind Traders, email {LEAD_EMAIL}")
        await say(api, tenant, conversation_id, f"My phone number is {PHONE}")
        qualified = await say(api, tenant, conversation_id,
                              "We need an assistant that answers questions on our website")
        assert qualified["lead"]["qualified"] is True
        await say(api, tenant, conversation_id, f"Can we meet at {start:%H:%M}?")
        meetings = await eventually(api, tenant, "/v1/meetings", lambda b: len(b["data"]) == 1, within_s=WAIT_S)
        [meeting] = meetings["data"]
        assert datetime.fromisoformat(meeting["start"]) == start

        def reminded(rows: list[dict[str, Any]]) -> bool:
            return any(r["kind"] == "reminder" and r["channel"] == "sms" and r["status"] == "sent" for r in rows)

        body = await eventually(api, tenant, "/v1/notifications", lambda b: reminded(b["data"]),
                                params={"meeting_id": meeting["id"]}, within_s=WAIT_S)
        [sms] = [r for r in body["data"] if r["kind"] == "reminder" and r["channel"] == "sms"]
        assert (sms["provider"], sms["to"]) == ("sink", "+33•••••5678")
        assert datetime.fromisoformat(sms["send_at"]) == send_at
        assert sms["body"].startswith(f"Reminder: your meeting is in {offset_min} minutes")

        async with asyncio.timeout(WAIT_S):
            await receiver.wait_for(2)
        await asyncio.sleep(0.5)  # a duplicate, were one sent, would arrive now

    assert all(r.signature_valid for r in receiver.received)
    assert all(r.envelope["tenantid"] == tenant.id for r in receiver.received)
    assert sorted(r.envelope["type"] for r in receiver.received) == ["afo.lead.qualified.v1", "afo.meeting.booked.v1"]
    [booked] = [r for r in receiver.received if r.envelope["type"] == "afo.meeting.booked.v1"]
    assert booked.envelope["data"]["meeting_id"] == meeting["id"]


async def test_bad_reminder_offsets_are_refused(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    for bad in ([0], [60, 60], [60, 120, 180, 240, 300, 360], [14 * 24 * 60 + 1], ["soon"]):
        response = await api.post("/v1/agents", headers=tenant.auth,
                                  json={"name": "Ava", "reminder_offsets_minutes": bad})
        assert_problem(response, 422)
    agent_id = await published_agent(api, tenant, reminder_offsets_minutes=[30])
    patched = await api.patch(f"/v1/agents/{agent_id}", headers=tenant.auth, json={"reminder_offsets_minutes": []})
    assert patched.status_code == 200 and patched.json()["reminder_offsets_minutes"] == []
    cleared = await api.patch(f"/v1/agents/{agent_id}", headers=tenant.auth, json={"reminder_offsets_minutes": None})
    assert cleared.status_code == 200 and cleared.json()["reminder_offsets_minutes"] is None
