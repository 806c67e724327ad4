"""Plans against real processes (every service on a real nats-server): an operator made by ``afo operator add``
gives the pro plan a quota of three messages a month and no calls at once, and puts a tenant on it. The tenant's
three messages are answered and counted from their events; the fourth is 429 naming the limit, what was used and
the plan, with when the month resets; ``GET /v1/usage`` shows the same. voice-media, from its own copy of the
limits (the plan event), refuses the tenant's browser call with 429. Another tenant is untouched and cannot read
the first one's usage."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from afo_cli.operators import add_operator
from afo_testkit.platform import Platform
from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

QUOTA = 3
PRO = {"agents": 5, "knowledge_bytes": 10_000_000, "messages_per_month": QUOTA, "voice_minutes_per_month": 30,
       "concurrent_calls": 0, "requests_per_minute": None}
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def until(check: Callable[[], Awaitable[Any]], within_s: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not (found := await check()):
        assert loop.time() < deadline, "never came to the expected state"
        await asyncio.sleep(0.2)
    return found


async def test_a_tenant_over_its_message_quota_gets_429_and_sees_its_usage(platform: Platform,
                                                                           api: httpx.AsyncClient) -> None:
    tenant, other = await sign_up(api, "Quota Co"), await sign_up(api, "Elsewhere Inc")
    added = await add_operator(platform.nats_url, platform.nats_auth(), f"ops+{tenant.id}@example.com")
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as operator:
        assert (await operator.post("/v1/login", json={"email": added.operator.email,
                                                       "password": added.password})).status_code == 200
        assert (await operator.put("/v1/admin/plans/pro", json=PRO)).status_code == 200
        moved = await operator.put(f"/v1/admin/tenants/{tenant.id}/plan", json={"plan": "pro"})
        assert moved.status_code == 200, moved.text
    agent_id = await published_agent(api, tenant)
    conversation_id = await conversation(api, tenant, agent_id)

    for text in ("Hi there!", "What do you do?", "Thanks!"):
        await say(api, tenant, conversation_id, text)

    async def usage() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get("/v1/usage", headers=tenant.auth)).json()
        lines = {line["limit"]: line for line in body["usage"]}
        return body if lines["messages_per_month"]["used"] == QUOTA else None

    shown = await until(usage)
    refused = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=tenant.auth,
                             json={"text": "One more?"})

    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "https://afo.dev/problems/quota-exceeded"
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"]) == (
        "messages_per_month", QUOTA, QUOTA, "pro")
    resets_at = datetime.fromisoformat(problem["resets_at"])
    assert resets_at == datetime.fromisoformat(shown["resets_at"]) and resets_at > datetime.now(UTC)
    assert 0 < int(refused.headers["retry-after"]) <= 31 * 86400
    lines = {line["limit"]: line for line in shown["usage"]}
    assert (shown["plan"], lines["agents"]["used"], lines["agents"]["allowed"]) == ("pro", 1, 5)
    assert (lines["knowledge_bytes"]["used"], lines["voice_minutes_per_month"]["used"]) == (0, 0)

    # The other tenant is on its own plan and counts its own messages; the first one's usage is not its to read.
    other_agent = await published_agent(api, other)
    await say(api, other, await conversation(api, other, other_agent), "Hello")
    assert (await api.get(f"/v1/admin/tenants/{tenant.id}/usage", headers=other.auth)).status_code == 403
    assert (await api.get("/v1/usage", headers=other.auth)).json()["tenant_id"] == other.id


async def test_voice_media_refuses_a_call_from_its_own_copy_of_the_plan(platform: Platform,
                                                                        api: httpx.AsyncClient) -> None:
    tenant = await sign_up(api, "No Calls Ltd")
    added = await add_operator(platform.nats_url, platform.nats_auth(), f"ops+{tenant.id}@example.com")
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0) as operator:
        assert (await operator.post("/v1/login", json={"email": added.operator.email,
                                                       "password": added.password})).status_code == 200
        assert (await operator.put("/v1/admin/plans/pro", json=PRO)).status_code == 200
        assert (await operator.put(f"/v1/admin/tenants/{tenant.id}/plan", json={"plan": "pro"})).status_code == 200
    agent_id = await published_agent(api, tenant)

    async def refused() -> httpx.Response | None:
        # Until voice-media's copy arrives this offer reaches the SDP, which it cannot answer (422).
        offered = await api.post("/v1/calls/webrtc/offer", headers=tenant.auth, json={"agent_id": agent_id,
                                                                                      "sdp": SDP})
        assert offered.status_code in (422, 429), offered.text
        return offered if offered.status_code == 429 else None

    offered = await until(refused)

    problem = offered.json()
    assert (problem["limit"], problem["allowed"], problem["used"], problem["plan"]) == (
        "concurrent_calls", 0, 0, "pro")
    assert offered.headers["retry-after"] == "60"
