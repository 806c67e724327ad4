"""The consumer policy's verdict on each kind of delivery, settled on a stand-in for the broker's message
(the real JetStream path is in test_service_consumer.py), with the inbox on SQLite and PostgreSQL."""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from afo_common.events import Envelope, envelope_for
from afo_common.events.agent import AgentCreated, AgentDeleted
from afo_common.events.streams import AGENT
from afo_common.logs import JsonFormatter, WorkContext
from afo_common.messaging.consumer import ConsumerPolicy, ConsumerSpec, Delivery, PermanentError, RawMessage
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import SQL_BACKENDS, migrated_database

SPEC = ConsumerSpec(durable="test-svc-agent-created", stream=AGENT, event=AgentCreated, max_deliver=5,
                    backoff_s=(0.2, 1.0, 5.0, 15.0))


class BrokerMessage(RawMessage):
    """A JetStream message as the policy sees it, recording how it was settled."""

    def __init__(self, data: bytes, subject: str, num_delivered: int = 1, stream_seq: int = 7) -> None:
        self.data = data
        self.subject = subject
        self.headers = {"Nats-Msg-Id": "x"}
        self.num_delivered = num_delivered
        self.stream_seq = stream_seq
        self.settled: list[tuple[str, float | None]] = []

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nack(self, delay: float) -> None:
        self.settled.append(("nak", delay))

    async def term(self) -> None:
        self.settled.append(("term", None))


def message(envelope: Envelope, attempt: int = 1, subject: str | None = None, seq: int = 7) -> BrokerMessage:
    return BrokerMessage(envelope.to_bytes(), subject or envelope.nats_subject, attempt, seq)


def created(name: str = "Ava", tenant: str = "ten_a") -> Envelope:
    return envelope_for(AgentCreated(agent_id="agt_1", name=name), tenant_id=tenant, source="agent-runtime")


