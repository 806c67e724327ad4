"""Group commit: deliveries handed to a Batcher while a batch is being handled form the next batch, one
transaction each, every delivery still settled by its consumer's policy; duplicates (redelivered, or twice in one
batch) are settled as such; a failing batch is handled again one delivery at a time, so only the bad one fails.
The inbox on SQLite and PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from afo_common.events import Envelope, envelope_for
from afo_common.events.agent import AgentCreated, AgentDeleted
from afo_common.events.streams import AGENT
from afo_common.messaging.batches import Batch, Batcher
from afo_common.messaging.consumer import ConsumerPolicy, ConsumerSpec, PermanentError
from afo_common.messaging.inbox import record_all_processed
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.broker_messages import BrokerMessage
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import SQL_BACKENDS, migrated_database

CREATED = ConsumerSpec(durable="test-svc-agent-created", stream=AGENT, event=AgentCreated)
DELETED = ConsumerSpec(durable="test-svc-agent-deleted", stream=AGENT, event=AgentDeleted)


def created(name: str) -> Envelope:
    return envelope_for(AgentCreated(agent_id="agt_1", name=name), tenant_id="ten_a", source="agent-runtime")


def deleted() -> Envelope:
    return envelope_for(AgentDeleted(agent_id="agt_1"), tenant_id="ten_a", source="agent-runtime")


class Counter:
    """A batch handler: records each batch's fresh names in one transaction, failing on a name it is told."""

    def __init__(self, poison: str | None = None, *, transaction: bool = True) -> None:
        self.poison = poison
        self.transaction = transaction
        self.batches: list[list[str]] = []
        self.counted: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, batch: Batch) -> None:
        await self.gate.wait()
        names = [getattr(d.payload, "name", "deleted") for d in batch.deliveries]
        self.batches.append(names)
        if not self.transaction:
            return
        async with batch.transaction() as (uow, fresh):
            fresh_names = [getattr(d.payload, "name", "deleted") for d in fresh]
            if self.poison in fresh_names:
                raise PermanentError("agt_1")
            await uow.emit(AgentDeleted(agent_id="agt_1"), tenant_id="ten_a")
            self.counted += fresh_names


@pytest.fixture(params=SQL_BACKENDS)
async def uow(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[UnitOfWorkFactory]:
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_testkit.migrations")
    yield UnitOfWorkFactory(db, messaging, "test-svc", lambda: None)
    await db.dispose()


class Consumers:
    def __init__(self, handler: Counter, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.dead_letters: list[str] = []
        batcher = Batcher(handler, uow)

        async def dead_letter(**letter: str) -> None:
            self.dead_letters.append(letter["reason"])

        self.policies = {spec.durable: ConsumerPolicy(spec, batcher, "test-svc", uow, dead_letter)
                         for spec in (CREATED, DELETED)}

    async def deliver(self, envelope: Envelope, attempt: int = 1) -> str:
        spec = CREATED if envelope.type == AgentCreated.type_name() else DELETED
        return await self.policies[spec.durable].process(BrokerMessage.of(envelope, attempt))

    async def rows(self, table: str) -> int:
        async with self.uow.db.session() as session:
            target = messaging.inbox if table == "inbox" else messaging.outbox
            return int((await session.execute(select(func.count()).select_from(target))).scalar_one())


async def test_deliveries_arriving_during_a_batch_form_the_next_one_in_a_transaction_each(
        uow: UnitOfWorkFactory) -> None:
    counter = Counter()
    consumers = Consumers(counter, uow)
    counter.gate.clear()
    first = asyncio.ensure_future(consumers.deliver(created("a")))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(consumers.deliver(e)) for e in (created("b"), deleted(), created("c"))]
    await asyncio.sleep(0.01)
    counter.gate.set()

    assert await asyncio.gather(first, *rest) == ["ack"] * 4
    assert counter.batches == [["a"], ["b", "deleted", "c"]]
    assert await consumers.rows("inbox") == 4
    assert await consumers.rows("outbox") == 2  # one event per batch: one transaction each


async def test_redelivered_and_doubled_deliveries_are_settled_as_duplicates(uow: UnitOfWorkFactory) -> None:
    counter = Counter()
    consumers = Consumers(counter, uow)
    a, b = created("a"), created("b")
    assert await consumers.deliver(a) == "ack"

    counter.gate.clear()
    head = asyncio.ensure_future(consumers.deliver(created("c")))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(consumers.deliver(e, attempt)) for e, attempt in ((a, 2), (b, 1), (b, 2))]
    await asyncio.sleep(0.01)
    counter.gate.set()

    assert await asyncio.gather(head, *queued) == ["ack", "duplicate", "ack", "duplicate"]
    assert counter.counted == ["a", "c", "b"]
    assert await consumers.rows("inbox") == 3


async def test_a_failing_batch_is_handled_one_by_one_so_only_the_bad_delivery_fails(uow: UnitOfWorkFactory) -> None:
    counter = Counter(poison="bad")
    consumers = Consumers(counter, uow)
    counter.gate.clear()
    head = asyncio.ensure_future(consumers.deliver(created("a")))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(consumers.deliver(created(n))) for n in ("b", "bad", "c")]
    await asyncio.sleep(0.01)
    counter.gate.set()

    assert await asyncio.gather(head, *queued) == ["ack", "ack", "dead_letter", "ack"]
    assert counter.batches == [["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]
    assert counter.counted == ["a", "b", "c"]
    assert consumers.dead_letters == ["permanent: agt_1"]
    assert await consumers.rows("inbox") == 3  # the failed batch's rows were rolled back with it


async def test_a_batch_handled_without_a_transaction_is_acknowledged_with_nothing_written(
        uow: UnitOfWorkFactory) -> None:
    consumers = Consumers(Counter(transaction=False), uow)

    assert await asyncio.gather(*(consumers.deliver(created(n)) for n in "xyz")) == ["ack"] * 3
    assert await consumers.rows("inbox") == 0


async def test_a_malformed_delivery_never_reaches_the_batch(uow: UnitOfWorkFactory) -> None:
    counter = Counter()
    consumers = Consumers(counter, uow)
    bad = BrokerMessage.of(created("a"))
    bad.data = bad.data.replace(b'"name":"a"', b'"name":7')

    assert await consumers.policies[CREATED.durable].process(bad) == "dead_letter"
    assert counter.batches == [] and consumers.dead_letters[0].startswith("schema_invalid")


async def test_record_all_processed_returns_only_what_was_new(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await record_all_processed(work, {("c1", "e1"), ("c2", "e1")}) == {("c1", "e1"), ("c2", "e1")}
    async with uow() as work:
        assert await record_all_processed(work, {("c1", "e1"), ("c1", "e2")}) == {("c1", "e2")}
        assert await record_all_processed(work, set()) == set()
