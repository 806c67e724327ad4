"""The gateway's one real-time subscription, fanned out to the listeners of each conversation: notices
reach exactly the listeners of their conversation, as the bytes agent-runtime sent, and a listener
that left gets nothing more; a process following a few conversations (voice-media) subscribes to each alone.
On a real nats-server."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.conversation_feed import ConversationFeed, LiveNotice
from afo_common.messaging.connection import NatsConnection
from afo_common.realtime import LeadUpdated, ReplyDelta, notice_subject
from afo_common.rpcs.agent_runtime import LeadView
from afo_testkit.nats import nats_server


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[NatsConnection]:
    async with nats_server(tmp_path) as server:
        conn = NatsConnection(server.url, "feed-test")
        await conn.connect()
        yield conn
        await conn.close()


@pytest.fixture
async def feed(connection: NatsConnection) -> AsyncIterator[ConversationFeed]:
    hub = ConversationFeed(connection)
    await hub.start()
    yield hub
    await hub.stop()


async def publish(connection: NatsConnection, subject: str, data: bytes) -> None:
    await connection.publish(subject, data)
    await connection.client.flush()
    await asyncio.sleep(0.05)


async def test_notices_reach_the_listeners_of_their_conversation_only(connection: NatsConnection,
                                                                      feed: ConversationFeed) -> None:
    first: list[LiveNotice] = []
    second: list[LiveNotice] = []
    elsewhere: list[LiveNotice] = []
    delta = ReplyDelta(message_id="msg_2", in_reply_to="msg_1", index=0, text="Hi")
    with feed.listen("ten_a", "conv_1", first.append), feed.listen("ten_a", "conv_1", second.append), \
            feed.listen("ten_b", "conv_1", elsewhere.append):
        await publish(connection, notice_subject("ten_a", "conv_1", delta), delta.to_bytes())

    assert first == second == [LiveNotice("reply.delta", delta.to_bytes())]
    assert elsewhere == []  # same conversation id under another tenant: another conversation


async def test_a_listener_that_left_gets_nothing_and_odd_subjects_are_ignored(connection: NatsConnection,
                                                                             feed: ConversationFeed) -> None:
    heard: list[LiveNotice] = []
    with feed.listen("ten_a", "conv_1", heard.append):
        await publish(connection, "afo.rt.ten_a.conv_1.not_a_kind", b"{}")
        await publish(connection, "afo.rt.ten_a.conv_1", b"{}")
    lead = LeadView(id="lead_1", conversation_id="conv_1", agent_id="agt_1", fields={}, missing_fields=[],
                    qualified=False, opted_out=False, created_at="2026-01-01T00:00:00Z",
                    updated_at="2026-01-01T00:00:00Z")
    await publish(connection, notice_subject("ten_a", "conv_1", LeadUpdated(lead=lead)), b"{}")

    assert heard == []


async def test_following_one_conversation_subscribes_to_it_alone(connection: NatsConnection) -> None:
    feed = ConversationFeed(connection)  # no wildcard subscription
    heard: list[LiveNotice] = []
    other: list[LiveNotice] = []
    delta = ReplyDelta(message_id="msg_2", in_reply_to="msg_1", index=0, text="Hi")
    async with feed.following("ten_a", "conv_1", heard.append):
        await publish(connection, notice_subject("ten_a", "conv_1", delta), delta.to_bytes())
        await publish(connection, notice_subject("ten_a", "conv_2", delta), delta.to_bytes())
        with feed.listen("ten_a", "conv_2", other.append):  # heard only through a subscription to it
            await publish(connection, notice_subject("ten_a", "conv_2", delta), delta.to_bytes())
    await publish(connection, notice_subject("ten_a", "conv_1", delta), delta.to_bytes())

    assert heard == [LiveNotice("reply.delta", delta.to_bytes())]
    assert other == []
