"""Telephony through Twilio's REST API over the running platform (every service, real nats-server), with Twilio
played by the test: ``FakeTwilio`` answers the Calls API, and the test makes Twilio's signed webhooks and the
call's media stream (``afo_testkit.media_streams``) the way Twilio would:

- ``POST /v1/calls`` places the agent's call to the lead through the tenant's Twilio account (``To``, ``From``
  the agent's number, ``Url`` the voice webhook, answering machine detection); once answered by a person, the
  voice webhook streams it to voice-media and the lead hears the greeting;
- an answering machine hears the agent's voicemail message (``<Say>``, ``<Hangup/>``) and the call ends
  ``voicemail``;
- a lead asking for a person is handed to the agent's ``transfer_to`` number: the live call gets ``<Dial>``
  through the Calls API, and ends ``transferred`` when Twilio closes its stream;
- a tenant without Twilio credentials, or an agent without a number, cannot call (409), and nothing is placed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_testkit.media_streams import MediaStreamCall
from afo_testkit.platform import Platform
from afo_testkit.twilio_server import FakeTwilio
from tests.e2e.journey import Tenant, eventually, published_agent, sign_up
from tests.e2e.phone import PUBLIC, media_call, phone_agent, speech, stream_url, voice_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AGENT_NUMBER = "+14155550124"
LEAD = "+14155550198"
PERSON = "+14155550777"
WAIT_S = 40.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def caller(platform: Platform, twilio: FakeTwilio) -> AsyncIterator[tuple[Tenant, str]]:
    """A tenant with Twilio credentials and an agent that has a number and a person to hand calls to."""
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as api:
        yield await phone_agent(api, twilio, AGENT_NUMBER, greeting="Hi, this is Ava from Acme.",
                                voice={"transfer_to": PERSON, "vocabulary": ["Acme"]})


def placed_for(twilio: FakeTwilio, tenant: Tenant, number: str) -> list[dict[str, str]]:
    """The calls placed from ``number`` or reporting to ``tenant``'s status callback: the stand-in serves every
    tenant of the pytest worker, and no other agent may hold the number."""
    callback = f"{PUBLIC}/twilio/status?tenant={tenant.id}"
    return [form for form in twilio.placed if form["From"] == number or form.get("StatusCallback") == callback]


async def dialled(api: httpx.AsyncClient, twilio: FakeTwilio, tenant: Tenant, agent_id: str
                  ) -> tuple[dict[str, Any], str]:
    """The call ``POST /v1/calls`` answered, and the CallSid Twilio gave it."""
    before = {sid for sid, call in twilio.calls.items() if call["from"] == AGENT_NUMBER}
    response = await api.post("/v1/calls", headers=tenant.auth, json={"agent_id": agent_id, "to": "+1 415-555-0198"})
    assert response.status_code == 201, response.text
    [sid] = {sid for sid, call in twilio.calls.items() if call["from"] == AGENT_NUMBER} - before
    return response.json(), sid


async def answered(api: httpx.AsyncClient, twilio: FakeTwilio, sid: str, answered_by: str) -> httpx.Response:
    """Twilio asking for the TwiML of the call it placed, once its answering machine detection decided."""
    return await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": AGENT_NUMBER, "To": LEAD,
        "Direction": "outbound-api", "CallStatus": "in-progress", "AnsweredBy": answered_by})


async def picked_up(api: httpx.AsyncClient, twilio: FakeTwilio, sid: str) -> MediaStreamCall:
    """A person answered the call Twilio placed: its media stream."""
    return media_call(stream_url(await answered(api, twilio, sid, "human")), twilio, sid)


async def handed_on(twilio: FakeTwilio, sid: str, within_s: float) -> bool:
    """True once the live call ``sid`` was updated through the Calls API, False if not within ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        if any(updated == sid for updated, _ in twilio.updates):
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)


async def ended_call(api: httpx.AsyncClient, tenant: Tenant, call_id: str) -> dict[str, Any]:
    record: dict[str, Any] = await eventually(api, tenant, f"/v1/calls/{call_id}", lambda b: b["state"] == "ended",
                                              within_s=WAIT_S)
    return record


