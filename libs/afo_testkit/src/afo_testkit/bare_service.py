"""Checks every service passes before its capability lands: it migrates its own store, becomes ready,
answers its health RPC and consumes nothing. A service's tests subclass ``BareServiceChecks``:

    class TestNotifier(BareServiceChecks):
        service_name = "notifier"
        build = staticmethod(build)
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from afo_common.db import new_metadata
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_common.messaging.streams import ensure_streams
from afo_common.messaging.tables import messaging_tables
from afo_common.rpcs.health import HEALTH, HealthReply, HealthRequest
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_testkit.nats import NatsServer, nats_server


def _http(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http), base_url="http://service.test")


def _read_store(store: Path) -> tuple[set[str], dict[str, set[str]], str]:
    """The tables of a SQLite file, the columns of the messaging tables, and the Alembic revision."""
    with sqlite3.connect(store) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                   for table in ("outbox", "inbox")}
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return tables, columns, revision


def _stores_in(home: Path) -> list[str]:
    return sorted(p.name for p in home.glob("*.db"))


class BareServiceChecks:
    service_name: str
    build: Callable[[ServiceSettings], Service]

    @pytest.fixture
    async def nats(self, tmp_path: Path) -> AsyncIterator[NatsServer]:
        async with nats_server(tmp_path) as server:
            yield server

    @pytest.fixture
    async def client(self, nats: NatsServer) -> AsyncIterator[NatsConnection]:
        """Another process's view of NATS, with the platform's streams provisioned as ``afo up`` does."""
        connection = NatsConnection(nats.url, "test-client")
        await connection.connect()
        await ensure_streams(connection.js)
        yield connection
        await connection.close()

    @pytest.fixture
    def home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        # The service's database location must come from its home, not from the machine's environment.
        monkeypatch.delenv(f"AFO_{self.service_name.upper().replace('-', '_')}_DATABASE_URL", raising=False)
        return tmp_path / "home"

    @pytest.fixture
    def service(self, home: Path, nats: NatsServer) -> Service:
        return self.build(ServiceSettings.for_service(self.service_name, home=home, nats_url=nats.url,
                                                      http_port=0, drain_timeout_s=5.0))

    @pytest.fixture
    async def running(self, service: Service, client: NatsConnection) -> AsyncIterator[Service]:
        async with service.http.router.lifespan_context(service.http):
            yield service

    async def test_it_is_not_ready_before_it_starts(self, service: Service) -> None:
        async with _http(service) as api:
            response = await api.get("/readyz")

        assert response.status_code == 503
        assert response.json() == {"ready": False, "service": self.service_name}

    async def test_it_migrates_its_own_sqlite_store_under_its_home(self, running: Service, home: Path) -> None:
        store = home / f"{self.service_name}.db"
        assert running.settings.database_url == f"sqlite+aiosqlite:///{store}"

        tables, columns, revision = _read_store(store)

        expected = messaging_tables(new_metadata())
        assert {"outbox", "outbox_dead_letters", "inbox", "alembic_version"} <= tables
        assert columns["outbox"] == {column.name for column in expected.outbox.columns}
        assert columns["inbox"] == {column.name for column in expected.inbox.columns}
        assert revision
        # No other service's store: each service owns its database.
        assert _stores_in(home) == [f"{self.service_name}.db"]

    async def test_it_is_ready_and_healthy_once_started(self, running: Service) -> None:
        async with _http(running) as api:
            ready = await api.get("/readyz")
            healthy = await api.get("/healthz")

        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "service": self.service_name}
        assert healthy.json() == {"status": "ok", "service": self.service_name}

    async def test_it_answers_its_health_rpc(self, running: Service, client: NatsConnection) -> None:
        reply = await RpcClient(client, timeout_s=5.0).call(HEALTH[self.service_name], HealthRequest())

        assert isinstance(reply, HealthReply)
        assert (reply.service, reply.ready) == (self.service_name, True)
        assert reply.version == running.version

    async def test_it_subscribes_to_no_jetstream_consumer(self, running: Service, client: NatsConnection) -> None:
        streams = [str(info.config.name) for info in await client.js.streams_info()]
        assert streams  # the platform's streams exist, so a consumer would have somewhere to be

        consumers = {stream: [c.name for c in await client.js.consumers_info(stream)] for stream in streams}

        assert consumers == {stream: [] for stream in streams}
