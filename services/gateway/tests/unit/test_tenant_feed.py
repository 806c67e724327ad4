"""The tenant feed's fan-out: an event reaches the listeners of its tenant and no one else's; a listener that
does not keep up is ended alone while the others get everything; a malformed message is counted and skipped;
revocations and drains end subscriptions; operators get the platform's health and every tenant's anomalies, and
nothing else of a tenant's. Then the same through the
process's NATS subscriptions, on a real nats-server with the platform's streams: JetStream-published events
arrive over the core subscription."""

import asyncio
import json
from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg

from afo_common.events import envelope_for
from afo_common.events.agent import AgentCreated
from afo_common.events.anomaly import AnomalyDetected
from afo_common.events.conversation import Contact, ConversationStarted, LeadQualified
from afo_common.events.tenant import ApiKeyRevoked
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_result
from afo_common.rpcs.health import HealthReply
from afo_gateway.domain.access import PLATFORM_TENANT_ID, ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.errors import Forbidden
from afo_gateway.domain.live_feed import KEEP_ALIVE, Frame
from afo_gateway.entrypoints.live_events import LiveEvents
from afo_gateway.handlers import live_streams
from afo_gateway.handlers.live_streams import DRAINING, KEY_REVOKED, LiveStreams
from afo_gateway.handlers.platform_health import PlatformHealth
from afo_gateway.handlers.tenant_feed import OVERFLOWED, FeedClosed, FeedSubscription, TenantFeed
from afo_testkit.clock import FixedClock

KEY_A = Principal("ten_a", "secret_key", "key_a", SECRET_KEY_PERMISSIONS, credential="digest-a")
KEY_B = Principal("ten_b", "secret_key", "key_b", SECRET_KEY_PERMISSIONS, credential="digest-b")
OPERATOR = Principal(PLATFORM_TENANT_ID, "user", "usr_op", ROLE_PERMISSIONS["operator"], credential="digest-op")
OWNER_A = Principal("ten_a", "user", "usr_owner", ROLE_PERMISSIONS["owner"], credential="digest-owner")
WIDGET_A = Principal("ten_a", "publishable_key", "key_pk", frozenset(), agent_id="agt_1")


def started(tenant_id: str, conversation_id: str = "conv_1") -> tuple[str, bytes]:
    event = ConversationStarted(conversation_id=conversation_id, agent_id="agt_1", agent_version=1, channel="api",
                                contact=Contact(name="Dana"))
    envelope = envelope_for(event, tenant_id=tenant_id, source="agent-runtime")
    return envelope.nats_subject, envelope.to_bytes()


def conversations(frames: list[Frame]) -> list[str]:
    return [json.loads(frame.text)["data"]["conversation_id"] for frame in frames if frame.type != "keep_alive"]


async def drained(subscription: FeedSubscription) -> list[Frame]:
    return await asyncio.wait_for(subscription.next_frames(), 1.0)




