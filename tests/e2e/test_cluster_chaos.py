"""The platform on a three-node JetStream cluster (``afo up --cluster``: streams replicated on each node), chatting
without pause while the node that leads the conversations' stream fails and comes back — killed (SIGKILL, then
started again), or paused past its heartbeats (SIGSTOP, then SIGCONT: a node that wakes up believing it still
leads) — : every message is answered exactly once, none lost, none twice. ``make test`` runs the kill; the pause
runs with the long tests and ``make chaos`` runs both. (The services' own kills are in test_resilience.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio

from afo_common.events.streams import CONVERSATION
from afo_common.messaging.connection import server_urls
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, eventually, published_agent, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CONVERSATIONS = 4
# A conversation's detail holds its last 200 messages: each conversation stays below 100 questions and their replies.
MAX_MESSAGES = 90
TRANSIENT = (httpx.TransportError, httpx.TimeoutException)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"), services=("gateway", "agent-runtime"),
                                nats_nodes=3) as running:
        yield running


async def stream_leader(platform: Platform, stream: str, other_than: str = "", within_s: float = 30.0) -> str:
    """The server that leads ``stream`` (once it is not ``other_than``): asked until the cluster answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    client = await nats.connect(server_urls(platform.nats_url), **platform.nats_auth().connect_options())
    try:
        while True:
            with contextlib.suppress(nats.errors.Error):  # no leader yet: the cluster is electing one
                info = await client.jetstream(timeout=1.0).stream_info(stream)
                leader = info.cluster.leader if info.cluster is not None else None
                if leader and leader != other_than:
                    return leader
            assert loop.time() < deadline, f"{stream} had no leader but {other_than!r} within {within_s} s"
            await asyncio.sleep(0.2)
    finally:
        await client.close()


async def send(api: httpx.AsyncClient, tenant: Tenant, conversation_id: str, text: str, key: str) -> str:
    """One message, sent again with the same Idempotency-Key until the gateway answers: a retry after an
    answer lost on the way is the same message, not a second one."""
    while True:
        try:
            response = await api.post(f"/v1/conversations/{conversation_id}/messages", json={"text": text},
                                      headers={**tenant.auth, "Idempotency-Key": key})
        except TRANSIENT:
            await asyncio.sleep(0.2)
            continue
        if response.status_code >= 500 or response.status_code == 409:  # 409: the first try still running
            await asyncio.sleep(0.2)
            continue
        assert response.status_code == 202, response.text
        message_id: str = response.json()["message_id"]
        return message_id


@pytest.mark.parametrize("fault", ["kill", pytest.param("pause", marks=pytest.mark.long)])
async def test_the_conversation_streams_leader_failing_loses_and_duplicates_no_reply(
        platform: Platform, api: httpx.AsyncClient, fault: str) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    conversations = [await conversation(api, tenant, agent_id) for _ in range(CONVERSATIONS)]
    sent: dict[str, list[str]] = {c: [] for c in conversations}
    stop = asyncio.Event()

    async def chat(conversation_id: str) -> None:
        for n in range(MAX_MESSAGES):
            if stop.is_set():
                return
            sent[conversation_id].append(
                await send(api, tenant, conversation_id, f"Question {n}: what do you offer?", f"{conversation_id}-{n}"))
            await asyncio.sleep(0.2)

    chatting = [asyncio.create_task(chat(c)) for c in conversations]
    await asyncio.sleep(2.0)
    leader = await stream_leader(platform, CONVERSATION)
    [node] = [server for server in platform.nats_servers if server.name == leader]
    await node.kill(signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
    await stream_leader(platform, CONVERSATION, other_than=leader)  # another node took over
    await asyncio.sleep(2.0)  # and served for a while
    if fault == "kill":
        await node.start()
    else:
        await node.kill(signal.SIGCONT)
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*chatting)

    for conversation_id, message_ids in sent.items():
        assert len(message_ids) >= 10, f"too few messages went through: {len(message_ids)}"

        def answered(body: dict[str, Any], expected: list[str] = message_ids) -> bool:
            replied = [m["in_reply_to"] for m in body["messages"] if m["role"] == "assistant"]
            return set(expected) <= set(replied)

        try:
            body = await eventually(api, tenant, f"/v1/conversations/{conversation_id}", answered, within_s=60.0)
        except AssertionError:
            last = (await api.get(f"/v1/conversations/{conversation_id}", headers=tenant.auth)).json()
            asked = [m["id"] for m in last["messages"] if m["role"] == "user"]
            replied = [m["in_reply_to"] for m in last["messages"] if m["role"] == "assistant"]
            raise AssertionError(f"sent {len(message_ids)}, recorded {len(asked)}, replied {len(replied)}; "
                                 f"not recorded {sorted(set(message_ids) - set(asked))}, "
                                 f"not answered {sorted(set(message_ids) - set(replied))}") from None
        replies = [m["in_reply_to"] for m in body["messages"] if m["role"] == "assistant"]
        asked = [m["id"] for m in body["messages"] if m["role"] == "user"]
        assert sorted(asked) == sorted(message_ids)  # each message recorded once
        assert sorted(replies) == sorted(message_ids)  # and answered once