class Recorder:
    """The handler under the policy: writes through the delivery's transaction, or fails as told."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.calls: list[int] = []
        self.handled: list[str] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.calls.append(delivery.attempt)
        async with delivery.transaction() as uow:
            await uow.emit(AgentDeleted(agent_id="agt_1"), tenant_id=delivery.envelope.tenantid,
                           causation=delivery.envelope)
            if self.failure is not None:
                raise self.failure
            self.handled.append(delivery.envelope.id)


@pytest.fixture(params=SQL_BACKENDS)
async def uow(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    """On SQLite and on PostgreSQL: the inbox must stop duplicates on both."""
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_testkit.migrations")
    yield UnitOfWorkFactory(db, messaging, "test-svc", lambda: None)
    await db.dispose()


@pytest.fixture
def dead_letters() -> list[dict[str, Any]]:
    return []


def policy(handler: Recorder, uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]],
           spec: ConsumerSpec = SPEC) -> ConsumerPolicy:
    async def dead_letter(**letter: Any) -> None:
        dead_letters.append(letter)

    return ConsumerPolicy(spec, handler, "test-svc", uow, dead_letter)


async def rows(uow: UnitOfWorkFactory) -> tuple[list[str], list[str]]:
    """(inbox event ids, outbox event ids)."""
    async with uow.db.session() as session:
        inbox = (await session.execute(select(messaging.inbox.c.event_id))).scalars().all()
        outbox = (await session.execute(select(messaging.outbox.c.event_id))).scalars().all()
    return list(inbox), list(outbox)


async def test_a_handled_event_is_acked_with_its_inbox_row_and_events(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    handler = Recorder()
    envelope = created()
    msg = message(envelope)

    assert await policy(handler, uow, dead_letters).process(msg) == "ack"

    assert msg.settled == [("ack", None)]
    assert handler.handled == [envelope.id]
    inbox, outbox = await rows(uow)
    assert inbox == [envelope.id] and len(outbox) == 1
    assert dead_letters == []


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.2), (2, 1.0), (3, 5.0), (4, 15.0)])
async def test_a_failing_handler_is_naked_with_the_specs_backoff_and_leaves_no_trace(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]], attempt: int, delay: float
) -> None:
    msg = message(created(), attempt=attempt)

    assert await policy(Recorder(RuntimeError("db down")), uow, dead_letters).process(msg) == "nak"

    assert msg.settled == [("nak", delay)]
    assert await rows(uow) == ([], [])  # the inbox row and the events rolled back with the failure
    assert dead_letters == []


def test_attempts_past_the_backoff_table_wait_the_longest_delay() -> None:
    spec = ConsumerSpec(durable="d", stream=AGENT, event=AgentCreated, max_deliver=9, backoff_s=(0.5, 2.0))
    assert [spec.backoff(n) for n in range(1, 6)] == [0.5, 2.0, 2.0, 2.0, 2.0]


async def test_the_last_allowed_delivery_failing_is_dead_lettered_with_the_reason(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    envelope = created()
    msg = message(envelope, attempt=SPEC.max_deliver, seq=42)

    outcome = await policy(Recorder(RuntimeError("db down")), uow, dead_letters).process(msg)

    assert outcome == "dead_letter"
    assert msg.settled == [("term", None)]
    [letter] = dead_letters
    assert re.fullmatch(r"failed 5 times, last: RuntimeError at test_consumer_policy\.py:\d+ in __call__",
                        letter["reason"])
    assert letter["reason_label"] == "max_deliver"
    assert (letter["service"], letter["stream"], letter["consumer"]) == ("test-svc", AGENT, SPEC.durable)
    assert (letter["subject"], letter["stream_seq"], letter["num_delivered"]) == (envelope.nats_subject, 42, 5)
    assert letter["data"] == envelope.to_bytes() and letter["headers"] == {"Nats-Msg-Id": "x"}


async def test_a_permanent_error_is_dead_lettered_on_the_first_delivery(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    msg = message(created())

    outcome = await policy(Recorder(PermanentError("agent agt_1 does not exist")), uow, dead_letters).process(msg)

    assert outcome == "dead_letter" and msg.settled == [("term", None)]
    assert dead_letters[0]["reason"] == "permanent: agent agt_1 does not exist"
    assert await rows(uow) == ([], [])


async def test_a_dead_letters_reason_never_quotes_what_the_lead_wrote(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    """Exception messages are free text: a provider error or a validator may quote the lead's words."""
    failure = ValueError("could not parse 'Dana from Acme, call me on +1 555 0100'")
    msg = message(created(), attempt=SPEC.max_deliver)

    await policy(Recorder(failure), uow, dead_letters).process(msg)

    [letter] = dead_letters
    assert "Dana" not in letter["reason"] and "555" not in letter["reason"]
    assert letter["reason"].startswith("failed 5 times, last: ValueError at test_consumer_policy.py:")


@pytest.mark.parametrize(
    ("data", "subject", "why"),
    [
        (b"{not json", "afo.ten_a.agent.created", "invalid envelope"),
        (created().to_bytes().replace(b'"name":"Ava"', b'"name":7'), "afo.ten_a.agent.created", "payload"),
        (envelope_for(AgentDeleted(agent_id="agt_1"), tenant_id="ten_a", source="gateway").to_bytes(),
         "afo.ten_a.agent.created", "is not afo.agent.created.v1"),
        (created(tenant="ten_a").to_bytes(), "afo.ten_b.agent.created", "does not match subject"),
    ],
    ids=["bad json", "bad payload", "another event type", "tenant mismatch"],
)
async def test_a_schema_invalid_message_is_dead_lettered_at_once_and_never_handled(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]], data: bytes, subject: str, why: str
) -> None:
    handler = Recorder()
    msg = BrokerMessage(data, subject, num_delivered=1)

    assert await policy(handler, uow, dead_letters).process(msg) == "dead_letter"

    assert msg.settled == [("term", None)]
    assert handler.calls == []
    [letter] = dead_letters
    assert letter["reason"].startswith("schema_invalid: ") and why in letter["reason"]
    assert letter["reason_label"] == "schema_invalid"
    assert letter["data"] == data


