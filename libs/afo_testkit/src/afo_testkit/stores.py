"""What a test of handlers needs from a real store, on SQLite or PostgreSQL: a database migrated to head and
the events its units of work committed. (The in-memory stores are each service's own.)"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from afo_common.db import Database, migrate
from afo_common.events import Envelope, parse_envelope
from afo_common.messaging.tables import MessagingTables
from afo_testkit.postgres import PostgresDatabases

BACKENDS = ("memory", "sqlite", "postgres")
SQL_BACKENDS = ("sqlite", "postgres")


# A migrated SQLite file per migrations package, made once per test process and copied for each test.
_sqlite_templates: dict[str, Path] = {}


async def migrated_database(backend: str, tmp_path: Path, postgres_server: PostgresDatabases | str,
                            migrations_package: str) -> Database:
    """A new database of ``backend`` ("sqlite" or "postgres") at head, copied from one migrated once per test
    process (a test that migrates, step by step, calls ``afo_common.db.migrate`` on an empty database itself);
    the PostgreSQL case skips, saying why, when no server answers."""
    if backend == "sqlite":
        path = tmp_path / "store.db"
        await migrated_sqlite(path, migrations_package)
        return Database(f"sqlite+aiosqlite:///{path}")
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    return Database(await postgres_server.migrated(migrations_package))


async def migrated_sqlite(path: Path, migrations_package: str) -> None:
    """Write a SQLite database at the head of ``migrations_package`` to ``path``."""
    template = _sqlite_templates.get(migrations_package)
    if template is None:
        folder = tempfile.mkdtemp(prefix="afo-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = Path(folder) / f"{migrations_package}.db"
        database = Database(f"sqlite+aiosqlite:///{template}")
        try:
            await migrate(database, migrations_package)
        finally:
            await database.dispose()
        _sqlite_templates[migrations_package] = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


async def committed_events(database: Database, tables: MessagingTables) -> list[Envelope]:
    """Every event committed to the outbox so far, in order."""
    async with database.session() as session:
        rows = (await session.execute(select(tables.outbox.c.payload).order_by(tables.outbox.c.seq))).all()
    return [parse_envelope(row.payload)[0] for row in rows]
