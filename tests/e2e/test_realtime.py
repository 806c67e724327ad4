"""``GET /v1/realtime`` against real processes: an API client on the tenant's secret key watches a conversation
happen through the API (started, the lead's message, the agent's reply, the lead), another tenant's client sees
none of it, and an operator (``afo operator add``) signed in to the console gets the platform's health. Every one
of these travels on the gateway's least-privilege NATS user: a subscription or RPC it is not granted fails the module
(``running_platform`` checks nats-server's log)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform, running_platform
from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """A platform of its own, without notifier: the operator's health frame shows a service that is not running."""
    async with running_platform(tmp_path_factory.mktemp("platform"), services=("gateway", "agent-runtime"),
                                supervise=False) as running:
        yield running


def realtime_url(platform: Platform) -> str:
    return platform.gateway_url.replace("http://", "ws://", 1) + "/v1/realtime"


async def frames_until(ws: ClientConnection, done: Any, within_s: float = 15.0) -> list[dict[str, Any]]:
    """Frames as they come, until ``done(frames)``."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(within_s):
        while not done(frames):
            frames.append(json.loads(await ws.recv()))
    return frames


async def test_an_api_client_watches_its_tenants_conversation_and_no_one_elses(
        platform: Platform, api: httpx.AsyncClient) -> None:
    tenant, other = await sign_up(api), await sign_up(api, company="Globex")
    agent_id = await published_agent(api, tenant)
    async with connect(realtime_url(platform), additional_headers=tenant.auth) as mine, \
            connect(realtime_url(platform), additional_headers=other.auth) as theirs:
        assert json.loads(await mine.recv()) == {"type": "ready", "tenant_id": tenant.id}
        assert json.loads(await theirs.recv())["type"] == "ready"

        conversation_id = await conversation(api, tenant, agent_id)
        said = await say(api, tenant, conversation_id, "Hi, I'm Dana from Northwind")

        frames = await frames_until(mine, lambda got: "conversation.message_replied" in [f["type"] for f in got])
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await theirs.recv()

    by_type = {frame["type"]: frame for frame in frames}
    assert {"conversation.started", "conversation.message_received"} <= set(by_type)
    assert by_type["conversation.started"]["data"]["conversation_id"] == conversation_id
    received = by_type["conversation.message_received"]
    assert received["data"]["text"] == "Hi, I'm Dana from Northwind"
    assert received["subject"] == f"afo.{tenant.id}.conversation.message_received"
    replied = by_type["conversation.message_replied"]["data"]
    assert replied["conversation_id"] == conversation_id and replied["text"] == said["reply"]["text"]
    assert replied["in_reply_to"] == received["data"]["message_id"]
    assert "reply_route" not in replied and "citations" not in replied


async def test_an_operator_in_the_console_gets_the_platforms_health(platform: Platform,
                                                                    api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api)
    added = await add_operator(platform.nats_url, platform.nats_auth(), f"ops+{tenant.id}@example.com")
    async with httpx.AsyncClient(base_url=platform.gateway_url) as operator_console:
        signed_in = await operator_console.post("/v1/login", json={"email": added.operator.email,
                                                                   "password": added.password})
        assert signed_in.status_code == 200, signed_in.text
        session = operator_console.cookies["afo_session"]

    async with connect(realtime_url(platform), origin=Origin(platform.gateway_url),
                       additional_headers={"Cookie": f"afo_session={session}"}) as ws:
        frames = await frames_until(ws, lambda got: any(f["type"] == "health" for f in got), within_s=10.0)

    health = next(f for f in frames if f["type"] == "health")
    ready = {s["service"]: s["ready"] for s in health["services"]}
    assert ready["gateway"] is True and ready["agent-runtime"] is True
    assert ready["notifier"] is False  # not started in this module
    assert health["ready"] is False
