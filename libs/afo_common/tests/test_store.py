"""The store's contract, the same in memory (``MemoryStore``) as on SQLite and PostgreSQL (``SqlStore``): a
unit of work's writes and events commit together or not at all, after-commit callbacks run only after a
commit, a read emits nothing, and a delivery's inbox row comes first so a second delivery is a duplicate."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import Database, migrate
from afo_common.events import Envelope, envelope_for, parse_envelope
from afo_common.events.tenant import TenantCreated
from afo_common.messaging.batches import Batch
from afo_common.messaging.consumer import Delivery, DuplicateDelivery
from afo_common.messaging.store import MemoryStore, Repositories, SqlStore, as_stored
from afo_common.messaging.unit_of_work import Events, UnitOfWorkFactory
from afo_testkit.migrations import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server


class SqlMarks:
    """A repository on the SQL side, over the inbox table (the only table of the test migrations)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, name: str) -> None:
        await self._session.execute(messaging.inbox.insert().values(consumer="marks", event_id=name,
                                                                    processed_at=datetime.now(UTC)))

    async def all(self) -> list[str]:
        query = select(messaging.inbox.c.event_id).where(messaging.inbox.c.consumer == "marks")
        return sorted((await self._session.execute(query)).scalars())


class SqlRepos(Repositories):
    def __init__(self, session: AsyncSession, events: Events | None = None) -> None:
        super().__init__(events)
        self.marks = SqlMarks(session)


@dataclass
class Tables:
    marks: set[str] = field(default_factory=set)


class MemoryMarks:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, name: str) -> None:
        self._t.marks.add(name)

    async def all(self) -> list[str]:
        return sorted(self._t.marks)


class MemoryRepos(Repositories):
    def __init__(self, tables: Tables, events: Events | None = None) -> None:
        super().__init__(events)
        self.marks = MemoryMarks(tables)


@dataclass
class Backend:
    store: Any
    committed: Any


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = MemoryStore(Tables(), MemoryRepos, "test-svc")

        async def outbox() -> list[Envelope]:
            return list(memory.outbox)

        yield Backend(memory, outbox)
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    elif isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    else:
        url = await postgres_server.create()
    db = Database(url)
    await migrate(db, "afo_testkit.migrations")

    async def sql_outbox() -> list[Envelope]:
        async with db.session() as session:
            rows = (await session.execute(select(messaging.outbox.c.payload).order_by(messaging.outbox.c.seq))).all()
        return [parse_envelope(row.payload)[0] for row in rows]

    try:
        yield Backend(SqlStore(UnitOfWorkFactory(db, messaging, "test-svc", lambda: None), SqlRepos), sql_outbox)
    finally:
        await db.dispose()


def created(name: str) -> TenantCreated:
    return TenantCreated(name=name, timezone="UTC")


async def test_writes_and_events_commit_together(backend: Backend) -> None:
    async with backend.store() as uow:
        await uow.marks.add("a")
        sent = await uow.emit(created("Acme"), tenant_id="ten_a")

    async with backend.store.reading() as repos:
        assert await repos.marks.all() == ["a"]
    assert [e.id for e in await backend.committed()] == [sent.id]


async def test_an_exception_undoes_the_writes_and_drops_the_events_and_callbacks(backend: Backend) -> None:
    async with backend.store() as uow:
        await uow.marks.add("kept")
    called: list[str] = []

    async def announce() -> None:
        called.append("announced")

    with pytest.raises(ValueError, match="boom"):
        async with backend.store() as uow:
            await uow.marks.add("undone")
            await uow.emit(created("Acme"), tenant_id="ten_a")
            uow.after_commit(announce)
            raise ValueError("boom")

    async with backend.store.reading() as repos:
        assert await repos.marks.all() == ["kept"]
    assert await backend.committed() == []
    assert called == []


async def test_after_commit_callbacks_run_once_the_writes_are_visible(backend: Backend) -> None:
    seen: list[list[str]] = []

    async def look() -> None:
        async with backend.store.reading() as repos:
            seen.append(await repos.marks.all())

    async with backend.store() as uow:
        await uow.marks.add("a")
        uow.after_commit(look)
        assert seen == []

    assert seen == [["a"]]


async def test_a_read_emits_nothing(backend: Backend) -> None:
    async with backend.store.reading() as repos:
        with pytest.raises(RuntimeError):
            await repos.emit(created("Acme"), tenant_id="ten_a")
        with pytest.raises(RuntimeError):
            repos.after_commit(lambda: None)


async def test_a_delivery_is_handled_once_and_a_failed_one_may_be_retried(backend: Backend) -> None:
    envelope = envelope_for(created("Acme"), tenant_id="ten_a", source="gateway")
    units: Any = getattr(backend.store, "units", None)  # a Delivery needs the service's units of work
    delivery = Delivery(envelope, created("Acme"), 1, "test-consumer", units)

    with pytest.raises(ValueError, match="boom"):
        async with backend.store.handling(delivery) as uow:
            await uow.marks.add("first try")
            raise ValueError("boom")
    async with backend.store.handling(delivery) as uow:
        await uow.marks.add("handled")
    with pytest.raises(DuplicateDelivery):
        async with backend.store.handling(delivery) as uow:
            await uow.marks.add("twice")

    async with backend.store.reading() as repos:
        assert await repos.marks.all() == ["handled"]


async def test_a_batch_yields_its_fresh_deliveries_and_a_failed_batch_may_be_retried(backend: Backend) -> None:
    units: Any = getattr(backend.store, "units", None)
    first, second = (envelope_for(created(name), tenant_id="ten_a", source="gateway") for name in ("A", "B"))
    seen_before = Delivery(first, created("A"), 1, "test-consumer", units)
    async with backend.store.handling(seen_before) as uow:
        await uow.marks.add("A")
    batch = Batch([Delivery(e, created("x"), 1, "test-consumer", units) for e in (first, second, second)], units)

    with pytest.raises(ValueError, match="boom"):
        async with backend.store.handling_batch(batch) as (uow, fresh):
            await uow.marks.add("first try")
            raise ValueError("boom")
    async with backend.store.handling_batch(batch) as (uow, fresh):
        for delivery in fresh:
            await uow.marks.add(delivery.envelope.id)

    assert [d.envelope.id for d in fresh] == [second.id]
    assert [d.envelope.id for d in batch.duplicates] == [first.id, second.id]
    async with backend.store.reading() as repos:
        assert await repos.marks.all() == sorted(["A", second.id])


@dataclass(frozen=True)
class Row:
    at: datetime
    data: dict[str, list[int]]


def test_a_stored_row_is_a_copy_with_its_times_in_utc() -> None:
    paris = datetime.fromisoformat("2026-03-01T10:30:00+01:00")
    row = Row(paris, {"a": [1]})

    stored = as_stored(row)

    assert stored == row and stored.at.tzinfo is UTC
    stored.data["a"].append(2)
    assert row.data == {"a": [1]}
