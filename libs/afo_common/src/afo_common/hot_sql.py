"""The statements every message runs, on the database driver itself.

SQLAlchemy stays the schema's home (tables, Alembic migrations) and serves every other query; but its
execution layer costs far more than the statements (``make bench-db``, on the 2-core machine, an insert,
an update, a select and a commit: 1.36 ms of CPU through SQLAlchemy's asyncio layer and aiosqlite, 0.014 ms
through ``sqlite3``; 1.32 ms through SQLAlchemy on asyncpg, 0.31 ms on asyncpg alone). A chat turn runs
about ten statements, so the few on the path of every message are written here once, in PostgreSQL's
``$n`` style, and run:

- on SQLite through one ``sqlite3`` connection on the event loop's thread: a statement takes tens of
  microseconds and a commit in WAL mode with ``synchronous=NORMAL`` does not wait for the disk, so there is
  nothing to gain from a worker thread and much to lose (a thread hop costs more than the statement).
  Writers take the database's write lock, as SQLAlchemy's do, so the two never collide. The connection
  does not checkpoint the WAL by itself; ``checkpoint`` does it from a worker thread;
- on PostgreSQL through an asyncpg pool.

Values cross as the drivers and SQLAlchemy's own types agree: times as aware UTC datetimes (on SQLite in
the text form SQLAlchemy stores), JSON as Python values (encoded here for SQLite, by a codec on
PostgreSQL), booleans and bytes as they are."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url

_PLACEHOLDER = re.compile(r"\$(\d+)")


class IntegrityError(Exception):
    """A constraint refused the write (a unique key taken, say), whichever driver ran it."""


class Sql:
    """One statement, written with ``$1``, ``$2``… in order, each used once (so SQLite's ``?`` can follow)."""

    def __init__(self, text: str) -> None:
        numbers = [int(n) for n in _PLACEHOLDER.findall(text)]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"placeholders must be $1..$n in order, each once: {text}")
        self.postgresql = text
        self.sqlite = _PLACEHOLDER.sub("?", text)


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...


class HotTransaction(Protocol):
    async def execute(self, sql: Sql, *params: Any) -> int:
        """Run a statement; how many rows it changed."""

    async def executemany(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchrow(self, sql: Sql, *params: Any) -> Row | None: ...

    async def fetch(self, sql: Sql, *params: Any) -> list[Row]: ...

    def time(self, value: datetime) -> Any:
        """A timestamp as this driver stores it."""

    def read_time(self, value: Any) -> datetime:
        """A stored timestamp as an aware UTC datetime."""

    def json(self, value: Any) -> Any:
        """A value for a JSON column."""

    def read_json(self, value: Any) -> Any: ...


def _naive_utc(value: datetime) -> datetime:
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).replace(tzinfo=None)


class _SqliteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: Sql, *params: Any) -> int:
        try:
            return self._connection.execute(sql.sqlite, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def executemany(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._connection.executemany(sql.sqlite, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetchrow(self, sql: Sql, *params: Any) -> Row | None:
        row: Row | None = self._connection.execute(sql.sqlite, params).fetchone()
        return row

    async def fetch(self, sql: Sql, *params: Any) -> list[Row]:
        return list(self._connection.execute(sql.sqlite, params).fetchall())

    def time(self, value: datetime) -> Any:
        # SQLAlchemy's DateTime on SQLite: naive UTC in this exact text form, so both read what the other wrote.
        return _naive_utc(value).isoformat(sep=" ", timespec="microseconds")

    def read_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def json(self, value: Any) -> Any:
        return json.dumps(value)

    def read_json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value


class _PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: Sql, *params: Any) -> int:
        try:
            status: str = await self._connection.execute(sql.postgresql, *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def executemany(self, sql: Sql, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._connection.executemany(sql.postgresql, rows)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetchrow(self, sql: Sql, *params: Any) -> Row | None:
        row: Row | None = await self._connection.fetchrow(sql.postgresql, *params)
        return row

    async def fetch(self, sql: Sql, *params: Any) -> list[Row]:
        return list(await self._connection.fetch(sql.postgresql, *params))

    def time(self, value: datetime) -> Any:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def read_time(self, value: Any) -> datetime:
        moment: datetime = value
        return moment.astimezone(UTC)

    def json(self, value: Any) -> Any:
        return value

    def read_json(self, value: Any) -> Any:
        return value


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Nothing to undo on release: these statements never LISTEN, SET, lock by advisory lock or leave a
    cursor open, and asyncpg's default reset is one more round trip on every release."""


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class HotDatabase:
    """The driver-level connections of one service's database, opened at start and closed at stop."""

    def __init__(self, url: str, write_lock: asyncio.Lock | None) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._url = parsed
        self._write_lock = write_lock
        self._sqlite: sqlite3.Connection | None = None
        # Reads have a connection of their own: on the writer's they would see a transaction in progress.
        self._sqlite_reader: sqlite3.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> None:
        """On first use, so that whoever holds the Database (a service, a test) need not open it."""
        async with self._opening:
            if self._sqlite is not None or self._pool is not None:
                return
            await self._connect()

    async def _connect(self) -> None:
        if self.dialect == "sqlite":
            self._sqlite = self._sqlite_connect(read_only=False)
            self._sqlite_reader = self._sqlite_connect(read_only=True)
        else:
            dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, init=_json_codecs,
                                                   reset=_keep_session)

    def _sqlite_connect(self, *, read_only: bool) -> sqlite3.Connection:
        path = self._url.database or ":memory:"
        if read_only:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            connection = sqlite3.connect(path, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            # A checkpoint waits for the disk: never on the event loop (see checkpoint()).
            connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    async def close(self) -> None:
        for connection in (self._sqlite_reader, self._sqlite):
            if connection is not None:
                connection.close()
        self._sqlite = self._sqlite_reader = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[HotTransaction]:
        pool = await self._postgres()
        if pool is not None:
            async with pool.acquire() as connection, connection.transaction():
                yield _PostgresTransaction(connection)
            return
        connection = self._sqlite_connection()
        assert self._write_lock is not None
        async with self._write_lock:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[HotTransaction]:
        """Reads of committed data, each statement on its own."""
        pool = await self._postgres()
        if pool is not None:
            async with pool.acquire() as connection:
                yield _PostgresTransaction(connection)
            return
        assert self._sqlite_reader is not None
        yield _SqliteTransaction(self._sqlite_reader)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[HotTransaction]:
        """Statements that each commit on their own (one round trip where a transaction takes three)."""
        pool = await self._postgres()
        if pool is not None:
            async with pool.acquire() as connection:
                yield _PostgresTransaction(connection)
            return
        assert self._write_lock is not None
        async with self._write_lock:
            yield _SqliteTransaction(self._sqlite_connection())

    async def _postgres(self) -> asyncpg.Pool | None:
        """The pool on PostgreSQL, None on SQLite; either way the connections are open once this returns."""
        if self._sqlite is None and self._pool is None:
            await self._open()
        return self._pool

    async def checkpoint(self) -> None:
        """Move the SQLite write-ahead log into the database file, from a worker thread."""
        if self.dialect != "sqlite":
            return
        path = self._url.database or ":memory:"

        def run() -> None:
            connection = sqlite3.connect(path)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()

        await asyncio.to_thread(run)

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            raise RuntimeError("the hot database is not open")
        return self._sqlite
