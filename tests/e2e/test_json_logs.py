"""With ``AFO_LOG_FORMAT=json`` every line a service writes — its own, uvicorn's, alembic's — is one JSON object
with the time, level, service, logger and message (what a log pipeline on Kubernetes ingests). And through a
journey that touches every service and every kind of secret — the tenant's API key and password, a provider key in
the vault (HubSpot's), the tenant's Twilio auth token, a webhook subscription's signing secret and the token in its
endpoint's URL — and what leads say
— a chat that qualifies a lead by email, a meeting booked for them, their CRM record, their webhook, a phone call
from their number — no line at INFO or above of any of the six services holds any of those values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.local_server import serving
from afo_testkit.platform import running_platform
from afo_testkit.twilio_server import FakeTwilio
from afo_testkit.webhook_receiver import Receiver
from tests.e2e.journey import FIVE_TURNS, LEAD_EMAIL, Tenant, conversation, eventually, say
from tests.e2e.phone import PUBLIC, media_call, phone_agent, speech, stream_url, voice_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SERVICES = ("gateway", "agent-runtime", "knowledge-ingest", "voice-media", "workflow-executor", "notifier")
AT_INFO_OR_ABOVE = {"INFO", "WARNING", "ERROR", "CRITICAL"}
PASSWORD = "correct horse battery"  # journey.sign_up's
HUBSPOT_TOKEN = "pat-na1-json-logs-7070"
AGENT_NUMBER = "+14155550132"
CALLER = "+14155550163"
ASK = "Can we meet next Wednesday at 10am?"
# Integrators' endpoints often authenticate the sender by a token in the URL's query.
ENDPOINT_TOKEN = "hook-token-5e3b9a"
# The phone call's turn on a loaded slow machine: voice-media's media hub fell 42 s behind once (VAD backlog).
WAIT_S = 90.0


@dataclass(frozen=True)
class Journey:
    logs: dict[str, str]  # each service's log file, once every service has stopped
    secrets: dict[str, str]  # what each value is → the value no INFO line may hold


async def _qualified_booked_and_synced(api: httpx.AsyncClient, tenant: Tenant, agent_id: str,
                                       hubspot: FakeHubSpot) -> dict[str, str]:
    """Five chat turns that qualify the lead (its webhook delivered, signed), a meeting booked from the chat, the
    conversation closed and the lead in HubSpot; what the lead said and the webhook's secret."""
    receiver = Receiver()
    async with serving(receiver.app()) as port:
        created = await api.post("/v1/webhook-subscriptions", headers=tenant.auth,
                                 json={"url": f"http://127.0.0.1:{port}/afo?token={ENDPOINT_TOKEN}",
                                       "events": ["lead.qualified"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        conversation_id = await conversation(api, tenant, agent_id)
        replies = [await say(api, tenant, conversation_id, text) for text in FIVE_TURNS]
        assert replies[-1]["lead"]["qualified"] is True
        async with asyncio.timeout(WAIT_S):
            [delivered] = await receiver.wait_for(1)
        assert delivered.signature_valid
    asked = await say(api, tenant, conversation_id, ASK)
    assert asked["reply"]["intent"] == "scheduling"
    await eventually(api, tenant, "/v1/meetings", lambda b: bool(b["data"]), params={"status": "booked"},
                     within_s=WAIT_S)
    closed = await api.post(f"/v1/conversations/{conversation_id}/close", headers=tenant.auth)
    assert closed.status_code == 200, closed.text
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not (hubspot.contacts and hubspot.notes):
        assert loop.time() < deadline, "the lead never reached HubSpot"
        await asyncio.sleep(0.1)
    return {"webhook secret": receiver.secret, "token in the webhook's URL": ENDPOINT_TOKEN, "lead's email": LEAD_EMAIL,
            "lead's message": FIVE_TURNS[2], "lead's request": ASK, "agent's reply": replies[2]["reply"]["text"]}


async def _phone_call(api: httpx.AsyncClient, tenant: Tenant, twilio: FakeTwilio) -> dict[str, str]:
    """A call from the lead's number with one turn; what the caller said, as recognised, and the agent's answer."""
    sid = "CA" + "6" * 32
    twiml = await voice_webhook(api, twilio, {
        "CallSid": sid, "AccountSid": twilio.account_sid, "From": CALLER, "To": AGENT_NUMBER,
        "Direction": "inbound", "CallStatus": "ringing"})
    async with media_call(stream_url(twiml), twilio, sid) as call:
        assert await call.wait_for_agent_audio(within=WAIT_S), "no greeting"
        assert await call.wait_for_agent_silence(within=WAIT_S)
        await call.say(await speech("Hello, my name is Dana Smith and I work at Northwind."))
        assert await call.wait_for_reply(within=WAIT_S), "the agent did not answer"
        assert await call.wait_for_agent_silence(within=WAIT_S)
    listed = (await api.get("/v1/calls", headers=tenant.auth)).json()["data"]
    record: dict[str, Any] = await eventually(api, tenant, f"/v1/calls/{listed[0]['id']}",
                                              lambda b: b["state"] == "ended", within_s=WAIT_S)
    [turn] = record["transcript"]
    assert len(turn["caller_text"]) > 10 and turn["agent_text"], turn
    return {"caller's number": CALLER, "caller's words": turn["caller_text"], "agent's spoken answer":
            turn["agent_text"]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def journey(tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio) -> AsyncIterator[Journey]:
    home = tmp_path_factory.mktemp("json-logs")
    environment = {"AFO_LOG_FORMAT": "json", "AFO_WEBHOOK_ALLOW_PRIVATE": "1", "AFO_PUBLIC_URL": PUBLIC,
                   "AFO_TWILIO_API_BASE_URL": twilio.base_url}
    async with FakeHubSpot(secret=HUBSPOT_TOKEN) as hubspot, \
            running_platform(home, services=SERVICES, environment=environment) as platform, \
            httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as api:
        tenant, agent_id = await phone_agent(api, twilio, AGENT_NUMBER, timezone="America/New_York",
                                             greeting="Hi, this is Ava from Acme.")
        put = await api.put("/v1/integrations/hubspot", headers=tenant.auth,
                            json={"access_token": HUBSPOT_TOKEN, "base_url": hubspot.base_url})
        assert put.status_code == 200, put.text
        said = await _qualified_booked_and_synced(api, tenant, agent_id, hubspot)
        spoken = await _phone_call(api, tenant, twilio)
    logs = {service: (home / "afo" / "logs" / f"{service}.log").read_text() for service in SERVICES}
    yield Journey(logs, {"tenant's API key": tenant.secret, "tenant's password": PASSWORD,
                         "HubSpot token (vault)": HUBSPOT_TOKEN, "Twilio auth token (vault)": twilio.auth_token,
                         **said, **spoken})


def _lines(text: str) -> list[dict[str, Any]]:
    # The supervisor's own header line ("--- afo: starting …") is not the service's.
    return [json.loads(line) for line in text.splitlines() if line and not line.startswith("--- afo:")]


async def test_every_line_of_every_service_is_a_json_object(journey: Journey) -> None:
    for service, text in journey.logs.items():
        lines = _lines(text)
        assert any(line["logger"].startswith("uvicorn") for line in lines), service
        assert {line["service"] for line in lines} == {service}
        assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines), service
        assert any(line["message"] == f"{service} ready" for line in lines), service


async def test_no_secret_and_nothing_a_lead_said_is_in_any_line_at_info_or_above(journey: Journey) -> None:
    leaks = [(service, what, line["logger"], line["message"][:200])
             for service, text in journey.logs.items()
             for line in _lines(text) if line["level"] in AT_INFO_OR_ABOVE
             for what, value in journey.secrets.items() if any(value in str(field) for field in line.values())]
    assert leaks == []