async def test_an_event_reaches_every_listener_of_its_tenant_and_no_other(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    heard_by_sink: list[Frame] = []
    with feed.open(KEY_A) as first, feed.open(OWNER_A) as second, feed.open(KEY_B) as other, \
            feed.listen("ten_a", heard_by_sink.append):
        feed.fan_out(*started("ten_a", "conv_a"))
        feed.fan_out(*started("ten_b", "conv_b"))

        assert conversations(await drained(first)) == conversations(await drained(second)) == ["conv_a"]
        assert conversations(await drained(other)) == ["conv_b"]
        assert conversations(heard_by_sink) == ["conv_a"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first.next_frames(), 0.05)  # nothing more waits


async def test_the_same_item_text_goes_to_every_listener(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    with feed.open(KEY_A) as first, feed.open(OWNER_A) as second:
        feed.fan_out(*started("ten_a"))

        assert (await drained(first))[0].text is (await drained(second))[0].text  # built once, not per listener


async def test_a_listener_that_does_not_keep_up_is_ended_alone(streams: LiveStreams) -> None:
    feed = TenantFeed(streams, backlog=3)
    with feed.open(KEY_A) as slow, feed.open(OWNER_A) as reader:
        received: list[Frame] = []
        for n in range(6):
            feed.fan_out(*started("ten_a", f"conv_{n}"))
            received += await drained(reader)

        assert slow.ended.done() and slow.ended.result() == OVERFLOWED
        with pytest.raises(FeedClosed):
            await slow.next_frames()  # what waited is dropped: nothing more goes to it
        assert conversations(received) == [f"conv_{n}" for n in range(6)]
        assert not reader.ended.done()


async def test_a_malformed_message_is_counted_and_skipped(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    subject, good = started("ten_a", "conv_good")
    with feed.open(KEY_A) as listener:
        feed.fan_out(subject, b"{not json")
        feed.fan_out(subject, started("ten_b")[1])  # ten_b's event on ten_a's subject
        feed.fan_out("afo.ten_a.conversation", good)
        feed.fan_out(subject, good)

        assert conversations(await drained(listener)) == ["conv_good"]
    assert feed.malformed == 3


async def test_a_message_no_one_of_its_tenant_listens_to_is_not_read(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    with feed.open(KEY_B):
        feed.fan_out("afo.ten_a.conversation.started", b"{not json")

    assert feed.malformed == 0


async def test_a_publishable_key_may_not_listen(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    with pytest.raises(Forbidden), feed.open(WIDGET_A):
        pass


async def test_a_revocation_or_a_drain_ends_the_subscription(streams: LiveStreams, draining: asyncio.Event) -> None:
    feed = TenantFeed(streams)
    with feed.open(KEY_A) as revoked, feed.open(OWNER_A) as kept:
        streams.key_revoked("key_a")
        assert await asyncio.wait_for(revoked.ended, 1.0) == KEY_REVOKED
        assert not kept.ended.done()

        draining.set()
        assert await asyncio.wait_for(kept.ended, 1.0) == DRAINING


async def test_operators_get_the_platforms_health_and_others_do_not(streams: LiveStreams,
                                                                     connection: NatsConnection) -> None:
    async def agent_runtime_health(msg: Msg) -> None:
        await msg.respond(encode_result(HealthReply(service="agent-runtime", version="0.1.0", ready=True)))

    await connection.client.subscribe("afo.rpc.agent-runtime.health", cb=agent_runtime_health)
    feed = TenantFeed(streams)
    health = PlatformHealth(RpcClient(connection), lambda: HealthReply(service="gateway", version="0.1.0", ready=True),
                            feed, FixedClock(), interval_s=60, timeout_s=0.2)
    await health.start()
    try:
        with feed.open(OPERATOR) as operator, feed.open(OWNER_A) as owner:
            frames = await asyncio.wait_for(operator.next_frames(), 2.0)  # at once, not after the interval
            with feed.open(OPERATOR) as latecomer:
                assert await drained(latecomer) == frames  # the last round's, without asking again
            assert not owner.ended.done()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(owner.next_frames(), 0.3)
    finally:
        await health.stop()

    [frame] = frames
    body = json.loads(frame.text)
    services = {s["service"]: s for s in body["services"]}
    assert frame.type == "health" and body["ready"] is False
    assert services["gateway"]["ready"] and services["agent-runtime"]["ready"]
    assert services["notifier"] == {"service": "notifier", "ready": False, "error": "unavailable"}


def detected(tenant_id: str) -> tuple[str, bytes]:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event = AnomalyDetected(anomaly_id=f"anm_{tenant_id}", signal="key_messages", scope="key", key_id="key_1",
                            direction="above", observed=30, unit="messages", volume=30, baseline_mean=1,
                            baseline_sigma=1, deviation=29, window_start=at, window_end=at, severity="critical",
                            detected_at=at)
    envelope = envelope_for(event, tenant_id=tenant_id, source="workflow-executor")
    return envelope.nats_subject, envelope.to_bytes()


async def test_operators_get_every_tenants_anomalies_and_nothing_else_of_theirs(streams: LiveStreams) -> None:
    feed = TenantFeed(streams)
    with feed.open(OPERATOR) as operator, feed.open(KEY_A) as tenant_a:
        feed.fan_out(*started("ten_a", "conv_a"))
        feed.fan_out(*detected("ten_a"))
        feed.fan_out(*detected("ten_b"))

        seen = await drained(operator)
        theirs = await drained(tenant_a)

    assert [(f.type, json.loads(f.text)["data"]["anomaly_id"]) for f in seen] == [
        ("anomaly.detected", "anm_ten_a"), ("anomaly.detected", "anm_ten_b")]
    assert [f.type for f in theirs] == ["conversation.started", "anomaly.detected"]


async def test_an_operator_listens_without_reading_a_tenant_and_a_member_of_no_tenant_may_not(
        streams: LiveStreams) -> None:
    nobody = Principal("ten_a", "user", "usr_x", frozenset(), credential="digest-x")
    with pytest.raises(Forbidden), TenantFeed(streams).open(nobody):
        pass
    with TenantFeed(streams).open(OPERATOR) as operator:
        assert not operator.ended.done()


async def test_events_published_to_jetstream_reach_listeners_through_the_core_subscriptions(
        streams: LiveStreams, connection: NatsConnection) -> None:
    feed = TenantFeed(streams)
    live = LiveEvents(connection, feed)
    await live.start()
    try:
        with feed.open(KEY_A) as listener:
            revoked = envelope_for(ApiKeyRevoked(key_id="key_x"), tenant_id="ten_a", source="gateway")
            qualified = envelope_for(LeadQualified(lead_id="lead_1", conversation_id="conv_1", agent_id="agt_1",
                                                   fields={"email": "dana@example.com"}),
                                     tenant_id="ten_a", source="agent-runtime")
            created = envelope_for(AgentCreated(agent_id="agt_1", name="Ava"), tenant_id="ten_a",
                                   source="agent-runtime")
            for envelope in (revoked, qualified, created):  # an access event is not a live one
                await connection.js.publish(envelope.nats_subject, envelope.to_bytes())  # stored, and heard

            frames: list[Frame] = []
            while len(frames) < 2:
                frames += await asyncio.wait_for(listener.next_frames(), 2.0)
    finally:
        await live.stop()

    by_type = {frame.type: json.loads(frame.text) for frame in frames}
    assert set(by_type) == {"lead.qualified", "agent.created"}
    assert by_type["lead.qualified"]["data"]["fields"] == {"email": "dana@example.com"}


async def test_an_idle_subscription_is_kept_alive_and_a_busy_one_is_not(monkeypatch: pytest.MonkeyPatch,
                                                                        draining: asyncio.Event) -> None:
    monkeypatch.setattr(live_streams, "HEARTBEAT_S", 0.05)
    registry = LiveStreams(draining)
    await registry.start()
    feed = TenantFeed(registry)
    try:
        with feed.open(KEY_A) as idle, feed.open(OWNER_A) as unread:
            assert await drained(idle) == [KEEP_ALIVE]
            await asyncio.sleep(0.3)
            assert await drained(unread) == [KEEP_ALIVE]  # one waits; the ticker adds no more behind it
    finally:
        await registry.stop()
