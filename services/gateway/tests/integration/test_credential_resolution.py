"""Credentials resolved over RPC on a real nats-server running the platform's generated permissions: each
service asks on its own subject and may publish no other, so the gateway knows who asks; it answers only
that service's providers, and only the tenant's own."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client

from afo_common.messaging.streams import ensure_streams
from afo_common.nats_security.credentials import NatsCredentials
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL
from afo_gateway.app import build
from afo_gateway.settings import GatewaySettings
from afo_testkit.nats import NatsServer, nats_server

OPENAI_KEY = "sk-openai-secret-for-resolution"
VAULT_KEY = "r1:" + base64.b64encode(bytes(range(1, 33))).decode()


class Platform:
    def __init__(self, server: NatsServer, api: httpx.AsyncClient) -> None:
        self.server = server
        self.api = api
        self.errors: list[str] = []

    async def connect(self, user: str) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        return await nats.connect(self.server.url, error_cb=on_error, allow_reconnect=False,
                                  **self.server.connect_options(user))

    async def tenant(self, company: str) -> tuple[str, dict[str, str]]:
        response = await self.api.post("/v1/signup", json={"email": f"{company.lower()}@example.com",
                                                           "password": "correct horse battery",
                                                           "company": company})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["tenant"]["id"], {"Authorization": f"Bearer {body['api_key']['secret']}"}


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    credentials = NatsCredentials.generate()
    async with nats_server(tmp_path, credentials=credentials) as server:
        admin = await nats.connect(server.url, **server.connect_options("admin"))
        await ensure_streams(admin.jetstream())
        await admin.close()
        settings = GatewaySettings.for_service(
            "gateway", home=tmp_path / "home", nats_url=server.url, http_port=0, drain_timeout_s=2.0,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            nats_nkey_seed=credentials.seed("gateway"), vault_key=VAULT_KEY,
        )
        assert isinstance(settings, GatewaySettings)
        service = build(settings)
        async with service.http.router.lifespan_context(service.http):
            transport = httpx.ASGITransport(app=service.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as api:
                yield Platform(server, api)


async def resolve(client: Client, caller: str, tenant_id: str, provider: str) -> dict[str, Any]:
    subject = RESOLVE_CREDENTIAL[caller].subject
    msg = await client.request(subject, json.dumps({"tenant_id": tenant_id, "provider": provider}).encode(),
                               timeout=5)
    reply: dict[str, Any] = json.loads(msg.data)
    return reply


async def test_a_service_resolves_its_own_providers_for_the_tenant_and_nothing_else(platform: Platform) -> None:
    tenant, auth = await platform.tenant("Acme")
    other, _ = await platform.tenant("Other")
    put = await platform.api.put("/v1/integrations/openai", json={"api_key": OPENAI_KEY}, headers=auth)
    assert put.status_code == 200, put.text
    agent_runtime = await platform.connect("agent-runtime")
    try:
        ok = await resolve(agent_runtime, "agent-runtime", tenant, "openai")
        twilio = await resolve(agent_runtime, "agent-runtime", tenant, "twilio")
        stranger = await resolve(agent_runtime, "agent-runtime", other, "openai")
    finally:
        await agent_runtime.close()

    assert ok == {"ok": True, "error": None,
                  "result": {"provider": "openai", "fields": {"api_key": OPENAI_KEY}, "key_id": "r1"}}
    assert twilio["error"]["code"] == "forbidden"
    assert stranger["error"]["code"] == "not_found"


async def test_the_notifier_cannot_ask_on_agent_runtimes_subject(platform: Platform) -> None:
    tenant, auth = await platform.tenant("Acme")
    await platform.api.put("/v1/integrations/openai", json={"api_key": OPENAI_KEY}, headers=auth)
    notifier = await platform.connect("notifier")
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await resolve(notifier, "agent-runtime", tenant, "openai")  # refused by the server: no answer
        not_its_provider = await resolve(notifier, "notifier", tenant, "openai")
        for _ in range(100):
            if any("permissions violation" in e for e in platform.errors):
                break
            await asyncio.sleep(0.02)
    finally:
        await notifier.close()

    assert any(f'publish to "{RESOLVE_CREDENTIAL["agent-runtime"].subject}"' in e for e in platform.errors), \
        platform.errors
    assert not_its_provider["error"]["code"] == "forbidden"
