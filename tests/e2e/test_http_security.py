"""HTTP security across real processes: what may sit in an SSE URL, and a second gateway replica on the same
NATS and database obeying a revocation made on the first at once, its open stream for the key included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import Tenant, conversation, published_agent, sign_up
from tests.e2e.sse import SseReader

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
ORIGIN = "https://shop.example"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("platform"), services=("gateway", "agent-runtime"),
                                supervise=False) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def second_gateway(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway process on the same NATS and the same database, as a second replica would be."""
    slot = await platform.start_replica("gateway")
    async with httpx.AsyncClient(base_url=slot.url, timeout=30.0) as client:
        yield client


def stream_path(conversation_id: str) -> str:
    return f"/v1/conversations/{conversation_id}/stream"


async def chat(api: httpx.AsyncClient, tenant: Tenant) -> str:
    return await conversation(api, tenant, await published_agent(api, tenant))


async def test_a_secret_key_in_the_stream_url_is_refused_and_a_stream_token_works(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    conversation_id = await chat(api, tenant)
    other_conversation = await chat(api, tenant)

    refused = await api.get(stream_path(conversation_id), params={"access_token": tenant.secret})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "stream token" in refused.json()["detail"]

    issued = await api.post(f"/v1/conversations/{conversation_id}/stream-token", headers=tenant.auth)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("st_") and issued.json()["expires_at"]
    assert (await api.get(stream_path(other_conversation), params={"access_token": token})).status_code == 401
    assert (await api.get("/v1/tenant", headers={"Authorization": f"Bearer {token}"})).status_code == 401

    reader = SseReader(api, stream_path(conversation_id), params={"access_token": token}, until="reply.completed")
    await reader.opened()
    posted = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=tenant.auth,
                            json={"text": "Hello, what do you do?"})
    assert posted.status_code == 202
    await reader.ended(15.0)
    assert reader.kinds[-1] == "reply.completed"


async def test_the_widgets_publishable_key_opens_its_stream_from_its_origin(api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    agent_id = await published_agent(api, tenant)
    created = await api.post("/v1/api-keys", headers=tenant.auth,
                             json={"kind": "publishable", "agent_id": agent_id, "allowed_origins": [ORIGIN]})
    pk = created.json()["secret"]
    widget = {"Authorization": f"Bearer {pk}", "Origin": ORIGIN}
    opened = await api.post("/v1/conversations", headers=widget, json={"agent_id": agent_id})
    conversation_id = opened.json()["id"]

    reader = SseReader(api, stream_path(conversation_id), params={"access_token": pk}, headers={"Origin": ORIGIN},
                       until="reply.completed")
    await reader.opened()
    await api.post(f"/v1/conversations/{conversation_id}/messages", headers=widget, json={"text": "hi"})
    await reader.ended(15.0)

    assert reader.kinds[-1] == "reply.completed"
    elsewhere = await api.get(stream_path(conversation_id), params={"access_token": pk},
                              headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403


async def test_a_key_revoked_on_one_replica_is_refused_and_its_stream_ended_on_the_other(
    api: httpx.AsyncClient, second_gateway: httpx.AsyncClient
) -> None:
    tenant = await sign_up(api)
    conversation_id = await chat(api, tenant)
    minted = (await api.post("/v1/api-keys", headers=tenant.auth, json={"name": "integration"})).json()
    doomed = {"Authorization": f"Bearer {minted['secret']}"}
    assert (await second_gateway.get("/v1/tenant", headers=doomed)).status_code == 200  # cached there now
    reader = SseReader(second_gateway, stream_path(conversation_id), headers=doomed)
    await reader.opened()

    loop = asyncio.get_running_loop()
    revoked_at = loop.time()
    assert (await api.delete(f"/v1/api-keys/{minted['id']}", headers=tenant.auth)).status_code == 204

    await reader.ended(3.0)
    while (await second_gateway.get("/v1/tenant", headers=doomed)).status_code != 401:
        assert loop.time() - revoked_at < 3.0, "the second replica still accepts the revoked key"
        await asyncio.sleep(0.05)
    assert reader.kinds == ["revoked"]
    assert reader.retry_ms is None  # not an invitation to reconnect
