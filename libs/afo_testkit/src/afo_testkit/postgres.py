"""Throwaway PostgreSQL databases for tests.

The server comes from ``AFO_TEST_POSTGRES_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/
postgres``, trust auth). ``PostgresDatabases.open()`` tells whether it answers (tests skip with the reason
when it does not); each ``create()`` makes ``afo_test_<random>`` and ``close()`` drops them all.

``migrated(package)`` is a new database at a service's head: the first one per package is migrated and kept as
a template, each later one is copied from it (``CREATE DATABASE … TEMPLATE``, tens of milliseconds where
migrating takes hundreds).

Pytest fixtures: ``database_url`` is an empty database of each backend in turn (a SQLite file, then a
throwaway PostgreSQL database); import it and ``postgres_server`` into a ``conftest.py`` to use it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from afo_common.db import Database, migrate

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ENV_VAR = "AFO_TEST_POSTGRES_URL"
MIN_DROP_CONCURRENCY = 4
# Connections a session's final drops leave to everyone else: the other test worker's tests still running.
CONNECTIONS_LEFT_TO_OTHERS = 30


class PostgresUnavailable(Exception):
    """No PostgreSQL answers at the configured URL; the message says which and why."""


def server_url() -> URL:
    return make_url(os.environ.get(ENV_VAR) or DEFAULT_URL).set(drivername="postgresql+asyncpg")


@asynccontextmanager
async def _admin(url: URL) -> AsyncIterator[AsyncConnection]:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


@dataclass
class PostgresDatabases:
    """Creates databases on one server for the length of a test session, then drops them."""

    url: URL
    created: list[str] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls) -> PostgresDatabases:
        """Check the server answers (synchronously, before any test's event loop exists)."""
        url = server_url()

        async def ping() -> None:
            async with _admin(url) as connection:
                await connection.execute(text("SELECT 1"))

        try:
            asyncio.run(ping())
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            where = url.render_as_string(hide_password=True)
            raise PostgresUnavailable(f"no PostgreSQL at {where} (set {ENV_VAR}): {exc!r}") from exc
        return cls(url)

    async def create(self, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template``; returns its SQLAlchemy asyncpg URL."""
        name = f"afo_test_{secrets.token_hex(6)}"
        copied = f' TEMPLATE "{template}"' if template else ""
        async with _admin(self.url) as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
        self.created.append(name)
        return self._url_of(name)

    async def migrated(self, migrations_package: str) -> str:
        """A new database at the head of ``migrations_package``, copied from this session's template of it."""
        if migrations_package not in self.templates:
            url = await self.create()
            database = Database(url)
            try:
                await migrate(database, migrations_package)
            finally:
                await database.dispose()  # a template is copied only while no one is connected to it
            self.templates[migrations_package] = make_url(url).database or ""
        return await self.create(template=self.templates[migrations_package])

    def _url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop every database this object created (``WITH (FORCE)`` ends leftover connections)."""

        async def drop(name: str, slots: asyncio.Semaphore) -> None:
            async with slots, _admin(self.url) as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        async def drop_all() -> None:
            # Side by side, as many as the server has connections to spare: each drop waits on a checkpoint, which
            # the drops waiting at that moment share (a worker of a test session makes hundreds; measured here,
            # 100 of them took 21.6 s eight at a time, 1.7 s all at once).
            async with _admin(self.url) as connection:
                spare = (await connection.execute(text(
                    "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity"))).scalar_one()
            slots = asyncio.Semaphore(max(MIN_DROP_CONCURRENCY, spare - CONNECTIONS_LEFT_TO_OTHERS))
            await asyncio.gather(*(drop(name, slots) for name in self.created))

        if self.created:
            asyncio.run(drop_all())
            self.created.clear()
            self.templates.clear()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresDatabases | str]:
    """The server's database factory, or why there is none; every database it made is dropped at the end."""
    try:
        databases = PostgresDatabases.open()
    except PostgresUnavailable as exc:
        yield str(exc)
        return
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path,
                       postgres_server: PostgresDatabases | str) -> str:
    """An empty database of the parametrized backend; the PostgreSQL case skips, saying why, without one."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    if isinstance(postgres_server, str):
        pytest.skip(postgres_server)
    return await postgres_server.create()
