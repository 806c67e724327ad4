"""Nothing lost, nothing answered twice: agent-runtime killed mid-conversation and restarted; events that
are schema-invalid, duplicated or reordered."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio

from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived
from afo_common.ids import new_id
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, exited, published_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """A platform of its own: agent-runtime is killed and restarted here, which the shared one never is."""
    async with running_platform(tmp_path_factory.mktemp("platform"), services=("gateway", "agent-runtime"),
                                supervise=False) as running:
        yield running


async def history(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def wait_for_replies(api: httpx.AsyncClient, tenant: Tenant, conversation_ids: list[str], expected: int,
                           timeout_s: float = 60.0) -> dict[str, list[dict[str, Any]]]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = {cid: await history(api, tenant, cid) for cid in conversation_ids}
        replies = sum(1 for messages in found.values() for m in messages if m["role"] == "assistant")
        if replies >= expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_agent_runtime_stopped_mid_conversation_loses_nothing_and_duplicates_nothing(
    platform: Platform, api: httpx.AsyncClient, stop_signal: signal.Signals
) -> None:
    """SIGKILL: no drain at all. SIGTERM: the service drains (in-flight turns finish, the outbox is
    flushed) and exits. Either way every accepted message is answered exactly once after the restart."""
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    conversations = [await conversation(api, tenant, agent_id) for _ in range(4)]
    texts = ["Hi", "I'm Dana from Acme", "dana@acme.example", "We need a chatbot", "Budget is 10k", "ASAP"]
    sent: dict[str, list[str]] = {cid: [] for cid in conversations}

    async def send(cid: str, text: str) -> None:
        response = await api.post(f"/v1/conversations/{cid}/messages", headers=tenant.auth, json={"text": text})
        assert response.status_code == 202, response.text
        sent[cid].append(response.json()["message_id"])

    for index, text in enumerate(texts):
        await asyncio.gather(*(send(cid, text) for cid in conversations))
        if index == 2:
            platform.kill("agent-runtime", stop_signal)
    # Accepted while agent-runtime is down: the events wait in JetStream.
    await exited(platform, "agent-runtime")
    await platform.start_service("agent-runtime")
    await platform.wait_ready("agent-runtime")

    total = len(texts) * len(conversations)
    found = await wait_for_replies(api, tenant, conversations, total)
    for cid, messages in found.items():
        users = [m["id"] for m in messages if m["role"] == "user"]
        replies = [m["in_reply_to"] for m in messages if m["role"] == "assistant"]
        assert sorted(users) == sorted(sent[cid]), "a message was lost"
        assert sorted(replies) == sorted(sent[cid]), "a reply is missing or duplicated"
        assert len(set(replies)) == len(replies)


async def test_a_schema_invalid_event_is_dead_lettered_with_its_reason(platform: Platform,
                                                                        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        js = nc.jetstream()
        bad = {"specversion": "1.0", "id": "not-a-real-event", "type": "afo.conversation.message_received.v1",
               "source": "afo/gateway", "time": datetime.now(UTC).isoformat(), "tenantid": tenant.id,
               "correlationid": "x", "data": {"conversation_id": "conv_x", "text": ""}}
        ack = await js.publish(f"afo.{tenant.id}.conversation.message_received", json.dumps(bad).encode())
        letter = None
        for _ in range(100):
            info = await js.stream_info("DEADLETTER")
            for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                candidate = json.loads((await js.get_msg("DEADLETTER", seq)).data or b"{}")
                # Every consumer of the event dead-letters it on its own (notifier's webhook consumer reads the
                # whole stream too): this is agent-runtime's.
                if (candidate["stream_seq"] == ack.seq and candidate["stream"] == "CONVERSATION"
                        and candidate["consumer"] == "agent-runtime-message-received"):
                    letter = candidate
            if letter:
                break
            await asyncio.sleep(0.1)
    finally:
        await nc.drain()
    assert letter is not None, "no dead letter"
    assert letter["reason"].startswith("schema_invalid")
    assert "message_id" in letter["reason"] or "text" in letter["reason"]
    assert letter["consumer"] == "agent-runtime-message-received"
    assert letter["num_delivered"] == 1
    assert json.loads(letter["payload"])["id"] == "not-a-real-event"


async def test_a_duplicated_event_is_answered_once_and_reordered_events_both_answered(
    platform: Platform, api: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    conversation_id = await conversation(api, tenant, await published_agent(api, tenant))
    now = datetime.now(UTC)
    first = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="api",
                            text="Hi, I'm Dana", sent_at=now)
    second = MessageReceived(conversation_id=conversation_id, message_id=new_id("msg"), channel="api",
                             text="dana@acme.example", sent_at=now + timedelta(seconds=1))
    envelopes = [envelope_for(e, tenant_id=tenant.id, source="gateway") for e in (second, first)]
    nc = await nats.connect(platform.nats_url, **platform.nats_auth().connect_options())
    try:
        js = nc.jetstream()
        for envelope in [*envelopes, envelopes[0]]:
            # A fresh Nats-Msg-Id defeats JetStream's dedup, as a replay from another stream would.
            await js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": new_id("dup")})
    finally:
        await nc.drain()
    found = await wait_for_replies(api, tenant, [conversation_id], 2)
    await asyncio.sleep(1.0)
    messages = await history(api, tenant, conversation_id)
    assert [m["id"] for m in messages if m["role"] == "user"] == [first.message_id, second.message_id]
    replies = [m["in_reply_to"] for m in messages if m["role"] == "assistant"]
    assert sorted(replies) == sorted([first.message_id, second.message_id])
    assert found
