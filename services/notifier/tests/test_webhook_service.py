"""notifier as it runs: on a real nats-server it migrates its store, consumes the streams integrators may
subscribe to (one durable each), answers the webhook RPCs, and delivers an event published on JetStream to a
local receiver, signed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.events import envelope_for
from afo_common.events.conversation import LeadQualified
from afo_common.events.streams import CONVERSATION, KNOWLEDGE, WORKFLOW
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcError
from afo_common.messaging.streams import ensure_streams
from afo_common.rpcs import notifier_webhooks as ops
from afo_common.service import Service
from afo_notifier.app import build
from afo_notifier.settings import NotifierSettings
from afo_testkit.local_server import serving
from afo_testkit.nats import NatsServer, nats_server
from afo_testkit.webhook_receiver import Receiver


@pytest.fixture
async def nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with nats_server(tmp_path) as server:
        yield server


@pytest.fixture
async def client(nats: NatsServer) -> AsyncIterator[NatsConnection]:
    connection = NatsConnection(nats.url, "test-client")
    await connection.connect()
    await ensure_streams(connection.js)
    yield connection
    await connection.close()


@pytest.fixture
async def running(tmp_path: Path, nats: NatsServer, client: NatsConnection,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    monkeypatch.delenv("AFO_NOTIFIER_DATABASE_URL", raising=False)
    settings = NotifierSettings.for_service("notifier", home=tmp_path / "home", nats_url=nats.url, http_port=0,
                                            drain_timeout_s=5.0, webhook_allow_private=True)
    service = build(settings)
    async with service.http.router.lifespan_context(service.http):
        yield service


async def test_it_consumes_every_stream_integrators_may_subscribe_to(running: Service,
                                                                   client: NatsConnection) -> None:
    for stream in (CONVERSATION, WORKFLOW, KNOWLEDGE):
        names = [c.name for c in await client.js.consumers_info(stream)]
        assert f"notifier-webhooks-{stream.lower()}" in names


async def test_an_event_on_jetstream_reaches_the_subscribers_endpoint_signed(running: Service,
                                                                             client: NatsConnection) -> None:
    rpc = RpcClient(client, timeout_s=5.0)
    receiver = Receiver()
    async with serving(receiver.app()) as port:
        created = await rpc.call(ops.CREATE_SUBSCRIPTION, ops.CreateSubscription(
            tenant_id="ten_a", subscription=ops.SubscriptionBody(url=f"http://127.0.0.1:{port}/hook",
                                                                 events=["lead.qualified"])))
        receiver.secret = created.secret
        envelope = envelope_for(LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                                              fields={}), tenant_id="ten_a", source="agent-runtime")
        await client.js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})

        async with asyncio.timeout(10):
            await receiver.wait_for(1)
        page = await rpc.call(ops.LIST_DELIVERIES, ops.ListDeliveries(tenant_id="ten_a",
                                                                      subscription_id=created.id))
        while page.data[0].status != "delivered":
            await asyncio.sleep(0.02)
            page = await rpc.call(ops.LIST_DELIVERIES, ops.ListDeliveries(tenant_id="ten_a",
                                                                          subscription_id=created.id))

    [got] = receiver.received
    assert got.signature_valid and got.headers["webhook-id"] == envelope.id
    assert page.data[0].event_id == envelope.id and page.data[0].log[0].status_code == 200


async def test_an_unknown_event_type_is_refused_as_invalid(running: Service, client: NatsConnection) -> None:
    rpc = RpcClient(client, timeout_s=5.0)
    with pytest.raises(RpcError) as refused:
        await rpc.call(ops.CREATE_SUBSCRIPTION, ops.CreateSubscription(
            tenant_id="ten_a", subscription=ops.SubscriptionBody(url="https://hooks.example.com/", events=["nope.x"])))
    assert refused.value.code == "invalid"
