"""What a test of handlers needs from a real store, on SQLite or PostgreSQL: a database migrated to head and
the events its units of work committed. (The in-memory stores are each service's own.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from afo_common.db import Database, migrate
from afo_common.events import Envelope, parse_envelope
from afo_common.messaging.tables import MessagingTables
from afo_testkit.postgres import PostgresDatabases

BACKENDS = ("memory", "sqlite", "postgres")


async def migrated_database(backend: str, tmp_path: Path, postgres_server: PostgresDatabases | str,
                            migrations_package: str) -> Database:
    """A new database of ``backend`` ("sqlite" or "postgres") at head; the PostgreSQL case skips, saying
    why, when no server answers."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    elif isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    else:
        url = await postgres_server.create()
    database = Database(url)
    await migrate(database, migrations_package)
    return database


async def committed_events(database: Database, tables: MessagingTables) -> list[Envelope]:
    """Every event committed to the outbox so far, in order."""
    async with database.session() as session:
        rows = (await session.execute(select(tables.outbox.c.payload).order_by(tables.outbox.c.seq))).all()
    return [parse_envelope(row.payload)[0] for row in rows]
