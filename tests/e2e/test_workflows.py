"""Workflows over the running platform: a tenant writes "when a lead is qualified with budget over 10k, book a
demo on the sales calendar and text me" (``POST /v1/workflows``), reviews the compiled draft and enables it; a
chat qualifies a lead with a $20k budget and the run appears at ``GET /v1/workflows/{id}/runs`` with each step's
input and output (and a second workflow hands the conversation off and asks for a webhook). The default funnel
is listed, and disabling it stops CRM sync. Bad input: an empty or oversized instruction, words the compiler
does not know (422 with the words and their offsets), another tenant's workflow (404), and an LLM proposal that
does not fit the schema (422, nothing created)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_testkit.openai_server import Call, FakeOpenAI, ToolCalls
from afo_testkit.platform import Platform
from afo_testkit.problems import assert_problem
from tests.e2e.journey import FIVE_TURNS as TURNS
from tests.e2e.journey import conversation, eventually, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

INSTRUCTION = "when a lead is qualified with budget over 10k, book a demo on the sales calendar and text me"
ME = {"phone": "+15550001111", "email": "owner@example.com"}
TENANT_KEY = "sk-tenant-workflows-key"


@pytest_asyncio.fixture(loop_scope="session")
async def llm() -> AsyncIterator[FakeOpenAI]:
    bad = ToolCalls([Call("propose_workflow", {"trigger": "lead.qualified",
                                               "actions": [{"type": "order_pizza", "size": "large"}]})])
    async with FakeOpenAI([bad], api_key=TENANT_KEY) as server:
        yield server


async def test_a_workflow_written_in_plain_language_runs_on_a_qualified_lead(
        platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    created = await api.post("/v1/workflows", headers=tenant.auth, json={"instruction": INSTRUCTION, "notify": ME})
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert (workflow["status"], workflow["engine"], workflow["builtin"]) == ("draft", "embedded", False)
    assert workflow["spec"] == {
        "trigger": "lead.qualified",
        "conditions": [{"field": "lead.budget", "op": "gt", "value": 10000}],
        "actions": [{"type": "book_meeting", "title": "demo", "calendar": "sales"},
                    {"type": "send_sms", "to": "me", "body": None}]}
    enabled = await api.post(f"/v1/workflows/{workflow['id']}/enable", headers=tenant.auth)
    assert enabled.status_code == 200 and enabled.json()["status"] == "enabled", enabled.text
    # A second one whose steps other services carry out: handoff.requested is published on CONVERSATION, which
    # workflow-executor's NATS user may do for that event only (the platform fixture fails on any violation).
    second = await api.post("/v1/workflows", headers=tenant.auth, json={
        "instruction": "when a lead is qualified, hand off to a human and send a webhook to "
                       "https://hooks.example.com/qualified"})
    assert second.status_code == 201, second.text
    assert (await api.post(f"/v1/workflows/{second.json()['id']}/enable", headers=tenant.auth)).status_code == 200

    agent_id = await published_agent(api, tenant)
    conversation_id = await conversation(api, tenant, agent_id)
    replies = [await say(api, tenant, conversation_id, text) for text in TURNS]
    assert replies[-1]["lead"]["qualified"] is True

    runs = await eventually(api, tenant, f"/v1/workflows/{workflow['id']}/runs",
                            lambda body: bool(body["data"]) and body["data"][0]["status"] == "completed")
    [run] = runs["data"]
    assert (run["event_type"], run["lead_id"]) == ("lead.qualified", replies[-1]["lead"]["id"])
    assert [(s["type"], s["status"]) for s in run["steps"]] == [("book_meeting", "done"), ("send_sms", "done")]
    assert run["steps"][1]["input"]["to"] == "me"
    assert run["steps"][1]["output"] == {"event": "workflow.notification_requested", "channel": "sms",
                                         "to": ME["phone"]}
    assert [s["idempotency_key"] for s in run["steps"]] == [f"{run['id']}:0", f"{run['id']}:1"]
    # The book_meeting step: the agent asks the lead for a time, in the conversation.
    chat = await eventually(api, tenant, f"/v1/conversations/{conversation_id}", lambda body: any(
        "set up a demo with you" in m["text"] for m in body["messages"]))
    assert chat["messages"][-1]["role"] == "assistant"
    # notifier sent the step's SMS to the tenant's own number (the local sink: no Twilio key).
    sent = await eventually(api, tenant, "/v1/notifications", lambda body: any(
        n["kind"] == "workflow" and n["status"] == "sent" for n in body["data"]))
    [sms] = [n for n in sent["data"] if n["kind"] == "workflow"]
    assert (sms["channel"], sms["provider"], sms["to"]) == ("sms", "sink", "+15•••••1111")
    assert sms["body"].startswith("AFO lead.qualified: dana@northwind.example (budget: USD 20000")

    handed = await eventually(api, tenant, f"/v1/workflows/{second.json()['id']}/runs",
                              lambda body: bool(body["data"]) and body["data"][0]["status"] == "completed")
    assert [(s["type"], s["output"]["event"]) for s in handed["data"][0]["steps"]] == [
        ("handoff", "handoff.requested"), ("call_webhook", "workflow.webhook_requested")]

    other = await sign_up(api, company="Other Co")
    for method, path in (("GET", f"/v1/workflows/{workflow['id']}"), ("GET", f"/v1/workflows/{workflow['id']}/runs"),
                         ("POST", f"/v1/workflows/{workflow['id']}/disable"),
                         ("DELETE", f"/v1/workflows/{workflow['id']}")):
        assert_problem(await api.request(method, path, headers=other.auth), 404)
    deleted = await api.delete(f"/v1/workflows/{workflow['id']}", headers=tenant.auth)
    assert deleted.status_code == 200, deleted.text
    assert_problem(await api.get(f"/v1/workflows/{workflow['id']}", headers=tenant.auth), 404)


async def test_the_default_funnel_is_a_workflow_and_disabling_it_stops_crm_sync(
        platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    listed = await api.get("/v1/workflows", headers=tenant.auth)
    assert listed.status_code == 200, listed.text
    funnel = {w["id"]: w for w in listed.json()["data"] if w["builtin"]}
    assert funnel["wf_funnel_qualified"]["status"] == "enabled"
    assert funnel["wf_funnel_qualified"]["spec"]["actions"] == [{"type": "sync_crm"}]
    assert_problem(await api.delete("/v1/workflows/wf_funnel_qualified", headers=tenant.auth), 409)
    for workflow_id in funnel:
        disabled = await api.post(f"/v1/workflows/{workflow_id}/disable", headers=tenant.auth)
        assert disabled.status_code == 200, disabled.text

    agent_id = await published_agent(api, tenant)
    conversation_id = await conversation(api, tenant, agent_id)
    replies = [await say(api, tenant, conversation_id, text) for text in TURNS]
    lead = replies[-1]["lead"]
    assert lead["qualified"] is True
    # A control: the same chat for a tenant that keeps the funnel is synced (to the built-in lead store).
    kept = await sign_up(api, company="Keeps Funnel")
    kept_conversation = await conversation(api, kept, await published_agent(api, kept))
    kept_lead = [await say(api, kept, kept_conversation, text) for text in TURNS][-1]["lead"]
    await eventually(api, kept, f"/v1/leads/{kept_lead['id']}/crm-syncs", lambda body: bool(body["data"]))
    syncs = await api.get(f"/v1/leads/{lead['id']}/crm-syncs", headers=tenant.auth)
    assert syncs.status_code == 200 and syncs.json()["data"] == [], syncs.text


@pytest.mark.parametrize(("body", "status"), [
    ({"instruction": ""}, 422), ({"instruction": "x" * 2001}, 422), ({}, 422),
    ({"instruction": "when a lead is qualified, text me", "notify": {"phone": "555"}}, 422)])
async def test_malformed_bodies_are_refused(platform: Platform, api: httpx.AsyncClient, body: dict[str, Any],
                                            status: int) -> None:
    tenant = await sign_up(api)
    assert_problem(await api.post("/v1/workflows", headers=tenant.auth, json=body), status)


async def test_unknown_words_are_named_and_nothing_is_created(platform: Platform, api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    text = "when a lead is qualified,  order a pizza and text me"  # two spaces: offsets are in this text
    refused = await api.post("/v1/workflows", headers=tenant.auth, json={"instruction": text, "notify": ME})
    problem = assert_problem(refused, 422, "instruction-not-understood")
    assert problem["unrecognized"] == [{"word": "order", "start": 27, "end": 32},
                                       {"word": "pizza", "start": 35, "end": 40}]
    assert [text[u["start"]:u["end"]] for u in problem["unrecognized"]] == ["order", "pizza"]
    no_contact = await api.post("/v1/workflows", headers=tenant.auth,
                                json={"instruction": "when a lead is qualified, text me"})
    assert "notify.phone" in assert_problem(no_contact, 422)["missing"][0]
    listed = await api.get("/v1/workflows", headers=tenant.auth)
    assert [w for w in listed.json()["data"] if not w["builtin"]] == []


async def test_an_invalid_llm_proposal_is_refused(platform: Platform, api: httpx.AsyncClient,
                                                  llm: FakeOpenAI) -> None:
    tenant = await sign_up(api)
    put = await api.put("/v1/integrations/openai", headers=tenant.auth,
                        json={"api_key": TENANT_KEY, "base_url": llm.base_url})
    assert put.status_code == 200, put.text
    refused = await api.post("/v1/workflows", headers=tenant.auth,
                             json={"instruction": "when a lead is qualified, get them a pizza", "notify": ME})
    problem = assert_problem(refused, 422)
    assert any("proposal is invalid" in m for m in problem["missing"]), problem
    assert len(llm.requests) == 1 and llm.requests[0]["tools"][0]["function"]["name"] == "propose_workflow"
    listed = await api.get("/v1/workflows", headers=tenant.auth)
    assert [w for w in listed.json()["data"] if not w["builtin"]] == []
