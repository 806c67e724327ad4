"""With ``AFO_LOG_FORMAT=json`` every line a service writes — its own, uvicorn's, alembic's — is one JSON object
with the time, level, service, logger and message (what a log pipeline on Kubernetes ingests); what a lead wrote
and the key a tenant uses are in none of them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from afo_testkit.platform import running_platform
from tests.e2e.journey import conversation, published_agent, say, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SERVICES = ("gateway", "agent-runtime")
LEAD_WROTE = "dana.unlogged@northwind.example"


async def test_every_line_of_every_service_is_a_json_object(tmp_path: Path) -> None:
    async with running_platform(tmp_path, services=SERVICES, AFO_LOG_FORMAT="json") as platform, \
            httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as api:
        tenant = await sign_up(api)
        agent_id = await published_agent(api, tenant)  # the gateway asks agent-runtime, for the tenant, over RPC
        await say(api, tenant, await conversation(api, tenant, agent_id), f"I am Dana, my email is {LEAD_WROTE}")
    secret = tenant.auth["Authorization"].removeprefix("Bearer ")
    for service in SERVICES:
        text = (tmp_path / "afo" / "logs" / f"{service}.log").read_text()
        # The supervisor's own header line ("--- afo: starting …") is not the service's.
        lines = [json.loads(line) for line in text.splitlines() if line and not line.startswith("--- afo:")]
        assert any(line["logger"].startswith("uvicorn") for line in lines)
        assert {line["service"] for line in lines} == {service}
        assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
        assert any(line["message"] == f"{service} ready" for line in lines)
        assert LEAD_WROTE not in text and secret not in text
