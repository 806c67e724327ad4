"""The spine end to end: sign-up → agent → publish → a five-turn qualification chat over HTTP → the lead
qualified, seen by an integrator's NATS subscriber on ``afo.<tenant>.>``; the SSE stream; the demo."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.msg import Msg

from afo_testkit.platform import Platform, permission_violations
from tests.e2e.journey import FIVE_TURNS, conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]



async def test_five_turn_chat_qualifies_the_lead_and_integrators_see_it(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone="America/New_York")
    conversation_id = await conversation(api, tenant, agent_id)

    seen: list[tuple[str, dict[str, object]]] = []
    # The integrator's own credential, issued through the API: NATS admits it through the gateway's callout.
    issued = await api.post("/v1/event-credentials", headers=tenant.auth, json={"name": "crm sync"})
    assert issued.status_code == 201, issued.text
    credential = issued.json()
    assert credential["subjects"] == [f"afo.{tenant.id}.>"]
    nc = await nats.connect(credential["nats_url"], user=credential["id"], password=credential["secret"])

    async def on_event(msg: Msg) -> None:
        seen.append((msg.subject, json.loads(msg.data)))

    await nc.subscribe(f"afo.{tenant.id}.>", cb=on_event)
    try:
        replies = [await say(api, tenant, conversation_id, text) for text in FIVE_TURNS]
        for _ in range(50):
            if any(subject.endswith(".lead.qualified") for subject, _ in seen):
                break
            await asyncio.sleep(0.1)
    finally:
        await nc.drain()

    assert all(r["reply"]["text"] for r in replies)
    final_lead = replies[-1]["lead"]
    assert final_lead["qualified"] is True
    assert final_lead["fields"]["email"] == "dana@northwind.example"
    assert "Northwind" in final_lead["fields"]["company"]
    assert final_lead["fields"]["budget"].startswith("USD 20000")
    assert final_lead["missing_fields"] == []

    subjects = [subject for subject, _ in seen]
    assert subjects.count(f"afo.{tenant.id}.lead.qualified") == 1
    assert subjects.count(f"afo.{tenant.id}.conversation.message_replied") == 5
    assert f"afo.{tenant.id}.lead.created" in subjects
    qualified = next(event for subject, event in seen if subject.endswith(".lead.qualified"))
    assert qualified["type"] == "afo.lead.qualified.v1"
    assert qualified["tenantid"] == tenant.id
    assert qualified["data"]["lead_id"] == final_lead["id"]  # type: ignore[index]

    # One trace from the HTTP request through the gateway's event to agent-runtime's reply and lead events.
    def trace_of(event: dict[str, object]) -> str:
        return str(event["traceparent"]).split("-")[1]

    received = {e["data"]["message_id"]: e for s, e in seen if s.endswith(".message_received")}  # type: ignore[index]
    for subject, event in seen:
        if subject.endswith(".message_replied"):
            cause = received[event["data"]["in_reply_to"]]  # type: ignore[index]
            assert trace_of(event) == trace_of(cause)
            assert event["causationid"] == cause["id"] and event["correlationid"] == cause["correlationid"]
    assert trace_of(qualified) in {trace_of(e) for e in received.values()}

    history = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 5
    assert history["lead"]["qualified"] is True
    leads = (await api.get("/v1/leads", params={"qualified": "true"}, headers=tenant.auth)).json()
    assert [lead["id"] for lead in leads["data"]] == [final_lead["id"]]
    # Every service did all of this with its own least-privilege user: the permission table is complete.
    assert permission_violations(platform) == []


async def test_qualification_fields_named_by_kind_alone_are_collected_like_the_long_form(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api)
    created = await api.post("/v1/agents", headers=tenant.auth, json={
        "name": "Ava", "qualification_fields": ["name", "email", "company"]})
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["qualification_fields"] == [
        {"name": kind, "kind": kind, "required": True, "question": None, "label": None}
        for kind in ("name", "email", "company")]
    assert agent["timezone"] == "America/New_York"  # not sent: the tenant's

    mixed = await api.patch(f"/v1/agents/{agent['id']}", headers=tenant.auth, json={"qualification_fields": [
        "name", {"name": "work_email", "kind": "email", "label": "work email"}, "company",
        {"name": "team_size", "kind": "text", "required": False}]})
    assert mixed.status_code == 200, mixed.text
    assert [(f["name"], f["kind"], f["required"]) for f in mixed.json()["qualification_fields"]] == [
        ("name", "name", True), ("work_email", "email", True), ("company", "company", True),
        ("team_size", "text", False)]
    assert mixed.json()["name"] == "Ava"  # a patch changes only what it names

    published = await api.post(f"/v1/agents/{agent['id']}/publish", headers=tenant.auth)
    assert published.status_code == 200, published.text
    assert published.json()["spec"]["qualification_fields"][1]["label"] == "work email"
    conversation_id = await conversation(api, tenant, agent["id"])
    await say(api, tenant, conversation_id, "Hi there!")
    body = await say(api, tenant, conversation_id,
                     "I'm Dana from Northwind Traders, you can reach me at dana@northwind.example")

    assert body["lead"]["fields"] == {"name": "Dana", "work_email": "dana@northwind.example",
                                      "company": "Northwind Traders"}
    assert body["lead"]["qualified"] is True and body["lead"]["missing_fields"] == []
    assert body["reply"]["engine"] == "embedded" and body["reply"]["in_reply_to"] == body["message_id"]


async def test_a_meeting_time_in_the_tenants_time_zone_is_requested(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant, timezone="America/New_York")
    conversation_id = await conversation(api, tenant, agent_id)
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    requested: list[dict[str, object]] = []

    async def on_event(msg: Msg) -> None:
        requested.append(json.loads(msg.data)["data"])

    await nc.subscribe(f"afo.{tenant.id}.meeting.requested", cb=on_event)
    try:
        body = await say(api, tenant, conversation_id, "Can we meet next Tuesday at 3pm?")
        for _ in range(50):
            if requested:
                break
            await asyncio.sleep(0.1)
    finally:
        await nc.drain()
    assert body["reply"]["intent"] == "scheduling"
    assert len(requested) == 1
    assert str(requested[0]["start"]).endswith(("T15:00:00-05:00", "T15:00:00-04:00"))
    assert requested[0]["timezone"] == "America/New_York"


async def test_the_sse_stream_carries_deltas_then_the_completed_reply(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant))
    events: list[tuple[str, dict[str, object]]] = []
    subscribed = asyncio.Event()
    # What a browser does: its server asks for a short-lived stream token, and the page puts that in the URL.
    issued = await api.post(f"/v1/conversations/{conversation_id}/stream-token", headers=tenant.auth)
    assert issued.status_code == 201, issued.text

    async def read_stream() -> None:
        async with api.stream("GET", f"/v1/conversations/{conversation_id}/stream",
                              params={"access_token": issued.json()["token"]}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            async for line in response.aiter_lines():
                if line == ": connected":
                    subscribed.set()
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line.removeprefix("data: "))))
                    if kind == "reply.completed":
                        return

    reader = asyncio.create_task(read_stream())
    await asyncio.wait_for(subscribed.wait(), 10)
    posted = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=tenant.auth,
                            json={"text": "Hello, what do you do?"})
    assert posted.status_code == 202
    await asyncio.wait_for(reader, 15)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "reply.delta" and kinds[-1] == "reply.completed"
    deltas = "".join(str(data["text"]) for kind, data in events if kind == "reply.delta")
    assert deltas == events[-1][1]["text"]
    assert events[-1][1]["in_reply_to"] == posted.json()["message_id"]


async def test_afo_demo_prints_a_curl_that_gets_a_reply(platform: Platform) -> None:
    env = {**os.environ, "AFO_GATEWAY_URL": platform.gateway_url}
    demo = await asyncio.to_thread(subprocess.run, [str(Path(sys.executable).parent / "afo"), "demo"], env=env,
                                   capture_output=True, text=True, timeout=60, check=True)
    curl = next(line for line in demo.stdout.splitlines() if line.startswith("curl "))
    answer = await asyncio.to_thread(subprocess.run, ["bash", "-c", curl], capture_output=True, text=True,
                                     timeout=60, check=True)
    body = json.loads(answer.stdout)
    assert body["status"] == "replied", shlex.quote(answer.stdout)
    assert body["reply"]["text"]
