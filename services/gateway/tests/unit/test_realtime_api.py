"""``GET /v1/realtime`` on a gateway built by the composition root and served over a real socket, read with the
``websockets`` client: who is let in (a secret key; a console session only from the gateway's own origin; never
a publishable key), that a tenant sees its own events and no one else's, and how the socket closes (revoked key,
drain, a client that stops reading). Events are published on the test's nats-server as services publish them."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from afo_common.events import envelope_for
from afo_common.events.conversation import ConversationStarted, MessageReplied
from afo_common.ids import new_id
from afo_common.messaging.connection import NatsConnection
from afo_common.service import Service
from afo_gateway.adapters.accounts_repository import ApiKeyRow, KeysRepository
from afo_gateway.domain.access import new_key
from afo_testkit.local_server import serving


@asynccontextmanager
async def served(service: Service) -> AsyncIterator[str]:
    """The gateway on a free local port: its ws:// base."""
    async with serving(service.http) as port:
        yield f"127.0.0.1:{port}"


def realtime(host: str, **headers: str) -> Any:
    return connect(f"ws://{host}/v1/realtime", additional_headers=headers, open_timeout=5)


async def frame(ws: ClientConnection, timeout_s: float = 2.0) -> dict[str, Any]:
    while True:
        body: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        if body["type"] != "keep_alive":
            return body


async def close_code(ws: ClientConnection, timeout_s: float = 5.0) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout_s)
    return closed.value.rcvd.code if closed.value.rcvd else None


def small_window(host: str) -> socket.socket:
    """A client socket whose receive buffer stays small (a fixed size turns the kernel's growing of it off)."""
    address, port = host.split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect((address, int(port)))
    sock.setblocking(False)
    return sock


async def publish_started(connection: NatsConnection, tenant_id: str, conversation_id: str) -> None:
    event = ConversationStarted(conversation_id=conversation_id, agent_id="agt_1", agent_version=1, channel="api",
                                contact={"name": "Dana"})
    envelope = envelope_for(event, tenant_id=tenant_id, source="agent-runtime")
    await connection.js.publish(envelope.nats_subject, envelope.to_bytes())


async def test_a_secret_key_gets_ready_then_its_tenants_events_and_no_other_tenants(
        gateways: Any, connection: NatsConnection) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    acme, globex = await gateways.sign_up(client), await gateways.sign_up(client)
    async with served(gateway) as host, realtime(host, **acme.auth) as mine, realtime(host, **globex.auth) as theirs:
        assert await frame(mine) == {"type": "ready", "tenant_id": acme.tenant_id}
        assert await frame(theirs) == {"type": "ready", "tenant_id": globex.tenant_id}

        await publish_started(connection, globex.tenant_id, "conv_globex")
        await publish_started(connection, acme.tenant_id, "conv_acme")

        item = await frame(mine)  # the other tenant's event, published first, never came
        assert item["type"] == "conversation.started"
        assert item["subject"] == f"afo.{acme.tenant_id}.conversation.started"
        assert item["data"]["conversation_id"] == "conv_acme" and item["data"]["contact"]["name"] == "Dana"
        assert set(item) == {"type", "id", "time", "subject", "data"}
        assert (await frame(theirs))["data"]["conversation_id"] == "conv_globex"

        await mine.send(json.dumps({"type": "ping"}))
        assert await frame(mine) == {"type": "pong"}


