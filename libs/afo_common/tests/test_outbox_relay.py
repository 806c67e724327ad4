import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select

from afo_common.db import Database, migrate
from afo_common.events import Envelope, parse_envelope
from afo_common.events.agent import AgentCreated, AgentPublished
from afo_common.events.streams import AGENT
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.outbox_relay import OutboxRelay
from afo_common.messaging.streams import ensure_streams
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.migrations import messaging

SERVICE = "test-svc"


class Boom(Exception):
    pass


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await migrate(database, "afo_testkit.migrations")
    yield database
    await database.dispose()


@pytest.fixture
async def js(connection: NatsConnection) -> JetStreamContext:
    await ensure_streams(connection.js)
    return connection.js


async def stream_ids(js: JetStreamContext, stream: str = AGENT) -> list[tuple[str, str]]:
    """(Nats-Msg-Id, envelope id) of every message in ``stream``, in stream order."""
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else []:
        msg = await js.get_msg(stream, seq)
        envelope, _ = parse_envelope(msg.data or b"")
        found.append(((msg.headers or {}).get("Nats-Msg-Id", ""), envelope.id))
    return found


async def pending(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one())


async def commit_events(uow: UnitOfWorkFactory, count: int, tenant: str = "ten_a") -> list[Envelope]:
    emitted = []
    async with uow() as work:
        for i in range(count):
            emitted.append(await work.emit(AgentPublished(agent_id="agt_1", version=i + 1), tenant_id=tenant))
    return emitted


async def test_committed_events_reach_jetstream_in_order_with_their_id_as_msg_id(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    wakes: list[None] = []
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: wakes.append(None))
    first = await commit_events(uow, 3)
    second = await commit_events(uow, 2, tenant="ten_b")
    assert len(wakes) == 2
    assert await pending(db) == 5

    published = await OutboxRelay(db, messaging, connection, SERVICE).publish_pending()

    assert published == 5
    assert await stream_ids(js) == [(e.id, e.id) for e in [*first, *second]]
    assert await pending(db) == 0
    last = await js.get_msg(AGENT, 5)
    assert last.subject == "afo.ten_b.agent.published"
    envelope, payload = parse_envelope(last.data or b"")
    assert envelope.source == f"afo/{SERVICE}" and payload == AgentPublished(agent_id="agt_1", version=2)


async def test_a_rolled_back_unit_of_work_publishes_nothing(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    wakes: list[None] = []
    after_commit: list[str] = []
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: wakes.append(None))

    async def announce() -> None:
        after_commit.append("announced")

    with pytest.raises(Boom):
        async with uow() as work:
            await work.emit(AgentCreated(agent_id="agt_1", name="Ava"), tenant_id="ten_a")
            work.after_commit(announce)
            raise Boom

    assert await OutboxRelay(db, messaging, connection, SERVICE).publish_pending() == 0
    assert await pending(db) == 0
    assert await stream_ids(js) == []
    assert wakes == [] and after_commit == []


async def test_after_commit_callbacks_run_once_the_events_are_durable(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    seen: list[int] = []
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)

    async def count_outbox() -> None:
        seen.append(await pending(db))

    async with uow() as work:
        await work.emit(AgentCreated(agent_id="agt_1", name="Ava"), tenant_id="ten_a")
        work.after_commit(count_outbox)
        assert seen == []

    assert seen == [1]


async def test_a_relay_restarted_after_publishing_but_before_deleting_adds_no_duplicate(
    tmp_path: Path, db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    emitted = await commit_events(uow, 4)
    await db.dispose()  # checkpoints the WAL, so the file alone holds the committed outbox
    # The state a crash between publish and delete leaves behind: events in the stream AND in the outbox.
    shutil.copy(tmp_path / "outbox.db", tmp_path / "crashed.db")
    assert await OutboxRelay(db, messaging, connection, SERVICE).publish_pending() == 4
    assert len(await stream_ids(js)) == 4

    restarted = Database(f"sqlite+aiosqlite:///{tmp_path / 'crashed.db'}")
    try:
        assert await pending(restarted) == 4
        assert await OutboxRelay(restarted, messaging, connection, SERVICE).publish_pending() == 4
        assert await pending(restarted) == 0
    finally:
        await restarted.dispose()

    assert await stream_ids(js) == [(e.id, e.id) for e in emitted]


async def test_the_running_relay_publishes_soon_after_a_commit_and_flushes_on_stop(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    relay = OutboxRelay(db, messaging, connection, SERVICE)
    uow = UnitOfWorkFactory(db, messaging, SERVICE, relay.wake)
    relay.start()
    try:
        first = await commit_events(uow, 1)
        for _ in range(50):  # the wake-up beats the 1 s poll interval by far
            if await stream_ids(js):
                break
            await asyncio.sleep(0.01)
        assert await stream_ids(js) == [(first[0].id, first[0].id)]
        second = await commit_events(uow, 300)
    finally:
        await relay.stop()

    assert [i for i, _ in await stream_ids(js)] == [e.id for e in [*first, *second]]
    assert await pending(db) == 0


async def test_events_jetstream_refuses_stay_in_the_outbox_until_a_later_pass(
    db: Database, connection: NatsConnection
) -> None:
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    emitted = await commit_events(uow, 2)
    relay = OutboxRelay(db, messaging, connection, SERVICE)

    with pytest.raises(RuntimeError, match="2 events not acknowledged"):
        await relay.publish_pending()  # no stream captures the subjects yet
    assert await pending(db) == 2

    await ensure_streams(connection.js)
    assert await relay.publish_pending() == 2
    assert await stream_ids(connection.js) == [(e.id, e.id) for e in emitted]
