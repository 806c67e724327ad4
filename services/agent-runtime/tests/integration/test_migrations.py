"""Every service's Alembic migrations, on SQLite and PostgreSQL: they reach head, a second run is a no-op,
and the schema they build is the one the service's tables module declares (no drift for autogenerate)."""

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, text

from afo_common.db import Database, migrate

SERVICES = ["gateway", "agent-runtime", "voice-media", "knowledge-ingest", "workflow-executor", "notifier"]


def package(service: str) -> str:
    return "afo_" + service.replace("-", "_")


def drift(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def heads(db: Database) -> list[str]:
    async with db.engine.connect() as connection:
        return list((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_reach_head_and_match_the_declared_tables(database_url: str, service: str) -> None:
    metadata: MetaData = importlib.import_module(f"{package(service)}.adapters.tables").metadata
    db = Database(database_url)
    try:
        await migrate(db, f"{package(service)}.migrations")
        head = await heads(db)
        await migrate(db, f"{package(service)}.migrations")  # a restart finds nothing to do

        assert await heads(db) == head and len(head) == 1
        async with db.engine.connect() as connection:
            assert await connection.run_sync(table_names) == {*metadata.tables, "alembic_version"}
            assert await connection.run_sync(drift, metadata) == []
    finally:
        await db.dispose()
