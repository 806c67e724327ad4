"""The hot path's statements on the drivers themselves, on SQLite and PostgreSQL: what they write reads back
the same through SQLAlchemy and the other way round (times, JSON, booleans, bytes), a failed transaction
leaves nothing, and SQLite's writers share the database's write lock with SQLAlchemy's."""

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, LargeBinary, String, Table, insert, select

from afo_common.db import Database, UtcDateTime, new_metadata
from afo_common.hot_sql import IntegrityError, Sql

metadata = new_metadata()
things = Table(
    "things", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("blob", LargeBinary, nullable=False),
)
INSERT = Sql("INSERT INTO things (id, name, at, facts, flag, blob) VALUES ($1, $2, $3, $4, $5, $6)")
ONE = Sql("SELECT name, at, facts, flag, blob FROM things WHERE id = $1")
RENAME = Sql("UPDATE things SET name = $1 WHERE name = $2")
AT = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_what_the_driver_writes_sqlalchemy_reads_back_the_same(db: Database) -> None:
    async with db.hot.transaction() as tx:
        await tx.execute(INSERT, 1, "dana", tx.time(AT), tx.json({"email": "dana@acme.example"}), True, b"\x00\x01")

    async with db.session() as session:
        row = (await session.execute(select(things).where(things.c.id == 1))).one()

    assert (row.name, row.at, row.facts, row.flag, row.blob) == (
        "dana", AT.astimezone(UTC), {"email": "dana@acme.example"}, True, b"\x00\x01")


async def test_what_sqlalchemy_writes_the_driver_reads_back_the_same(db: Database) -> None:
    async with db.write_lock(), db.session() as session, session.begin():
        await session.execute(insert(things).values(id=2, name="lee", at=AT, facts=["a", 1], flag=False, blob=b"x"))

    async with db.hot.read() as tx:
        row = await tx.fetchrow(ONE, 2)

    assert row is not None
    assert (row["name"], tx.read_time(row["at"]), tx.read_json(row["facts"]), bool(row["flag"]), bytes(row["blob"])) \
        == ("lee", AT.astimezone(UTC), ["a", 1], False, b"x")


async def test_a_failed_transaction_leaves_nothing_and_rowcounts_are_counts(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.hot.transaction() as tx:
            await tx.execute(INSERT, 3, "kim", tx.time(AT), tx.json({}), True, b"")
            raise RuntimeError("the outbox write failed")
    async with db.hot.transaction() as tx:
        await tx.executemany(INSERT, [(4, "a", tx.time(AT), tx.json({}), True, b""),
                                      (5, "a", tx.time(AT), tx.json({}), True, b"")])
        renamed = await tx.execute(RENAME, "b", "a")
        none = await tx.execute(RENAME, "c", "nobody")

    async with db.hot.read() as tx:
        assert await tx.fetchrow(ONE, 3) is None
        assert [row["name"] for row in await tx.fetch(Sql("SELECT name FROM things ORDER BY id"))] == ["b", "b"]
    assert (renamed, none) == (2, 0)


async def test_sqlite_writers_take_turns_with_sqlalchemys(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    order: list[str] = []

    async def sqlalchemy_writer() -> None:
        async with db.write_lock(), db.session() as session, session.begin():
            order.append("sqlalchemy begins")
            await session.execute(insert(things).values(id=6, name="s", at=AT, facts={}, flag=True, blob=b""))
            await asyncio.sleep(0.05)
            order.append("sqlalchemy commits")

    async def hot_writer() -> None:
        await asyncio.sleep(0.01)
        async with db.hot.transaction() as tx:
            order.append("hot writes")
            await tx.execute(INSERT, 7, "h", tx.time(AT), tx.json({}), True, b"")

    try:
        await asyncio.gather(sqlalchemy_writer(), hot_writer())
    finally:
        await db.dispose()

    assert order == ["sqlalchemy begins", "sqlalchemy commits", "hot writes"]


def test_placeholders_are_numbered_in_order_once_each() -> None:
    assert Sql("SELECT $1, $2").sqlite == "SELECT ?, ?"
    for bad in ("SELECT $2, $1", "SELECT $1, $1", "SELECT $1, $3"):
        with pytest.raises(ValueError, match="in order"):
            Sql(bad)


async def test_sqlite_writes_reach_the_database_file_at_the_checkpoint_not_on_the_event_loop(
    tmp_path: Path
) -> None:
    """The hot connection never checkpoints by itself (that waits for the disk), not even past SQLite's
    usual 1000 pages; checkpoint() does it from a worker thread. Until then the rows live in the log only."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        await database.hot.checkpoint()  # the table itself into the file
        async with database.hot.transaction() as tx:
            await tx.executemany(INSERT, [(n, "n", tx.time(AT), tx.json({}), True, b"x" * 1024) for n in range(6000)])

        def rows_in_the_file_alone() -> int:
            shutil.copy(tmp_path / "svc.db", tmp_path / "copy.db")
            with closing(sqlite3.connect(tmp_path / "copy.db")) as copy:
                return int(copy.execute("SELECT count(*) FROM things").fetchone()[0])

        before = rows_in_the_file_alone()
        await database.hot.checkpoint()
        after = rows_in_the_file_alone()
    finally:
        await database.dispose()

    assert (before, after) == (0, 6000)


async def test_a_read_sees_only_committed_rows_even_while_a_write_is_open(db: Database) -> None:
    async with db.hot.transaction() as tx:
        await tx.execute(INSERT, 9, "pending", tx.time(AT), tx.json({}), True, b"")
        async with db.hot.read() as reader:
            during = await reader.fetchrow(ONE, 9)
    async with db.hot.read() as reader:
        after = await reader.fetchrow(ONE, 9)

    assert during is None
    assert after is not None and after["name"] == "pending"


async def test_autocommit_statements_commit_each_on_their_own(db: Database) -> None:
    async with db.hot.autocommit() as tx:
        await tx.execute(INSERT, 10, "a", tx.time(AT), tx.json({}), True, b"")
        with pytest.raises(IntegrityError):
            await tx.execute(INSERT, 10, "again", tx.time(AT), tx.json({}), True, b"")

    async with db.hot.read() as reader:
        row = await reader.fetchrow(ONE, 10)
    assert row is not None and row["name"] == "a"