async def test_an_outbound_call_rings_the_lead_and_the_agent_greets_them(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, caller: tuple[Tenant, str]) -> None:
    tenant, agent_id = caller
    view, sid = await dialled(api, twilio, tenant, agent_id)

    assert (view["direction"], view["state"], view["caller"], view["called"]) == (
        "outbound", "dialing", AGENT_NUMBER, LEAD)
    placed = placed_for(twilio, tenant, AGENT_NUMBER)[-1]
    assert (placed["To"], placed["From"], placed["Url"], placed["MachineDetection"]) == (
        LEAD, AGENT_NUMBER, f"{PUBLIC}/twilio/voice", "DetectMessageEnd")
    assert placed["StatusCallback"] == f"{PUBLIC}/twilio/status?tenant={tenant.id}"
    async with await picked_up(api, twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S), "no greeting"
        assert await call.wait_for_agent_silence(within=WAIT_S)
        assert len(call.agent_frames) * 0.02 > 1.0  # "Hi, this is Ava from Acme." spoken
    record = await ended_call(api, tenant, view["id"])
    assert (record["direction"], record["end_reason"], record["called"]) == ("outbound", "caller_hung_up", LEAD)
    conversation = (await api.get(f"/v1/conversations/{record['conversation_id']}", headers=tenant.auth)).json()
    assert conversation["channel"] == "voice" and conversation["lead"]["fields"]["phone"] == LEAD


async def test_an_answering_machine_gets_the_voicemail_and_the_call_ends(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, caller: tuple[Tenant, str]) -> None:
    tenant, agent_id = caller
    view, sid = await dialled(api, twilio, tenant, agent_id)

    response = await answered(api, twilio, sid, "machine_end_beep")

    assert response.status_code == 200, response.text
    said = re.search(r"<Response><Say>(.+)</Say><Hangup ?/></Response>", response.text)
    assert said and "Ava" in said.group(1), response.text
    record = await ended_call(api, tenant, view["id"])
    assert (record["end_reason"], record["turns"], record["provider_status"]) == ("voicemail", 0, "machine_end_beep")
    late = await answered(api, twilio, sid, "human")  # the call is over: no stream for it
    assert late.status_code == 409, late.text


async def test_asking_for_a_person_hands_the_call_to_the_agents_number(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio, caller: tuple[Tenant, str]) -> None:
    tenant, agent_id = caller
    view, sid = await dialled(api, twilio, tenant, agent_id)
    asking = await speech("Please transfer me to a real person.")
    async with await picked_up(api, twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S)
        assert await call.wait_for_agent_silence(within=WAIT_S)
        await call.say(asking)
        assert await call.wait_for_reply(within=WAIT_S), "the agent did not answer"
        # Twilio runs the new TwiML at once and closes the stream: the test hangs up as it would.
        assert await handed_on(twilio, sid, WAIT_S), "the call was not handed on"
    [form] = [form for updated, form in twilio.updates if updated == sid]
    assert f"<Dial>{PERSON}</Dial>" in form["Twiml"]
    record = await ended_call(api, tenant, view["id"])
    assert record["end_reason"] == "transferred", record
    [turn] = record["transcript"]
    assert "transfer me" in turn["caller_text"].lower() and turn["agent_text"], turn


async def test_without_twilio_credentials_or_a_number_nothing_is_dialled(
        platform: Platform, api: httpx.AsyncClient, twilio: FakeTwilio) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    no_number = await api.post("/v1/calls", headers=tenant.auth, json={"agent_id": agent_id, "to": LEAD})
    assert no_number.status_code == 409, no_number.text
    put = await api.put(f"/v1/agents/{agent_id}/phone-numbers", headers=tenant.auth,
                        json={"numbers": ["+14155550125"]})
    assert put.status_code == 200, put.text
    no_credentials = await api.post("/v1/calls", headers=tenant.auth, json={"agent_id": agent_id, "to": LEAD})
    assert no_credentials.status_code == 409, no_credentials.text
    assert "Twilio" in no_credentials.json()["detail"]
    bad_number = await api.post("/v1/calls", headers=tenant.auth, json={"agent_id": agent_id, "to": "555"})
    assert bad_number.status_code == 422, bad_number.text
    assert placed_for(twilio, tenant, "+14155550125") == []
    listed = (await api.get("/v1/calls", headers=tenant.auth)).json()
    assert listed["data"] == []
