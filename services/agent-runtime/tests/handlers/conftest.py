"""The RPC handlers run on every backend in turn: agent-runtime's in-memory repositories
(``adapters/memory.py``), SQLite, then PostgreSQL (skipped, saying why, when none answers at
AFO_TEST_POSTGRES_URL). A fake that answers differently from the database fails the same test."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from afo_agent_runtime.adapters.conversation_repository import LeadRow, MessageRow
from afo_agent_runtime.adapters.memory import memory_store
from afo_agent_runtime.adapters.store import sql_store
from afo_agent_runtime.adapters.tables import messaging
from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_agent_runtime.handlers.unit_of_work import Store
from afo_common.events import Envelope
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.clock import SteppingClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, committed_events, migrated_database

Committed = Callable[[], Awaitable[list[Envelope]]]
TurnWriter = Callable[[str, MessageRow | LeadRow], Awaitable[None]]


class Backend:
    """One backend: the store handlers are given, the events it committed, and a way to write what a turn
    writes (messages and leads come only from turns, which run on the database driver)."""

    def __init__(self, store: Store, committed: Committed, written: TurnWriter) -> None:
        self.store = store
        self.committed = committed
        self.written = written


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = memory_store()

        async def memory_events() -> list[Envelope]:
            return list(memory.outbox)

        async def memory_turn(tenant_id: str, row: MessageRow | LeadRow) -> None:
            if isinstance(row, MessageRow):
                memory.tables.add_messages(tenant_id, row)
            else:
                memory.tables.save_lead(row, exists=False)

        yield Backend(memory, memory_events, memory_turn)
        return
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_agent_runtime.migrations")

    async def outbox_events() -> list[Envelope]:
        return await committed_events(db, messaging)

    async def turn(tenant_id: str, row: MessageRow | LeadRow) -> None:
        async with db.hot.transaction() as tx:
            if isinstance(row, MessageRow):
                await TurnStore(tx).add_messages(tenant_id, row)
            else:
                await TurnStore(tx).save_lead(row, exists=False)

    try:
        yield Backend(sql_store(UnitOfWorkFactory(db, messaging, "agent-runtime", lambda: None)), outbox_events, turn)
    finally:
        await db.dispose()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store


@pytest.fixture
def committed(backend: Backend) -> Committed:
    """Every event the store committed so far (its outbox), in order."""
    return backend.committed


@pytest.fixture
def written(backend: Backend) -> TurnWriter:
    """``await written(tenant_id, row)``: a message or a new lead, written as a turn writes it."""
    return backend.written


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()
