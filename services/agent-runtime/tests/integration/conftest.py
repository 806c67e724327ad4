"""Repositories and migrations run on both backends: SQLite (a file per test) and PostgreSQL (a throwaway
database per test on the server AFO_TEST_POSTGRES_URL names, skipped with the reason when none answers); RPC
clients on a NATS connection to a nats-server of the test's own."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from afo_agent_runtime.adapters.turn_store import TurnStore
from afo_common.db import Database
from afo_common.messaging.connection import NatsConnection
from afo_testkit.nats import nats_server
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import SQL_BACKENDS, migrated_database


@pytest.fixture(params=SQL_BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    """agent-runtime's database, migrated to head."""
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_agent_runtime.migrations")
    yield database
    await database.dispose()


Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@pytest.fixture
def tx(db: Database) -> Transaction:
    """``async with tx() as session``: one committed transaction, as a unit of work gives a handler."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with db.session() as session, session.begin():
            yield session

    return transaction


HotStore = Callable[[], AbstractAsyncContextManager[TurnStore]]


@pytest.fixture
def hot(db: Database) -> HotStore:
    """``async with hot() as store``: one committed transaction of a turn's own statements (TurnStore)."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[TurnStore]:
        async with db.hot.transaction() as tx:
            yield TurnStore(tx)

    return transaction


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[NatsConnection]:
    """A NATS connection to a nats-server of the test's own."""
    async with nats_server(tmp_path) as server:
        conn = NatsConnection(server.url, "agent-runtime-test")
        await conn.connect()
        yield conn
        await conn.close()
