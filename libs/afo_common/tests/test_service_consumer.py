"""The consumer policy end to end: a real ``Service`` on a real nats-server, events going out through the
outbox and coming back through a durable pull consumer."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from afo_common.events import Envelope, envelope_for
from afo_common.events.agent import AgentCreated, AgentDeleted
from afo_common.events.streams import AGENT, DEAD_LETTER
from afo_common.messaging.batches import Batch
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.consumer import ConsumerSpec, Delivery, PermanentError
from afo_common.messaging.dead_letters import DeadLetter
from afo_common.messaging.streams import ensure_streams
from afo_common.rpcs.health import HealthRequest, health_operation
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_testkit.migrations import messaging
from afo_testkit.nats import NatsServer

SPEC = ConsumerSpec(durable="test-svc-agent-created", stream=AGENT, event=AgentCreated, max_deliver=3,
                    ack_wait_s=30.0, backoff_s=(0.5, 0.5))
SLOW_ACK_WAIT_S = 1.0


class Handler:
    """Behaves as the agent's name says: ``ok``, ``flaky`` (fails its first delivery), ``broken``
    (fails always), ``gone`` (permanent error), ``hang`` (never returns until released) or ``slow``
    (takes three of the test consumer's ack waits, like a slow LLM turn)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, float]] = []
        self.handled: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        assert isinstance(delivery.payload, AgentCreated)
        behaviour = delivery.payload.name
        self.calls.append((delivery.envelope.id, delivery.attempt, time.monotonic()))
        if behaviour == "hang":
            await self.release.wait()
            return
        if behaviour == "slow":
            await asyncio.sleep(3 * SLOW_ACK_WAIT_S)
        if behaviour == "broken" or (behaviour == "flaky" and delivery.attempt == 1):
            raise RuntimeError(f"{behaviour} on attempt {delivery.attempt}")
        if behaviour == "gone":
            raise PermanentError("agent is gone")
        async with delivery.transaction():
            self.handled.append(delivery.envelope.id)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {check.__name__}")
        await asyncio.sleep(0.05)


async def dead_letters(js: JetStreamContext) -> list[DeadLetter]:
    info = await js.stream_info(DEAD_LETTER)
    if not info.state.messages:
        return []
    return [DeadLetter.model_validate_json((await js.get_msg(DEAD_LETTER, seq)).data or b"")
            for seq in range(info.state.first_seq, info.state.last_seq + 1)]


async def run_service(tmp_path: Path, nats: NatsServer, spec: ConsumerSpec,
                      handler: Handler) -> AsyncIterator[Service]:
    settings = ServiceSettings.for_service("test-svc", home=tmp_path / "home", nats_url=nats.url, http_port=0,
                                           drain_timeout_s=5.0)
    service = Service(settings, messaging, "afo_testkit.migrations")
    service.consume(spec, handler)
    async with service.http.router.lifespan_context(service.http):
        try:
            yield service
        finally:
            handler.release.set()


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
async def js(connection: NatsConnection) -> JetStreamContext:
    await ensure_streams(connection.js)
    return connection.js


@pytest.fixture
async def service(tmp_path: Path, nats: NatsServer, js: JetStreamContext, handler: Handler
                  ) -> AsyncIterator[Service]:
    async for running in run_service(tmp_path, nats, SPEC, handler):
        yield running


async def emit(service: Service, name: str, tenant: str = "ten_a") -> Envelope:
    async with service.unit_of_work() as uow:
        return await uow.emit(AgentCreated(agent_id="agt_1", name=name), tenant_id=tenant)


async def settled(js: JetStreamContext, durable: str = SPEC.durable) -> bool:
    info = await js.consumer_info(AGENT, durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def test_an_event_from_the_outbox_is_handled_and_acked(service: Service, handler: Handler,
                                                             js: JetStreamContext) -> None:
    sent = await emit(service, "ok")

    async def handled() -> bool:
        return handler.handled == [sent.id]

    await eventually(handled)
    await eventually(lambda: settled(js))
    assert [(event_id, attempt) for event_id, attempt, _ in handler.calls] == [(sent.id, 1)]
    assert await dead_letters(js) == []


async def test_a_transient_failure_is_retried_after_the_backoff(service: Service, handler: Handler,
                                                                js: JetStreamContext) -> None:
    sent = await emit(service, "flaky")

    async def handled() -> bool:
        return handler.handled == [sent.id]

    await eventually(handled)
    (_, first, at_first), (_, second, at_second) = handler.calls
    assert (first, second) == (1, 2)
    assert at_second - at_first >= 0.45  # nak(delay=0.5), not an immediate redelivery
    await eventually(lambda: settled(js))


async def test_a_handler_that_always_fails_ends_in_the_dead_letter_stream(
    service: Service, handler: Handler, js: JetStreamContext
) -> None:
    sent = await emit(service, "broken")

    async def dead_lettered() -> bool:
        return len(await dead_letters(js)) == 1

    await eventually(dead_lettered)
    [letter] = await dead_letters(js)
    assert [attempt for _, attempt, _ in handler.calls] == [1, 2, 3]
    assert letter.reason.startswith("failed 3 times, last: RuntimeError at test_service_consumer.py:")
    assert (letter.service, letter.stream, letter.consumer) == ("test-svc", AGENT, SPEC.durable)
    assert letter.subject == "afo.ten_a.agent.created" and letter.num_delivered == 3
    assert Envelope.model_validate_json(letter.payload).id == sent.id
    await eventually(lambda: settled(js))


async def test_a_permanent_error_is_dead_lettered_without_retry(service: Service, handler: Handler,
                                                                js: JetStreamContext) -> None:
    await emit(service, "gone")

    async def dead_lettered() -> bool:
        return len(await dead_letters(js)) == 1

    await eventually(dead_lettered)
    assert (await dead_letters(js))[0].reason == "permanent: agent is gone"
    assert len(handler.calls) == 1


@pytest.mark.parametrize(
    ("subject", "data", "why"),
    [
        ("afo.ten_a.agent.created", b'{"specversion": "1.0"}', "invalid envelope"),
        ("afo.ten_b.agent.created", None, "does not match subject"),
    ],
    ids=["schema invalid", "tenant mismatch"],
)
async def test_an_invalid_message_is_dead_lettered_at_once(
    service: Service, handler: Handler, js: JetStreamContext, subject: str, data: bytes | None, why: str
) -> None:
    body = data or envelope_for(AgentCreated(agent_id="agt_1", name="ok"), tenant_id="ten_a",
                                source="gateway").to_bytes()
    ack = await js.publish(subject, body)

    async def dead_lettered() -> bool:
        return len(await dead_letters(js)) == 1

    await eventually(dead_lettered)
    [letter] = await dead_letters(js)
    assert letter.reason.startswith("schema_invalid") and why in letter.reason
    assert (letter.stream_seq, letter.num_delivered, letter.subject) == (ack.seq, 1, subject)
    assert handler.calls == []
    await eventually(lambda: settled(js))


async def test_the_same_event_published_twice_is_handled_once(service: Service, handler: Handler,
                                                              js: JetStreamContext) -> None:
    envelope = envelope_for(AgentCreated(agent_id="agt_1", name="ok"), tenant_id="ten_a", source="gateway")
    # No Nats-Msg-Id, so JetStream keeps both copies: the inbox is what stops the second.
    await js.publish(envelope.nats_subject, envelope.to_bytes())
    await js.publish(envelope.nats_subject, envelope.to_bytes())

    async def both_delivered() -> bool:
        return len(handler.calls) == 2 and await settled(js)

    await eventually(both_delivered)
    assert handler.handled == [envelope.id]


async def test_the_service_answers_its_health_rpc(service: Service) -> None:
    reply = await service.rpc.call(health_operation("test-svc"), HealthRequest(), timeout_s=5)
    assert (reply.service, reply.ready) == ("test-svc", True)


async def test_a_hung_handler_is_dead_lettered_through_the_max_deliveries_advisory(
    tmp_path: Path, nats: NatsServer, js: JetStreamContext
) -> None:
    spec = ConsumerSpec(durable="test-svc-hang", stream=AGENT, event=AgentCreated, max_deliver=2, ack_wait_s=0.5,
                        max_handle_s=1.0)
    handler = Handler()
    async for service in run_service(tmp_path, nats, spec, handler):
        sent = await emit(service, "hang")

        async def dead_lettered() -> bool:
            return len(await dead_letters(js)) == 1

        await eventually(dead_lettered, timeout_s=20)
        [letter] = await dead_letters(js)
        assert letter.reason.startswith("max_deliver reached without a verdict")
        assert (letter.consumer, letter.num_delivered, letter.subject) == (spec.durable, 2,
                                                                           "afo.ten_a.agent.created")
        assert Envelope.model_validate_json(letter.payload).id == sent.id
        assert [attempt for _, attempt, _ in handler.calls] == [1, 2]


async def test_once_draining_no_new_delivery_is_taken_and_the_one_in_flight_still_finishes(
    service: Service, handler: Handler, js: JetStreamContext
) -> None:
    await emit(service, "hang")

    async def in_flight() -> bool:
        return len(handler.calls) == 1

    await eventually(in_flight)
    service.begin_drain()
    waiting = await emit(service, "ok")

    async def published() -> bool:
        return bool((await js.consumer_info(AGENT, SPEC.durable)).num_pending == 1)

    await eventually(published)
    await asyncio.sleep(0.5)
    assert (service.ready, service.draining.is_set()) == (False, True)
    assert [event_id for event_id, _, _ in handler.calls] != [waiting.id] and len(handler.calls) == 1

    handler.release.set()

    async def in_flight_acked() -> bool:
        info = await js.consumer_info(AGENT, SPEC.durable)
        return bool(info.num_ack_pending == 0 and info.num_pending == 1)

    await eventually(in_flight_acked)
    assert handler.handled == []


async def test_a_periodic_job_runs_at_start_and_again_and_survives_its_own_failure(
    tmp_path: Path, nats: NatsServer, js: JetStreamContext
) -> None:
    runs: list[float] = []

    async def housekeeping() -> None:
        runs.append(time.monotonic())
        if len(runs) == 2:
            raise RuntimeError("database busy")

    settings = ServiceSettings.for_service("test-svc", home=tmp_path / "home", nats_url=nats.url, http_port=0,
                                           drain_timeout_s=5.0)
    service = Service(settings, messaging, "afo_testkit.migrations")
    service.every(0.2, housekeeping, "housekeeping")
    async with service.http.router.lifespan_context(service.http):
        async def ran_three_times() -> bool:
            return len(runs) >= 3

        await eventually(ran_three_times)
    stopped_at = len(runs)
    await asyncio.sleep(0.5)

    assert runs[1] - runs[0] >= 0.18
    assert len(runs) == stopped_at  # cancelled with the service


async def test_a_delivery_that_outlives_ack_wait_is_kept_alive_and_handled_once(
    tmp_path: Path, nats: NatsServer, js: JetStreamContext
) -> None:
    """A heartbeat tells JetStream the delivery is still being worked on: no redelivery while it runs,
    so ack_wait can be short without a slow turn being answered twice."""
    spec = ConsumerSpec(durable="test-svc-slow", stream=AGENT, event=AgentCreated, max_deliver=3,
                        ack_wait_s=SLOW_ACK_WAIT_S)
    handler = Handler()
    async for service in run_service(tmp_path, nats, spec, handler):
        sent = await emit(service, "slow")

        async def handled(sent: Envelope = sent) -> bool:
            return handler.handled == [sent.id]

        await eventually(handled, timeout_s=15)
        await eventually(lambda: settled(js, spec.durable))
        info = await js.consumer_info(AGENT, spec.durable)

    assert [attempt for _, attempt, _ in handler.calls] == [1]
    assert info.num_redelivered == 0
    assert await dead_letters(js) == []


async def test_an_existing_consumer_is_brought_to_the_settings_in_code(
    tmp_path: Path, nats: NatsServer, js: JetStreamContext, handler: Handler
) -> None:
    """An upgraded deployment keeps its durable consumers: the new ack_wait and in-flight bound reach them."""
    await js.add_consumer(AGENT, ConsumerConfig(
        durable_name=SPEC.durable, deliver_group=SPEC.durable, deliver_subject="_INBOX.old",
        ack_policy=AckPolicy.EXPLICIT, ack_wait=60.0, max_ack_pending=128, max_deliver=SPEC.max_deliver,
        filter_subject="afo.*.agent.created"))

    async for _service in run_service(tmp_path, nats, SPEC, handler):
        info = await js.consumer_info(AGENT, SPEC.durable)

    assert (info.config.ack_wait, info.config.max_ack_pending) == (SPEC.ack_wait_s, SPEC.max_workers)


async def test_a_whole_stream_consumer_on_nats_receives_every_event_type_of_its_stream(
        tmp_path: Path, nats: NatsServer, js: JetStreamContext) -> None:
    spec = ConsumerSpec.whole_stream("test-svc-agent-events", AGENT, ack_wait_s=30.0)
    received: list[str] = []

    class TypeRecorder(Handler):
        async def __call__(self, delivery: Delivery) -> None:
            async with delivery.transaction():
                received.append(delivery.envelope.type)

    async for service in run_service(tmp_path, nats, spec, TypeRecorder()):
        async with service.unit_of_work() as uow:
            await uow.emit(AgentCreated(agent_id="agt_1", name="ok"), tenant_id="ten_a")
            await uow.emit(AgentDeleted(agent_id="agt_1"), tenant_id="ten_b")

        async def both() -> bool:
            return sorted(received) == ["afo.agent.created.v1", "afo.agent.deleted.v1"]

        await eventually(both)
        await eventually(lambda: settled(js, spec.durable))
        assert await dead_letters(js) == []


async def test_batched_consumers_on_nats_handle_every_event_once_in_fewer_transactions(
        tmp_path: Path, nats: NatsServer, js: JetStreamContext) -> None:
    specs = [ConsumerSpec("test-svc-batch-created", AGENT, AgentCreated, ack_wait_s=30.0, max_workers=64),
             ConsumerSpec("test-svc-batch-deleted", AGENT, AgentDeleted, ack_wait_s=30.0, max_workers=64)]
    batches: list[int] = []
    counted: list[str] = []

    async def count(batch: Batch) -> None:
        async with batch.transaction() as (_, fresh):
            batches.append(len(batch.deliveries))
            counted.extend(d.envelope.id for d in fresh)

    settings = ServiceSettings.for_service("test-svc", home=tmp_path / "home", nats_url=nats.url, http_port=0,
                                           drain_timeout_s=5.0)
    service = Service(settings, messaging, "afo_testkit.migrations")
    service.consume_batched(specs, count)
    async with service.http.router.lifespan_context(service.http):
        async with service.unit_of_work() as uow:
            events = [AgentCreated(agent_id="agt_1", name="ok"), AgentDeleted(agent_id="agt_1")]
            sent = [await uow.emit(events[i % 2], tenant_id="ten_a") for i in range(60)]

        async def all_counted() -> bool:
            return len(counted) >= len(sent)

        await eventually(all_counted)
        for spec in specs:
            await eventually(lambda: settled(js, spec.durable))  # noqa: B023 - awaited within the iteration
    assert sorted(counted) == sorted(e.id for e in sent)
    assert sum(batches) == 60 and len(batches) < 30
    assert await dead_letters(js) == []