async def test_the_same_event_delivered_twice_is_handled_once(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    handler = Recorder()
    envelope = created()
    consumer = policy(handler, uow, dead_letters)
    first, again = message(envelope, seq=1), message(envelope, seq=2)

    assert await consumer.process(first) == "ack"
    assert await consumer.process(again) == "duplicate"

    assert first.settled == again.settled == [("ack", None)]
    assert handler.handled == [envelope.id]
    inbox, outbox = await rows(uow)
    assert inbox == [envelope.id] and len(outbox) == 1


async def test_the_inbox_is_per_consumer(uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]) -> None:
    envelope = created()
    other_spec = ConsumerSpec(durable="another-consumer", stream=AGENT, event=AgentCreated)
    first, second = Recorder(), Recorder()

    assert await policy(first, uow, dead_letters).process(message(envelope)) == "ack"
    assert await policy(second, uow, dead_letters, other_spec).process(message(envelope)) == "ack"

    assert first.handled == second.handled == [envelope.id]


async def test_a_retry_after_a_failure_is_handled_not_skipped(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    handler = Recorder(RuntimeError("flaky"))
    envelope = created()
    consumer = policy(handler, uow, dead_letters)

    assert await consumer.process(message(envelope, attempt=1)) == "nak"
    handler.failure = None
    assert await consumer.process(message(envelope, attempt=2)) == "ack"

    assert handler.calls == [1, 2] and handler.handled == [envelope.id]


async def test_concurrent_deliveries_of_one_event_are_handled_once(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    entered = asyncio.Event()

    class SlowHandler(Recorder):
        async def __call__(self, delivery: Delivery) -> None:
            self.calls.append(delivery.attempt)
            async with delivery.transaction():
                entered.set()
                await asyncio.sleep(0.3)  # the other delivery arrives while this one is uncommitted
                self.handled.append(delivery.envelope.id)

    handler = SlowHandler()
    envelope = created()
    consumer = policy(handler, uow, dead_letters)

    async def second() -> str:
        await entered.wait()
        return await consumer.process(message(envelope, seq=2))

    outcomes = await asyncio.gather(consumer.process(message(envelope, seq=1)), second())

    assert list(outcomes) == ["ack", "duplicate"]
    assert handler.handled == [envelope.id] and handler.calls == [1, 1]
    assert (await rows(uow))[0] == [envelope.id]


WHOLE_AGENT_STREAM = ConsumerSpec.whole_stream("test-svc-agent-events", AGENT)


async def test_a_whole_stream_consumer_takes_every_event_its_stream_captures(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    handler = Recorder()
    deleted = envelope_for(AgentDeleted(agent_id="agt_1"), tenant_id="ten_a", source="agent-runtime")
    created_event = created()
    first, second = message(created_event), message(deleted)

    consumer = policy(handler, uow, dead_letters, WHOLE_AGENT_STREAM)
    assert [await consumer.process(first), await consumer.process(second)] == ["ack", "ack"]

    assert handler.handled == [created_event.id, deleted.id]
    assert dead_letters == []
    assert WHOLE_AGENT_STREAM.filter_subject == "afo.*.>"


async def test_a_whole_stream_consumer_dead_letters_an_event_of_another_stream(
    uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]]
) -> None:
    handler = Recorder()
    msg = message(created())  # an AGENT event, read by a consumer of KNOWLEDGE

    spec = ConsumerSpec.whole_stream("test-svc-knowledge-events", "KNOWLEDGE")
    assert await policy(handler, uow, dead_letters, spec).process(msg) == "dead_letter"

    assert handler.calls == []
    [letter] = dead_letters
    assert "afo.agent.created.v1 is not KNOWLEDGE.*" in letter["reason"]


async def test_what_a_handler_logs_names_the_events_tenant_and_trace(
        uow: UnitOfWorkFactory, dead_letters: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    envelope = created(tenant="ten_logged").model_copy(update={"traceparent": f"00-{trace_id}-{parent}-01"})

    async def logs(delivery: Delivery) -> None:
        logging.getLogger("afo.handler").warning("handling %s", delivery.envelope.id)

    caplog.handler.addFilter(WorkContext())  # as setup_logging's handler has it
    with caplog.at_level(logging.WARNING, logger="afo.handler"):
        assert await ConsumerPolicy(SPEC, logs, "test-svc", uow, dead_letters.append).process(message(envelope)) \
            == "ack"
    [written] = [r for r in caplog.records if r.name == "afo.handler"]
    line = json.loads(JsonFormatter("test-svc").format(written))
    assert line["tenant_id"] == "ten_logged" and line["trace_id"] == trace_id
