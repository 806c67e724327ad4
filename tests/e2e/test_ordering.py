"""Two agent-runtime replicas share the conversation consumer, so a conversation's messages are answered
by different processes; a model that is slow on some messages and quick on others makes later messages
finish first. The lead must still be answered in the order they wrote, each answer knowing the ones before
it (the model sees them in its history)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from afo_testkit.openai_server import FakeOpenAI, Text
from afo_testkit.platform import Platform, running_platform
from afo_testkit.postgres import PostgresDatabases
from tests.e2e.journey import Tenant, conversation, llm_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

API_KEY = "sk-test"
CONVERSATIONS = 6
MESSAGES = 6


def last_user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def reply_to(body: dict[str, Any]) -> Text:
    return Text(f"Noted: {last_user_text(body)}")


def model_delay(body: dict[str, Any]) -> float:
    # Odd messages keep the model busy; even ones are quick, so they would overtake their predecessor.
    return 0.6 if int(last_user_text(body).split()[-1]) % 2 else 0.02


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(reply_to, api_key=API_KEY) as server:
        server.delay_s = model_delay
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory,
                   postgres_server: PostgresDatabases | str) -> AsyncIterator[Platform]:
    """Replicas share agent-runtime's database: PostgreSQL, as in production, when one answers."""
    env = {"AFO_LLM_API_KEY": API_KEY}
    if not isinstance(postgres_server, str):
        env["AFO_AGENT_RUNTIME_DATABASE_URL"] = await postgres_server.create()
    home: Path = tmp_path_factory.mktemp("ordering-platform")
    async with running_platform(home, services=("gateway", "agent-runtime"), supervise=False,
                                environment=env) as running:
        await running.start_replica("agent-runtime")
        yield running


async def test_a_conversations_messages_are_answered_in_order_across_two_replicas(
    platform: Platform, api: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    tenant = await sign_up(api)
    agent_id = await llm_agent(api, tenant, fake.base_url)
    conversations = [await conversation(api, tenant, agent_id) for _ in range(CONVERSATIONS)]
    posted: dict[str, list[str]] = {cid: [] for cid in conversations}

    async def write(cid: str) -> None:
        for number in range(1, MESSAGES + 1):  # one after another, as a person types, without waiting
            response = await api.post(f"/v1/conversations/{cid}/messages", headers=tenant.auth,
                                      json={"text": f"{cid} message {number}"})
            assert response.status_code == 202, response.text
            posted[cid].append(response.json()["message_id"])

    await asyncio.gather(*(write(cid) for cid in conversations))
    histories = await answered(api, tenant, conversations)

    for cid, messages in histories.items():
        replies = [m["in_reply_to"] for m in messages if m["role"] == "assistant"]
        assert replies == posted[cid], f"{cid} was answered out of order"
    for body in fake.requests:
        # What the model saw: every earlier message of the conversation, then this one, in order.
        user_turns = [m["content"] for m in body["messages"] if m["role"] == "user"]
        cid, _, number = user_turns[-1].partition(" message ")
        assert user_turns == [f"{cid} message {n}" for n in range(1, int(number) + 1)]


async def answered(api: httpx.AsyncClient, tenant: Tenant, conversations: list[str]
                   ) -> dict[str, list[dict[str, Any]]]:
    for _ in range(240):  # 60 s at most
        histories = {cid: (await api.get(f"/v1/conversations/{cid}", headers=tenant.auth)).json()["messages"]
                     for cid in conversations}
        if all(sum(m["role"] == "assistant" for m in h) == MESSAGES for h in histories.values()):
            return histories
        await asyncio.sleep(0.25)
    raise AssertionError("not every message was answered within 60 s")
