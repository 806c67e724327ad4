"""workflow-executor's migrations on SQLite and PostgreSQL: head is reached, a second run is a no-op, the
schema is the one ``adapters/tables.py`` declares, and a cell of a calendar is held by one booking only."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect
from sqlalchemy.exc import IntegrityError

from afo_common.db import Database, migrate
from afo_testkit.clock import T0
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server
from afo_workflow_executor.adapters.tables import booking_cells, metadata


def drift(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata))


def names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_reach_head_match_the_tables_and_hold_a_cell_once(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_workflow_executor.migrations")
        await migrate(db, "afo_workflow_executor.migrations")
        async with db.engine.connect() as connection:
            assert {"calendars", "bookings", "booking_cells", "outbox"} <= await connection.run_sync(names)
            assert await connection.run_sync(drift) == []
        cell = {"calendar_id": "cal_1", "cell_start": T0, "tenant_id": "t"}
        async with db.engine.begin() as connection:
            await connection.execute(insert(booking_cells).values(**cell, booking_id="mtg_1"))
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as connection:
                await connection.execute(insert(booking_cells).values(**cell, booking_id="mtg_2"))
    finally:
        await db.dispose()
