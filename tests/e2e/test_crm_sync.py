"""CRM sync end to end: a tenant connects HubSpot through the vault (pointed at a local stand-in speaking
HubSpot's CRM v3), chats until the lead is qualified, and the lead lands in the stand-in as exactly one contact
with its note; ``crm.synced`` reaches the tenant's integrator subscriber, and the run record is readable at
``GET /v1/leads/{id}/crm-syncs`` (another tenant gets 404). No event carries the access token."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
import pytest
from nats.aio.msg import Msg

from afo_testkit.crm_servers import FakeHubSpot
from afo_testkit.platform import Platform
from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "pat-na1-e2e-secret-token-0123"
TURNS = [
    "Hi there!",
    "I'm Dana from Northwind Traders, you can reach me at dana@northwind.example",
    "We need an assistant that answers questions on our website",
    "Our budget is about $20k",
    "We'd like to launch next quarter",
]


async def test_a_qualified_lead_lands_in_hubspot_once(platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    async with FakeHubSpot(secret=TOKEN) as hubspot:
        connected = await api.put("/v1/integrations/hubspot", headers=tenant.auth,
                                  json={"access_token": TOKEN, "base_url": hubspot.base_url})
        assert connected.status_code == 200, connected.text
        agent_id = await published_agent(api, tenant, timezone="America/New_York")
        conversation_id = await conversation(api, tenant, agent_id)

        issued = await api.post("/v1/event-credentials", headers=tenant.auth, json={"name": "crm watcher"})
        assert issued.status_code == 201, issued.text
        credential = issued.json()
        seen: list[tuple[str, bytes]] = []
        nc = await nats.connect(credential["nats_url"], user=credential["id"], password=credential["secret"])

        async def on_event(msg: Msg) -> None:
            seen.append((msg.subject, msg.data))

        await nc.subscribe(f"afo.{tenant.id}.crm.>", cb=on_event)
        try:
            replies = [await say(api, tenant, conversation_id, text) for text in TURNS]
            for _ in range(300):  # up to 30 s for the sync to reach the stand-in and its event to come back
                if seen:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # a second, duplicate sync would have had time to show up too
        finally:
            await nc.drain()

    lead = replies[-1]["lead"]
    assert lead["qualified"] is True
    assert [subject for subject, _ in seen] == [f"afo.{tenant.id}.crm.synced"]
    assert all(TOKEN.encode() not in data for _, data in seen)
    synced = json.loads(seen[0][1])["data"]
    [contact_id] = hubspot.contacts
    assert hubspot.contacts[contact_id]["email"] == "dana@northwind.example"
    assert len(hubspot.calls("POST", "/crm/v3/objects/contacts")) == 1
    assert (synced["lead_id"], synced["provider"], synced["record_id"], synced["action"]) == (
        lead["id"], "hubspot", contact_id, "created")
    [note] = hubspot.notes.values()
    assert "USD 20000" in note["properties"]["hs_note_body"]

    runs = await api.get(f"/v1/leads/{lead['id']}/crm-syncs", headers=tenant.auth)
    assert runs.status_code == 200, runs.text
    [run] = runs.json()["data"]
    assert (run["status"], run["provider"], run["record_id"], run["trigger"]) == (
        "synced", "hubspot", contact_id, "lead.qualified")
    assert [(s["step"], s["done"], s["http_status"]) for s in run["steps"]] == [("contact", True, 201),
                                                                               ("note", True, 201)]
    assert TOKEN not in runs.text

    stranger = await sign_up(api, company="Elsewhere")
    other = await api.get(f"/v1/leads/{lead['id']}/crm-syncs", headers=stranger.auth)
    assert other.status_code == 404, other.text
