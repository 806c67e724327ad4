"""Integrator credentials end to end inside the gateway: issued through the API, admitted by the gateway's
auth callout on a real nats-server running the platform's generated configuration, confined to their
tenant's events, and cut off when revoked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from afo_common.messaging.streams import ensure_streams
from afo_common.nats_security.credentials import CALLOUT_ISSUER, NatsCredentials
from afo_common.nats_security.permissions import KICKER
from afo_common.service import Service
from afo_gateway.app import build
from afo_gateway.settings import GatewaySettings
from afo_testkit.nats import NatsServer, nats_server


@dataclass
class Running:
    nats: NatsServer
    service: Service
    api: httpx.AsyncClient


@asynccontextmanager
async def start(tmp_path: Path, ttl_s: float = 900.0, kick: bool = True) -> AsyncIterator[Running]:
    credentials = NatsCredentials.generate()
    async with nats_server(tmp_path, credentials=credentials) as server:
        admin = await nats.connect(server.url, **server.connect_options("admin"))
        await ensure_streams(admin.jetstream())
        await admin.close()
        settings = GatewaySettings.for_service(
            "gateway", home=tmp_path / "home", nats_url=server.url, http_port=0, drain_timeout_s=2.0,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            nats_nkey_seed=credentials.seed("gateway"), nats_callout_issuer_seed=credentials.seed(CALLOUT_ISSUER),
            nats_system_nkey_seed=credentials.seed(KICKER) if kick else None, event_credential_ttl_s=ttl_s,
        )
        service = build(settings)
        async with service.http.router.lifespan_context(service.http):
            transport = httpx.ASGITransport(app=service.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as api:
                yield Running(server, service, api)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with start(tmp_path) as value:
        yield value


async def tenant(api: httpx.AsyncClient, company: str) -> tuple[str, dict[str, str]]:
    response = await api.post("/v1/signup", json={"email": f"{company.lower()}@example.com",
                                                  "password": "correct horse battery", "company": company})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["tenant"]["id"], {"Authorization": f"Bearer {body['api_key']['secret']}"}


async def issue(api: httpx.AsyncClient, auth: dict[str, str], name: str = "crm sync") -> dict[str, Any]:
    response = await api.post("/v1/event-credentials", headers=auth, json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class Integrator:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.received: list[str] = []
        self.closed = asyncio.Event()

    async def connect(self, server: NatsServer, user: str, password: str, **options: Any) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        async def on_closed() -> None:
            self.closed.set()

        return await nats.connect(server.url, user=user, password=password, error_cb=on_error, closed_cb=on_closed,
                                  connect_timeout=5, **options)

    async def on_event(self, msg: Msg) -> None:
        self.received.append(msg.subject)

    async def violations(self, expected: int) -> list[str]:
        for _ in range(100):
            if len(self.violation_list()) >= expected:
                break
            await asyncio.sleep(0.02)
        return self.violation_list()

    def violation_list(self) -> list[str]:
        return [e for e in self.errors if "permissions violation" in e]


async def publish_as_platform(server: NatsServer, *subjects: str) -> None:
    admin = await nats.connect(server.url, **server.connect_options("admin"))
    for subject in subjects:
        await admin.publish(subject, b"{}")
    await admin.flush()
    await admin.close()


async def test_an_integrator_gets_its_tenants_events_and_nothing_else(running: Running) -> None:
    tenant_a, auth_a = await tenant(running.api, "Alpha")
    tenant_b, _ = await tenant(running.api, "Beta")
    credential = await issue(running.api, auth_a)
    assert credential["subjects"] == [f"afo.{tenant_a}.>"]
    assert credential["nats_url"] == running.nats.url and credential["secret"].startswith("evs_")

    integrator = Integrator()
    client = await integrator.connect(running.nats, credential["id"], credential["secret"], allow_reconnect=False)
    try:
        await client.subscribe(f"afo.{tenant_a}.>", cb=integrator.on_event)
        for forbidden in (f"afo.{tenant_b}.>", "afo.rt.>", "afo.rpc.>", "$JS.API.>", "_INBOX_gateway.>"):
            await client.subscribe(forbidden)
        await client.publish(f"afo.{tenant_a}.lead.created", b"{}")
        await client.flush()
        violations = await integrator.violations(6)
        await publish_as_platform(running.nats, f"afo.{tenant_a}.lead.qualified", f"afo.{tenant_b}.lead.qualified",
                                  f"afo.rt.{tenant_a}.conv_x.reply_delta")
        for _ in range(100):
            if integrator.received:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    finally:
        await client.close()
    assert f"afo.{tenant_a}.lead.qualified" in integrator.received
    assert all(subject.startswith(f"afo.{tenant_a}.") for subject in integrator.received), integrator.received
    assert sorted(v.split(" to ")[1] for v in violations) == sorted(
        [f'"afo.{tenant_b}.>"', '"afo.rt.>"', '"afo.rpc.>"', '"$js.api.>"', '"_inbox_gateway.>"',
         f'"afo.{tenant_a.lower()}.lead.created"'])
    assert any("publish" in v for v in violations)


async def test_a_wrong_or_unknown_secret_is_refused(running: Running) -> None:
    _, auth = await tenant(running.api, "Gamma")
    credential = await issue(running.api, auth)
    for user, password in ((credential["id"], "evs_wrong"), ("evc_unknown", credential["secret"]), ("", "")):
        with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
            await Integrator().connect(running.nats, user, password, allow_reconnect=False,
                                       max_reconnect_attempts=0)


async def test_a_revoked_credential_is_cut_off_at_once_and_refused_after(running: Running) -> None:
    _, auth = await tenant(running.api, "Delta")
    credential = await issue(running.api, auth)
    integrator = Integrator()
    client = await integrator.connect(running.nats, credential["id"], credential["secret"],
                                      max_reconnect_attempts=3, reconnect_time_wait=0.1)
    try:
        assert client.is_connected
        started = time.monotonic()
        revoked = await running.api.delete(f"/v1/event-credentials/{credential['id']}", headers=auth)
        assert revoked.status_code == 204
        await asyncio.wait_for(integrator.closed.wait(), 5)  # kicked, and every reconnect refused
        elapsed = time.monotonic() - started
    finally:
        await client.close()
    print(f"revoked integrator cut off after {elapsed * 1000:.0f} ms")
    assert elapsed < 5
    assert any("authorization violation" in e for e in integrator.errors), integrator.errors
    with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
        await Integrator().connect(running.nats, credential["id"], credential["secret"], allow_reconnect=False,
                                   max_reconnect_attempts=0)


async def test_a_user_jwt_expires_and_the_connection_is_closed(tmp_path: Path) -> None:
    """The backstop when a kick cannot reach the server: the JWT's expiry closes the connection, and a
    revoked credential then cannot authenticate again."""
    async with start(tmp_path, ttl_s=2.0, kick=False) as running:
        _, auth = await tenant(running.api, "Epsilon")
        credential = await issue(running.api, auth)
        integrator = Integrator()
        client = await integrator.connect(running.nats, credential["id"], credential["secret"],
                                          max_reconnect_attempts=3, reconnect_time_wait=0.1)
        connected = time.monotonic()
        try:
            revoked = await running.api.delete(f"/v1/event-credentials/{credential['id']}", headers=auth)
            assert revoked.status_code == 204
            await asyncio.sleep(0.5)
            assert client.is_connected  # nothing kicked it
            await asyncio.wait_for(integrator.closed.wait(), 6)  # expired, and authenticating again is refused
        finally:
            await client.close()
        assert 1.5 < time.monotonic() - connected < 6, integrator.errors
        # nats-py closes on the server's "-ERR 'User Authentication Expired'" without trying to reconnect.
        assert "user authentication expired" in str(client.last_error).lower()


async def test_credentials_are_listed_masked_per_tenant_and_another_tenants_is_404(running: Running) -> None:
    _, auth_a = await tenant(running.api, "Zeta")
    _, auth_b = await tenant(running.api, "Eta")
    first = await issue(running.api, auth_a, "one")
    second = await issue(running.api, auth_a, "two")
    await issue(running.api, auth_b, "theirs")

    page = (await running.api.get("/v1/event-credentials", headers=auth_a, params={"limit": 1})).json()
    rest = (await running.api.get("/v1/event-credentials", headers=auth_a,
                                  params={"limit": 1, "cursor": page["next_cursor"]})).json()
    listed = page["data"] + rest["data"]
    assert [c["id"] for c in listed] == [second["id"], first["id"]]
    assert all(c["secret"] is None and c["hint"].startswith("evs_") for c in listed)

    other = await running.api.delete(f"/v1/event-credentials/{first['id']}", headers=auth_b)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    invalid = await running.api.post("/v1/event-credentials", headers=auth_a, json={})
    assert invalid.status_code == 422
    anonymous = await running.api.get("/v1/event-credentials")
    assert anonymous.status_code == 401


async def test_issuing_and_revoking_are_events_of_the_tenant(running: Running) -> None:
    tenant_id, auth = await tenant(running.api, "Theta")
    admin = await nats.connect(running.nats.url, **running.nats.connect_options("admin"))
    seen: list[str] = []

    async def on_event(msg: Msg) -> None:
        seen.append(msg.subject)

    try:
        await admin.subscribe(f"afo.{tenant_id}.event_credential.>", cb=on_event)
        await admin.flush()
        credential = await issue(running.api, auth)
        await running.api.delete(f"/v1/event-credentials/{credential['id']}", headers=auth)
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await admin.close()
    assert seen == [f"afo.{tenant_id}.event_credential.created", f"afo.{tenant_id}.event_credential.revoked"]
