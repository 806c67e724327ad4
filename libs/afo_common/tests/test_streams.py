from itertools import combinations

from nats.js.api import StorageType, StreamConfig

from afo_common.events import envelope_for, registered_events
from afo_common.events.agent import AgentCreated
from afo_common.events.streams import ADVISORIES, AGENT, CONVERSATION, DEAD_LETTER, STREAM_SUBJECTS
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.streams import DAY_S, DUPLICATE_WINDOW_S, ensure_streams, stream_configs
from afo_common.subjects import dead_letter_subject, event_subject

ALL_STREAMS = {*STREAM_SUBJECTS, DEAD_LETTER, ADVISORIES}
MAX_AGE_DAYS = {DEAD_LETTER: 90, ADVISORIES: 7}


def _may_overlap(a: str, b: str) -> bool:
    """Whether one subject could match both NATS subject filters ``a`` and ``b``."""
    left, right = a.split("."), b.split(".")
    for i in range(max(len(left), len(right))):
        x = left[i] if i < len(left) else None
        y = right[i] if i < len(right) else None
        if x == ">" or y == ">":
            return x is not None and y is not None
        if x is None or y is None:
            return False
        if x != y and "*" not in (x, y):
            return False
    return True


def test_the_overlap_rule_itself() -> None:
    assert _may_overlap("afo.*.lead.>", "afo.ten.lead.qualified")
    assert _may_overlap("afo.*.meeting.requested", "afo.*.meeting.>")
    assert not _may_overlap("afo.*.meeting.requested", "afo.*.meeting.booked")
    assert not _may_overlap("afo.*.lead.>", "afo.*.lead")
    assert not _may_overlap("dlq.afo.>", "afo.*.call.>")


def test_no_two_streams_capture_the_same_subject() -> None:
    filters = [(config.name, subject) for config in stream_configs() for subject in config.subjects or []]
    clashes = [(a, b) for a, b in combinations(filters, 2) if a[0] != b[0] and _may_overlap(a[1], b[1])]
    assert clashes == []


async def test_provisioning_creates_every_stream_with_the_delivery_settings(connection: NatsConnection) -> None:
    names = await ensure_streams(connection.js)

    assert set(names) == ALL_STREAMS
    for name in names:
        info = await connection.js.stream_info(name)
        assert info.config.storage == StorageType.FILE
        assert info.config.max_age == MAX_AGE_DAYS.get(name, 30) * DAY_S
        if name != ADVISORIES:  # the relay's retries after an outage must not store an event twice
            assert info.config.duplicate_window == DUPLICATE_WINDOW_S
    agent = await connection.js.stream_info(AGENT)
    assert agent.config.subjects == ["afo.*.agent.>"]


async def test_every_event_type_lands_in_the_stream_it_declares(connection: NatsConnection) -> None:
    await ensure_streams(connection.js)

    for model in registered_events().values():
        subject = event_subject("ten_a", model.event_name)
        assert await connection.js.find_stream_name_by_subject(subject) == model.event_stream, subject
    dlq = dead_letter_subject("notifier", "WORKFLOW")
    assert await connection.js.find_stream_name_by_subject(dlq) == DEAD_LETTER


async def test_provisioning_twice_is_harmless_and_keeps_the_messages(connection: NatsConnection) -> None:
    await ensure_streams(connection.js)
    envelope = envelope_for(AgentCreated(agent_id="agt_1", name="Ava"), tenant_id="ten_a", source="agent-runtime")
    ack = await connection.js.publish(envelope.nats_subject, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
    assert ack.stream == AGENT

    assert set(await ensure_streams(connection.js)) == ALL_STREAMS

    info = await connection.js.stream_info(AGENT)
    assert info.state.messages == 1
    assert (await connection.js.get_msg(AGENT, ack.seq)).data == envelope.to_bytes()


async def test_a_stream_whose_configuration_drifted_is_updated_in_place(connection: NatsConnection) -> None:
    await connection.js.add_stream(
        StreamConfig(name=CONVERSATION, subjects=["afo.*.conversation.>"], max_age=DAY_S, duplicate_window=5.0)
    )
    envelope = envelope_for(AgentCreated(agent_id="agt_1", name="Ava"), tenant_id="ten_a", source="agent-runtime")
    await connection.js.publish("afo.ten_a.conversation.started", envelope.to_bytes())

    await ensure_streams(connection.js)

    info = await connection.js.stream_info(CONVERSATION)
    assert sorted(info.config.subjects or []) == sorted(f"afo.*.{s}" for s in STREAM_SUBJECTS[CONVERSATION])
    assert info.config.max_age == 30 * DAY_S
    assert info.config.duplicate_window == DUPLICATE_WINDOW_S
    assert info.state.messages == 1


def test_replicas_are_passed_through() -> None:
    assert {config.num_replicas for config in stream_configs(3)} == {3}
