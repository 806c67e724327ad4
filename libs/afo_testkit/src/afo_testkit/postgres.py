"""Throwaway PostgreSQL databases for tests.

The server comes from ``AFO_TEST_POSTGRES_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/
postgres``, trust auth). ``PostgresDatabases.open()`` tells whether it answers (tests skip with the reason
when it does not); each ``create()`` makes ``afo_test_<random>`` and ``close()`` drops them all.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ENV_VAR = "AFO_TEST_POSTGRES_URL"


class PostgresUnavailable(Exception):
    """No PostgreSQL answers at the configured URL; the message says which and why."""


def server_url() -> URL:
    return make_url(os.environ.get(ENV_VAR) or DEFAULT_URL).set(drivername="postgresql+asyncpg")


async def _admin(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
        timeout=5,
    )


@dataclass
class PostgresDatabases:
    """Creates databases on one server for the length of a test session, then drops them."""

    url: URL
    created: list[str] = field(default_factory=list)

    @classmethod
    def open(cls) -> PostgresDatabases:
        """Check the server answers (synchronously, before any test's event loop exists)."""
        url = server_url()

        async def ping() -> None:
            connection = await _admin(url)
            await connection.close()

        try:
            asyncio.run(ping())
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            where = url.render_as_string(hide_password=True)
            raise PostgresUnavailable(f"no PostgreSQL at {where} (set {ENV_VAR}): {exc!r}") from exc
        return cls(url)

    async def create(self) -> str:
        """A new empty database; returns its SQLAlchemy asyncpg URL."""
        name = f"afo_test_{secrets.token_hex(6)}"
        connection = await _admin(self.url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        """Drop every database this object created (``WITH (FORCE)`` ends leftover connections)."""

        async def drop_all() -> None:
            connection = await _admin(self.url)
            try:
                for name in self.created:
                    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()

        if self.created:
            asyncio.run(drop_all())
            self.created.clear()
