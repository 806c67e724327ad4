"""The whole reach of a booked meeting over the running platform (every service, real nats-server, the sinks
``afo up`` starts): an integrator subscribes to ``lead.qualified`` and ``meeting.booked``; a lead qualifies in
the chat and books a time a few minutes ahead on an agent whose own reminder offset
(``reminder_offsets_minutes``) makes the reminder due within a minute and a half; the reminder reaches the SMS
sink, and both events reach the integrator's endpoint signed per Standard Webhooks (verified with the
``standardwebhooks`` library). Bad reminder offsets are refused with 422."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from afo_testkit.local_server import serving
from afo_testkit.problems import assert_problem
from afo_testkit.webhook_receiver import Receiver
from tests.e2e.journey import LEAD_EMAIL, conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PHONE = "+33612345678"
# Time the chat has to qualify and book before the reminder's send time.
MARGIN = timedelta(seconds=25)
WAIT_S = 90.0
EVERY_DAY = {day: ["00:00-23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def on_grid(instant: datetime) -> datetime:
    """The first 5-minute mark at or after ``instant``."""
    floor = instant.replace(minute=instant.minute - instant.minute % 5, second=0, microsecond=0)
    return floor if floor == instant else floor + timedelta(minutes=5)


async def test_a_lead_qualified_and_booked_in_the_chat_is_reminded_by_sms_and_each_step_reaches_the_webhook(
        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    receiver = Receiver()
    async with serving(receiver.app()) as port:
        created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth, json={
            "url": f"http://127.0.0.1:{port}/afo", "events": ["lead.qualified", "meeting.booked"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]

        # A start on the calendar's 5-minute grid 6 to 11 minutes ahead, and the whole number of minutes
        # before it that puts the reminder 25 to 85 s from now; in a zone where the meeting ends before midnight
        # (the day's hours end at 23:59: a meeting asked for at 23:30 UTC would not fit).
        zone = ZoneInfo("Asia/Tokyo" if datetime.now(UTC).hour == 23 else "UTC")
        now = datetime.now(zone)
        start = on_grid(now + timedelta(minutes=6))
        offset_min = int((start - now - MARGIN).total_seconds() // 60)
        send_at = start - timedelta(minutes=offset_min)
        agent_id = await published_agent(api, tenant, timezone=zone.key, reminder_offsets_minutes=[offset_min],
                                         qualification_fields=["email", "phone", "company", "need"])
        calendar = await api.put(f"/v1/agents/{agent_id}/calendar", headers=tenant.auth, json={
            "time_zone": zone.key, "weekly": EVERY_DAY, "minimum_notice_minutes": 0, "slot_step_minutes": 5})
        assert calendar.status_code == 200, calendar.text

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
