"""An agent backed by an OpenAI-compatible model, end to end: real gateway and agent-runtime processes talk
to a local chat-completions server that scripts the model (a tool call recording the lead, then words)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio

from afo_testkit.openai_server import Call, FakeOpenAI, Text, ToolCalls, Turn
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, llm_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

API_KEY = "sk-test"
TENANT_KEY = "sk-tenant-own-key-0001"  # a tenant's own key, kept in the gateway's vault
MODEL_REPLY = "Thanks Dana! What would you like the assistant on your website to do?"
LEAD_FIELDS = {"email": "dana@northwind.example", "company": "Northwind Traders"}
ACK_WAIT_S = 1.0  # short, so a model slower than it is quick to arrange


def model(body: dict[str, Any]) -> Turn:
    """Record the lead with a tool call, then answer in words once the tool result is in."""
    if body["messages"][-1]["role"] == "tool":
        return Text(MODEL_REPLY)
    return ToolCalls([Call("update_lead", {"fields": LEAD_FIELDS})])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fake() -> AsyncIterator[FakeOpenAI]:
    # It answers 401 unless the request carries the operator's AFO_LLM_API_KEY or the tenant's own key: a
    # model reply proves the header arrived, and the recorded header says which key it was.
    async with FakeOpenAI(model, api_key=(API_KEY, TENANT_KEY)) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    home: Path = tmp_path_factory.mktemp("llm-platform")
    async with running_platform(home, services=("gateway", "agent-runtime"), supervise=False,
                                AFO_LLM_API_KEY=API_KEY, AFO_TURN_ACK_WAIT_S=str(ACK_WAIT_S)) as running:
        yield running


async def llm_conversation(api: httpx.AsyncClient, fake: FakeOpenAI) -> tuple[Tenant, str]:
    tenant = await sign_up(api)
    agent_id = await llm_agent(api, tenant, fake.base_url)
    return tenant, await conversation(api, tenant, agent_id)


async def test_the_models_tool_call_fills_the_lead_and_its_words_are_the_reply(
    platform: Platform, api: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    tenant, conversation_id = await llm_conversation(api, fake)
    fake.requests.clear()

    answer = await say(api, tenant, conversation_id, "Hi, I'm Dana from Northwind Traders, dana@northwind.example")

    assert answer["reply"]["text"] == MODEL_REPLY
    assert answer["reply"]["engine"] == "openai"
    assert set(fake.authorizations[-2:]) == {f"Bearer {API_KEY}"}  # no key of its own: the operator's
    assert answer["reply"]["intent"] == "provide_info"
    assert answer["lead"]["fields"] == LEAD_FIELDS
    assert "email" not in answer["lead"]["missing_fields"]

    first, second = fake.requests  # the tool call, then the answer with the tool's result
    assert first["model"] == "gpt-test"
    assert first["stream"] is True
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {"role": "user",
                                     "content": "Hi, I'm Dana from Northwind Traders, dana@northwind.example"}
    tools = {tool["function"]["name"] for tool in first["tools"]}
    assert tools == {"update_lead", "request_meeting", "handoff"}  # no knowledge base, so no search
    assert second["messages"][-1]["role"] == "tool"
    assert '"accepted"' in second["messages"][-1]["content"]

    lead = await api.get(f"/v1/leads/{answer['lead']['id']}", headers=tenant.auth)
    assert lead.status_code == 200, lead.text
    assert lead.json()["fields"] == LEAD_FIELDS

    history = await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)
    assert history.status_code == 200, history.text
    messages = history.json()["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "Hi, I'm Dana from Northwind Traders, dana@northwind.example"),
        ("assistant", MODEL_REPLY),
    ]
    assert messages[1]["id"] == answer["reply"]["message_id"]
    assert messages[1]["in_reply_to"] == answer["message_id"]
    assert messages[1]["intent"] == "provide_info"
    assert history.json()["lead"]["fields"] == LEAD_FIELDS


async def test_stop_is_honoured_without_asking_the_model(
    platform: Platform, api: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    tenant, conversation_id = await llm_conversation(api, fake)
    await say(api, tenant, conversation_id, "I'm Dana, dana@northwind.example")
    fake.requests.clear()

    answer = await say(api, tenant, conversation_id, "STOP")

    # The opt-out is answered without the model; the conversation it ends may be analysed by it, in its own time.
    asked = [r for r in fake.requests if r.get("response_format", {}).get("type") != "json_schema"]
    assert asked == []
    assert answer["reply"]["engine"] == "embedded"
    assert answer["lead"]["opted_out"] is True
    history = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
    assert history["status"] == "opted_out"


async def test_a_model_slower_than_ack_wait_is_answered_once_without_a_redelivery(
    platform: Platform, api: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    """The turn's heartbeat keeps its delivery alive: without it JetStream would hand the message to
    another worker while the model is still thinking, and count that against max_deliver."""
    tenant, conversation_id = await llm_conversation(api, fake)
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        js = nc.jetstream()
        before = await js.consumer_info("CONVERSATION", "agent-runtime-message-received")
        fake.requests.clear()
        fake.delay_s = 2.5 * ACK_WAIT_S  # each of the two model calls outlives ack_wait
        try:
            answer = await say(api, tenant, conversation_id, "Hi, I'm Dana from Northwind Traders")
        finally:
            fake.delay_s = 0.0
        after = await js.consumer_info("CONVERSATION", "agent-runtime-message-received")
    finally:
        await nc.close()

    assert answer["reply"]["text"] == MODEL_REPLY
    assert len(fake.requests) == 2
    assert after.num_redelivered == before.num_redelivered
    history = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]


async def test_a_tenant_that_connected_its_own_key_is_answered_with_it_not_the_operators(
    platform: Platform, api: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    tenant, conversation_id = await llm_conversation(api, fake)
    put = await api.put("/v1/integrations/openai", json={"api_key": TENANT_KEY}, headers=tenant.auth)
    assert put.status_code == 200, put.text
    fake.authorizations.clear()

    answer = await say(api, tenant, conversation_id, "Hi, I'm Dana from Northwind Traders, dana@northwind.example")

    assert answer["reply"]["engine"] == "openai"
    assert fake.authorizations and set(fake.authorizations) == {f"Bearer {TENANT_KEY}"}
