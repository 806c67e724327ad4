from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import func, insert, select

from afo_common.db import Database, migrate
from afo_common.events import Envelope, parse_envelope
from afo_common.events.agent import AgentCreated, AgentPublished
from afo_common.events.streams import AGENT
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.outbox_relay import OutboxRelay, retry_delay
from afo_common.messaging.streams import ensure_streams
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.telemetry import OUTBOX_OLDEST_AGE_SECONDS, OUTBOX_PENDING
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.stores import SQL_BACKENDS, migrated_database

SERVICE = "test-svc"


class Boom(Exception):
    pass


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await migrate(database, "afo_testkit.migrations")
    yield database
    await database.dispose()


@pytest.fixture(params=SQL_BACKENDS)
async def any_db(request: pytest.FixtureRequest, tmp_path: Path,
                postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    """The outbox on each backend in turn (the relay claims rows differently on PostgreSQL)."""
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_testkit.migrations")
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

    published = await OutboxRelay(db, connection, SERVICE).publish_pending()

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

    assert await OutboxRelay(db, connection, SERVICE).publish_pending() == 0
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
    assert await OutboxRelay(db, connection, SERVICE).publish_pending() == 4
    assert len(await stream_ids(js)) == 4

    restarted = Database(f"sqlite+aiosqlite:///{tmp_path / 'crashed.db'}")
    try:
        assert await pending(restarted) == 4
        assert await OutboxRelay(restarted, connection, SERVICE).publish_pending() == 4
        assert await pending(restarted) == 0
    finally:
        await restarted.dispose()

    assert await stream_ids(js) == [(e.id, e.id) for e in emitted]


async def test_the_running_relay_publishes_soon_after_a_commit_and_flushes_on_stop(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    relay = OutboxRelay(db, connection, SERVICE)
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


async def test_events_no_stream_takes_yet_stay_in_the_outbox_and_go_out_after_their_backoff(
    any_db: Database, connection: NatsConnection
) -> None:
    db = any_db
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    emitted = await commit_events(uow, 2)
    relay = OutboxRelay(db, connection, SERVICE)

    assert await relay.publish_pending() == 2  # taken, but no stream is provisioned yet
    assert await pending(db) == 2
    assert await relay.publish_pending() == 0  # waiting out their backoff, not hammering the server
    async with db.session() as session:
        attempts = (await session.execute(select(messaging.outbox.c.attempts, messaging.outbox.c.last_error))).all()
    assert [a for a, _ in attempts] == [1, 1] and "no stream answered" in attempts[0][1]

    await ensure_streams(connection.js)
    await asyncio.sleep(retry_delay(1))
    assert await relay.publish_pending() == 2
    assert await stream_ids(connection.js) == [(e.id, e.id) for e in emitted]
    assert await pending(db) == 0


async def put_row(db: Database, subject: str, payload: bytes) -> str:
    """An outbox row as a buggy or outdated emitter could leave it."""
    event_id = f"evt_{subject.replace('.', '_')}_{len(payload)}"
    async with db.write_lock(), db.session() as session, session.begin():
        await session.execute(insert(messaging.outbox).values(
            event_id=event_id, subject=subject, payload=payload, created_at=datetime.now(UTC)))
    return event_id


async def dead_outbox_rows(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = (await session.execute(select(messaging.outbox_dead_letters.c.event_id,
                                             messaging.outbox_dead_letters.c.reason)
                                      .order_by(messaging.outbox_dead_letters.c.seq))).all()
    return [(r.event_id, r.reason) for r in rows]


async def drain(relay: OutboxRelay) -> None:
    while await relay.publish_pending():
        pass


async def test_rows_that_can_never_be_published_are_set_aside_and_the_rest_go_out_once(
    any_db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    db = any_db
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    before = await commit_events(uow, 2)
    no_stream = await put_row(db, "afo.ten_a.bogus.happened", b"{}")
    too_large = await put_row(db, "afo.ten_a.agent.created", b"x" * (connection.client.max_payload + 1))
    after = await commit_events(uow, 300)
    published: list[str] = []

    async def count(msg: Msg) -> None:
        published.append((msg.headers or {}).get("Nats-Msg-Id", ""))

    watcher = await connection.client.subscribe("afo.>", cb=count)
    relay = OutboxRelay(db, connection, SERVICE)
    for _ in range(3):  # later passes must find nothing left to publish again
        await drain(relay)
    await connection.client.flush()
    await watcher.unsubscribe()

    good = [e.id for e in [*before, *after]]
    assert sorted(published) == sorted(good)  # each once: no pass re-published what was acknowledged
    assert [i for i, _ in await stream_ids(js)] == good
    assert await pending(db) == 0
    letters = dict(await dead_outbox_rows(db))
    assert letters.keys() == {no_stream, too_large}
    assert letters[no_stream] == "no stream captures afo.ten_a.bogus.happened"
    assert "over the server's limit" in letters[too_large]


async def test_the_backlog_gauges_read_the_table_even_while_nats_is_down(any_db: Database) -> None:
    db = any_db
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    await commit_events(uow, 500)
    await asyncio.sleep(0.2)
    down = NatsConnection("nats://127.0.0.1:1", "never-connected")
    relay = OutboxRelay(db, down, SERVICE)

    with pytest.raises(RuntimeError, match="NATS is not connected"):
        await relay.publish_pending()

    assert OUTBOX_PENDING.labels(SERVICE)._value.get() == 500
    assert OUTBOX_OLDEST_AGE_SECONDS.labels(SERVICE)._value.get() >= 0.2


@pytest.fixture
async def postgres_url(postgres_server: PostgresDatabases | str) -> str:
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    return await postgres_server.create()


@pytest.mark.postgres
class HeldPublishes:
    """A relay's NATS connection whose publishes wait until ``release`` is set: a slow relay."""

    def __init__(self, connection: NatsConnection) -> None:
        self._connection = connection
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    @property
    def client(self) -> Any:
        return self._connection.client

    @property
    def js(self) -> HeldPublishes:
        return self

    async def publish_async(self, subject: str, payload: bytes, **options: Any) -> asyncio.Future[Any]:
        self.holding.set()
        await self.release.wait()
        return await self._connection.js.publish_async(subject, payload, **options)


async def test_two_relays_sharing_a_sqlite_file_never_delete_an_event_they_did_not_publish(
    db: Database, connection: NatsConnection, js: JetStreamContext
) -> None:
    """Two processes on one SQLite file (replicas in a test): the slow relay publishes the event the other
    already published and deleted, while a new event took its ``seq`` (SQLite reuses the largest rowid once
    it is deleted); settling, it must not delete the new one."""
    uow = UnitOfWorkFactory(db, messaging, SERVICE, lambda: None)
    [first] = await commit_events(uow, 1)
    held = HeldPublishes(connection)
    slow = asyncio.create_task(OutboxRelay(db, cast(NatsConnection, held), SERVICE).publish_pending())
    await held.holding.wait()  # it read the first event and is publishing it
    fast = OutboxRelay(db, connection, SERVICE)
    assert await fast.publish_pending() == 1
    [second] = await commit_events(uow, 1)
    async with db.session() as session:
        seqs = (await session.execute(select(messaging.outbox.c.seq))).scalars().all()
    assert seqs == [1]  # the second event has the first one's seq
    held.release.set()
    assert await slow == 1
    assert await pending(db) == 1  # the second event is still waiting for a relay
    assert await fast.publish_pending() == 1
    assert await stream_ids(js) == [(first.id, first.id), (second.id, second.id)]


async def test_two_relays_on_one_postgresql_database_publish_each_row_once(
    postgres_url: str, connection: NatsConnection, js: JetStreamContext
) -> None:
    """Replicas of a service share its PostgreSQL database: each row is claimed by one relay. (On SQLite
    one process owns the file, so there is one relay.)"""
    databases = [Database(postgres_url), Database(postgres_url)]
    await migrate(databases[0], "afo_testkit.migrations")
    try:
        emitted = await commit_events(UnitOfWorkFactory(databases[0], messaging, SERVICE, lambda: None), 600)
        published: list[str] = []

        async def count(msg: Msg) -> None:
            published.append((msg.headers or {}).get("Nats-Msg-Id", ""))

        watcher = await connection.client.subscribe("afo.>", cb=count)
        relays = [OutboxRelay(database, connection, SERVICE) for database in databases]
        await asyncio.gather(*(drain(relay) for relay in relays))
        await connection.client.flush()
        await watcher.unsubscribe()
        assert await pending(databases[0]) == 0
    finally:
        for database in databases:
            await database.dispose()

    assert sorted(published) == sorted(e.id for e in emitted)
