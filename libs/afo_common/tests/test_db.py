from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, Table, insert, select, text
from sqlalchemy.exc import IntegrityError

from afo_common.db import Database, UtcDateTime, migrate, new_metadata

metadata = new_metadata()
stamps = Table("stamps", metadata, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'svc.db'}")
    yield database
    await database.dispose()


async def test_the_sqlite_file_and_its_directory_are_created_with_wal_and_foreign_keys(
    db: Database, tmp_path: Path
) -> None:
    async with db.engine.connect() as connection:
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()

    assert (journal, foreign_keys) == ("wal", 1)
    assert (tmp_path / "nested" / "svc.db").exists()


async def test_utc_datetimes_come_back_aware_and_in_utc(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    written = {
        1: datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        2: datetime(2025, 3, 1, 9, 31, tzinfo=UTC),
        3: datetime(2025, 3, 1, 9, 32),  # naive: taken as UTC
        4: None,
    }
    async with db.session() as session, session.begin():
        await session.execute(insert(stamps), [{"id": k, "at": v} for k, v in written.items()])

    async with db.session() as session:
        result = await session.execute(select(stamps.c.id, stamps.c.at).order_by(stamps.c.at))
        rows: dict[int, datetime | None] = {row.id: row.at for row in result}

    assert rows[1] == datetime(2025, 3, 1, 9, 30, tzinfo=UTC) and rows[1].tzinfo is UTC
    assert rows[2] == datetime(2025, 3, 1, 9, 31, tzinfo=UTC)
    assert rows[3] == datetime(2025, 3, 1, 9, 32, tzinfo=UTC)
    assert rows[4] is None
    assert [k for k in rows if rows[k] is not None] == [1, 2, 3]  # stored as UTC, so they sort by instant


async def test_migrations_reach_head_once_and_a_second_run_changes_nothing(db: Database) -> None:
    await migrate(db, "afo_testkit.migrations")
    await migrate(db, "afo_testkit.migrations")

    async with db.engine.connect() as connection:
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        tables = (await connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))).scalars().all()

    assert version == ["0002"]
    assert {"outbox", "outbox_dead_letters", "inbox"} <= set(tables)


async def test_a_failed_statement_does_not_carry_its_values_into_the_error(db: Database) -> None:
    """Errors end up in logs and dead-letter reasons: they must not hold message text or lead data."""
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(stamps).values(id=7, at=None))

    with pytest.raises(IntegrityError) as raised:
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO stamps (id, at) VALUES (:id, :at)"),
                                     {"id": 7, "at": "dana@acme.example"})

    assert "dana@acme.example" not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
