from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from afo_common.messaging.connection import NatsConnection
from afo_testkit.nats import NatsServer, nats_server
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server


@pytest.fixture
async def nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A nats-server of this test's own (JetStream on, temporary store, free port)."""
    async with nats_server(tmp_path) as server:
        yield server


@pytest.fixture
async def connection(nats: NatsServer) -> AsyncIterator[NatsConnection]:
    conn = NatsConnection(nats.url, "afo-common-tests")
    await conn.connect()
    yield conn
    await conn.close()

