"""voice-media's repositories on both backends: SQLite (a file per test) and PostgreSQL (a throwaway database
per test on the server AFO_TEST_POSTGRES_URL names, skipped with the reason when none answers)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.db import Database
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import SQL_BACKENDS, migrated_database
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.adapters.tables import messaging


@pytest.fixture(params=SQL_BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    """voice-media's database, migrated to head."""
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_voice_media.migrations")
    yield database
    await database.dispose()


@pytest.fixture
def store(db: Database) -> SqlStore[SqlRepositories]:
    """The store voice-media's handlers take, on this database."""
    return SqlStore(UnitOfWorkFactory(db, messaging, "voice-media", on_commit=lambda: None), SqlRepositories)
