"""Webhook handlers on a real store (SQLite, then PostgreSQL when one answers at AFO_TEST_POSTGRES_URL) and
a real sender posting to local receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.db import Database
from afo_common.messaging.store import SqlStore
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_notifier.adapters.store import SqlRepositories, sql_store
from afo_notifier.adapters.tables import messaging
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import migrated_database


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path,
                   postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_notifier.migrations")
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def units(database: Database) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(database, messaging, "notifier", lambda: None)


@pytest.fixture
def store(units: UnitOfWorkFactory) -> SqlStore[SqlRepositories]:
    return sql_store(units)
