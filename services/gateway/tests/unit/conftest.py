"""Gateway handler and repository tests run on both backends: a SQLite file, then a throwaway PostgreSQL
database (skipped, saying why, when none answers at AFO_TEST_POSTGRES_URL)."""

from collections.abc import AsyncIterator

import pytest

from afo_common.db import Database, migrate
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.tables import messaging
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The gateway's database, migrated to head."""
    database = Database(database_url)
    await migrate(database, "afo_gateway.migrations")
    yield database
    await database.dispose()


@pytest.fixture
def uow(db: Database) -> UnitOfWorkFactory:
    """Units of work as the gateway opens them, without an outbox relay to wake."""
    return UnitOfWorkFactory(db, messaging, "gateway", on_commit=lambda: None)
