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
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_random_exponential

from afo_common.db import Database, migrate

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ENV_VAR = "AFO_TEST_POSTGRES_URL"
MIN_DROP_CONCURRENCY = 4
# Connections a session's final drops leave to everyone else: the other test workers' tests still running.
CONNECTIONS_LEFT_TO_OTHERS = 30
TOO_MANY_CONNECTIONS = "53300"
DROP_RETRY_S = 60.0


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
            # Another worker's drops can still fill the server for a moment: wait for a connection to free up.
            async with slots:
                async for attempt in AsyncRetrying(retry=retry_if_exception(_too_many_connections),
                                                   wait=wait_random_exponential(multiplier=0.1, max=2.0),
                                                   stop=stop_after_delay(DROP_RETRY_S), reraise=True):
                    with attempt:
                        async with _admin(self.url) as connection:
                            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        async def drop_all() -> None:
            # Side by side, as many as the server has connections to spare: each drop waits on a checkpoint, which
            # the drops waiting at that moment share (a worker of a test session makes hundreds; measured here on
            # PostgreSQL 15, 120 of them took 25.8 s eight at a time, 21.6 s twenty, 11.3 s sixty).
            async with _admin(self.url) as connection:
                spare = (await connection.execute(text(
                    "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity"))).scalar_one()
            # Test workers often end together, each seeing the same spare connections: each takes its share.
            workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
            share = (spare - CONNECTIONS_LEFT_TO_OTHERS) // workers
            slots = asyncio.Semaphore(max(MIN_DROP_CONCURRENCY, share))
            await asyncio.gather(*(drop(name, slots) for name in self.created))

        if self.created:
            asyncio.run(drop_all())
            self.created.clear()
            self.templates.clear()


def _too_many_connections(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == TOO_MANY_CONNECTIONS


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