async def test_a_console_session_is_let_in_from_the_gateways_own_origin_only(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    console = await gateways.login(gateway, owner.email)
    cookie = f"afo_session={console.cookies['afo_session']}"
    async with served(gateway) as host:
        async with realtime(host, Cookie=cookie, Origin=f"http://{host}") as own:
            assert await frame(own) == {"type": "ready", "tenant_id": owner.tenant_id}
        for elsewhere in ({"Origin": "https://evil.example"}, {"Origin": f"https://{host}.evil.example"},
                          {"Origin": "null"}, {}):
            async with realtime(host, Cookie=cookie, **elsewhere) as hijacked:
                assert await close_code(hijacked) == 1008


async def test_behind_a_proxy_the_console_comes_from_the_public_url(gateways: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_PUBLIC_URL", "https://afo.example.com/")
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    console = await gateways.login(gateway, owner.email)
    cookie = f"afo_session={console.cookies['afo_session']}"
    async with served(gateway) as host, realtime(host, Cookie=cookie, Origin="https://AFO.example.com") as own:
        assert await frame(own) == {"type": "ready", "tenant_id": owner.tenant_id}


async def test_a_publishable_key_or_no_valid_credential_is_refused(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    widget = new_key("publishable")
    async with gateway.unit_of_work() as work:
        await KeysRepository(work.session).add(ApiKeyRow(
            new_id("key"), owner.tenant_id, "publishable", "widget", widget.secret_hash, widget.hint, "agt_1",
            ["https://shop.example"], owner.signed_at, None))
    async with served(gateway) as host:
        async with realtime(host, Authorization=f"Bearer {widget.secret}", Origin="https://shop.example") as ws:
            assert await close_code(ws) == 4403
        async with realtime(host, Authorization="Bearer sk_not_a_key") as ws:
            assert await close_code(ws) == 4401
        async with realtime(host) as ws:
            assert await close_code(ws) == 4401


async def test_revoking_the_key_closes_its_socket(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    minted = (await client.post("/v1/api-keys", json={"kind": "secret", "name": "dashboard"}, headers=owner.auth))
    key = minted.json()
    async with served(gateway) as host, realtime(host, Authorization=f"Bearer {key['secret']}") as ws:
        await frame(ws)
        revoked = await client.delete(f"/v1/api-keys/{key['id']}", headers=owner.auth)
        assert revoked.status_code == 204, revoked.text

        assert await close_code(ws) == 4401


async def test_a_draining_gateway_closes_every_socket_with_service_restart(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    async with served(gateway) as host, realtime(host, **owner.auth) as ws:
        await frame(ws)
        gateway.begin_drain()

        assert await close_code(ws) == 1012


async def test_an_operator_gets_the_platforms_health_and_an_owner_does_not(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    owner_console = await gateways.login(gateway, owner.email)
    operator_console = await gateways.operator(gateway)
    async with served(gateway) as host:
        origin = f"http://{host}"
        async with realtime(host, Cookie=f"afo_session={operator_console.cookies['afo_session']}",
                            Origin=origin) as operator, \
                realtime(host, Cookie=f"afo_session={owner_console.cookies['afo_session']}", Origin=origin) as own:
            await frame(operator), await frame(own)

            health = await frame(operator, timeout_s=5.0)
            assert health["type"] == "health"
            assert {s["service"] for s in health["services"]} >= {"gateway", "agent-runtime", "notifier"}
            assert {s["service"]: s["ready"] for s in health["services"]}["gateway"] is True
            with pytest.raises(TimeoutError):
                await frame(own, timeout_s=0.5)


async def test_a_client_that_stops_reading_is_closed_and_the_others_get_everything(
        gateways: Any, connection: NatsConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_REALTIME_BACKLOG", "8")
    # The stalled client reads nothing until every event went out, however long that takes on a loaded machine.
    monkeypatch.setenv("AFO_REALTIME_CLOSE_WAIT_S", "300")
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    words = "lorem ipsum " * 600  # long, and sent uncompressed to the one that stalls: its buffers fill soon
    count = 1500
    async with served(gateway) as host, realtime(host, **owner.auth) as reader, \
            connect(f"ws://{host}/v1/realtime", additional_headers=owner.auth, max_queue=1, compression=None,
                    sock=small_window(host)) as stalled:
        await frame(reader), await frame(stalled)

        received = []
        for n in range(count):  # in step with the reader, who keeps up; the other reads nothing meanwhile
            # The agent's replies: the fan-out alone is under test. (A lead's message would also be metered by the
            # gateway's usage consumer, a transaction per event when they come one at a time, as here.)
            event = MessageReplied(conversation_id="conv_1", message_id=f"msg_{n}", in_reply_to=f"msg_in_{n}",
                                   text=words, engine="embedded", intent="answer", first_delta_ms=1.0,
                                   completed_ms=2.0)
            envelope = envelope_for(event, tenant_id=owner.tenant_id, source="gateway")
            await connection.publish(envelope.nats_subject, envelope.to_bytes())
            received.append((await frame(reader))["data"]["message_id"])

        assert received == [f"msg_{n}" for n in range(count)]
        assert await close_code(stalled, timeout_s=10.0) == 4008

