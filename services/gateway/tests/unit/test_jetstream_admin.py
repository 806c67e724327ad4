"""The admin area's JetStream adapter on a real nats-server with the platform's streams: throughput counted by
time, durable consumers' lag (ephemeral ones left out), dead letters read oldest first and by service, a replay
published with its own message id inside the original's duplicate window (and a second copy of the same replay
dropped), removal reported once, and a foreign message on a dead-letter subject shown but never replayable."""

import asyncio
import json

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from afo_common.clock import SystemClock
from afo_common.events import envelope_for
from afo_common.events.conversation import MessageReceived
from afo_common.events.streams import CONVERSATION, DEAD_LETTER
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.dead_letters import publish_dead_letter
from afo_gateway.adapters.jetstream_admin import JetStreamAdmin
from afo_gateway.domain.dead_letters import replay_of
from afo_gateway.domain.errors import DeadLetterSettled


async def received(connection: NatsConnection, n: int, tenant_id: str = "ten_a") -> list[bytes]:
    sent = []
    for i in range(n):
        event = MessageReceived(conversation_id="conv_1", message_id=f"msg_{i}", channel="api", text="hi",
                                sent_at="2026-03-02T09:00:00Z")
        envelope = envelope_for(event, tenant_id=tenant_id, source="gateway")
        await connection.js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
        sent.append(envelope.to_bytes())
    return sent


async def dead_letter(connection: NatsConnection, service: str, data: bytes, seq: int) -> None:
    await publish_dead_letter(connection, service=service, stream=CONVERSATION, consumer=f"{service}-message-received",
                              subject="afo.ten_a.conversation.message_received", stream_seq=seq, num_delivered=1,
                              reason="schema_invalid: not a CloudEvent", data=data,
                              headers={"Nats-Msg-Id": f"id-{seq}"}, reason_label="schema_invalid")


async def test_each_stream_counts_what_it_took_lately(connection: NatsConnection) -> None:
    await received(connection, 3)

    streams = {s.name: s for s in await JetStreamAdmin(connection, SystemClock()).streams()}

    assert (streams[CONVERSATION].last_minute, streams[CONVERSATION].last_hour) == (3, 3)
    assert streams[CONVERSATION].messages == 3 and streams[CONVERSATION].last_seq == 3
    assert (streams["AGENT"].last_minute, streams["AGENT"].messages) == (0, 0)
    assert {DEAD_LETTER, "ADVISORIES", "TENANT"} <= set(streams)


async def test_a_durable_consumers_lag_and_no_ephemeral_one(connection: NatsConnection) -> None:
    await received(connection, 3)
    js = connection.js
    pulled = await js.pull_subscribe("afo.*.conversation.message_received", durable="test-lagging",
                                     stream=CONVERSATION, config=ConsumerConfig(ack_wait=0.3))
    await pulled.fetch(1)
    await asyncio.sleep(0.5)
    [again] = await pulled.fetch(1)  # the same one, its ack_wait over, redelivered and still not acknowledged
    await js.add_consumer(CONVERSATION, ConsumerConfig(ack_policy=AckPolicy.EXPLICIT))  # ephemeral

    lags = await JetStreamAdmin(connection, SystemClock()).consumers()

    [lag] = lags
    assert (lag.stream, lag.name, lag.pending, lag.ack_pending, lag.redelivered) == (
        CONVERSATION, "test-lagging", 2, 1, 1)
    assert again.metadata.num_delivered == 2 and lag.delivered_seq == 1 and lag.last_active is not None


async def test_dead_letters_are_read_in_order_replayed_past_the_duplicate_window_and_removed(
        connection: NatsConnection) -> None:
    [original] = await received(connection, 1)
    await dead_letter(connection, "agent-runtime", original, seq=1)
    await dead_letter(connection, "workflow-executor", original, seq=1)
    await connection.js.publish("dlq.afo.notifier.CONVERSATION", b"not a dead letter")
    admin = JetStreamAdmin(connection, SystemClock())

    everything = await admin.dead_letters(0, 10, None)
    runtime_only = await admin.dead_letters(0, 10, "agent-runtime")
    after_first = await admin.dead_letters(everything[0].sequence, 1, None)

    assert [(d.id, d.service) for d in everything] == [("dlq_1", "agent-runtime"), ("dlq_2", "workflow-executor"),
                                                       ("dlq_3", "notifier")]
    assert [d.id for d in runtime_only] == ["dlq_1"] and [d.id for d in after_first] == ["dlq_2"]
    letter = await admin.dead_letter(1)
    assert letter is not None and letter.payload == original and letter.tenant_id == "ten_a"
    assert letter.event[0] == json.loads(original)["id"]
    foreign = everything[2]
    assert foreign.reason == "not a dead letter the platform wrote" and foreign.payload == b"not a dead letter"
    with pytest.raises(DeadLetterSettled):
        replay_of(foreign)

    await admin.republish(replay_of(letter))  # the original's Nats-Msg-Id is still inside the duplicate window
    await admin.republish(replay_of(letter))  # the same replay again: dropped as a duplicate
    stream = await connection.js.stream_info(CONVERSATION)
    assert stream.state.messages == 2
    copy = await connection.js.get_msg(CONVERSATION, 2)
    assert copy.data == original and copy.headers is not None and copy.headers["Afo-Replay-Of"] == "dlq_1"

    assert await admin.remove(1) is True
    assert await admin.remove(1) is False
    assert await admin.dead_letter(1) is None
    assert [d.id for d in await admin.dead_letters(0, 10, None)] == ["dlq_2", "dlq_3"]
