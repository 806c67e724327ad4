"""workflow-executor as it runs today: it migrates its own store, becomes ready, answers its health RPC and
consumes nothing (its capability, and with it its consumers, arrive with a later issue)."""

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_common.messaging.streams import ensure_streams
from afo_common.rpcs.health import HEALTH, HealthReply, HealthRequest
from afo_common.service import Service
from afo_common.settings import ServiceSettings
from afo_testkit.nats import NatsServer, nats_server
from afo_workflow_executor.app import build

SERVICE = "workflow-executor"


@pytest.fixture
async def nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with nats_server(tmp_path) as server:
        yield server


@pytest.fixture
async def client(nats: NatsServer) -> AsyncIterator[NatsConnection]:
    """Another process's view of NATS, with the platform's streams provisioned as ``afo up`` does."""
    connection = NatsConnection(nats.url, "test-client")
    await connection.connect()
    await ensure_streams(connection.js)
    yield connection
    await connection.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The service's database location must come from its home, not from the machine's environment.
    monkeypatch.delenv("AFO_WORKFLOW_EXECUTOR_DATABASE_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def service(home: Path, nats: NatsServer) -> Service:
    return build(ServiceSettings.for_service(SERVICE, home=home, nats_url=nats.url, http_port=0,
                                             drain_timeout_s=5.0))


@pytest.fixture
async def running(service: Service, client: NatsConnection) -> AsyncIterator[Service]:
    async with service.http.router.lifespan_context(service.http):
        yield service


def http(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http), base_url="http://service.test")


async def test_it_is_not_ready_before_it_starts(service: Service) -> None:
    async with http(service) as api:
        response = await api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"ready": False, "service": SERVICE}


def read_store(store: Path) -> tuple[set[str], dict[str, set[str]], str]:
    """The tables of a SQLite file, the columns of the messaging tables, and the Alembic revision."""
    with sqlite3.connect(store) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                   for table in ("outbox", "inbox")}
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return tables, columns, revision


def stores_in(home: Path) -> list[str]:
    return sorted(p.name for p in home.glob("*.db"))


async def test_it_migrates_its_own_sqlite_store_under_its_home(running: Service, home: Path) -> None:
    store = home / f"{SERVICE}.db"
    assert running.settings.database_url == f"sqlite+aiosqlite:///{store}"

    tables, columns, revision = read_store(store)

    assert {"outbox", "inbox", "alembic_version"} <= tables
    assert columns["outbox"] == {"seq", "event_id", "subject", "payload", "created_at"}
    assert columns["inbox"] == {"consumer", "event_id", "processed_at"}
    assert revision
    # No other service's store: each service owns its database.
    assert stores_in(home) == [f"{SERVICE}.db"]


async def test_it_is_ready_and_healthy_once_started(running: Service) -> None:
    async with http(running) as api:
        ready = await api.get("/readyz")
        healthy = await api.get("/healthz")

    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "service": SERVICE}
    assert healthy.json() == {"status": "ok", "service": SERVICE}


async def test_it_answers_its_health_rpc(running: Service, client: NatsConnection) -> None:
    reply = await RpcClient(client, timeout_s=5.0).call(HEALTH[SERVICE], HealthRequest())

    assert isinstance(reply, HealthReply)
    assert (reply.service, reply.ready) == (SERVICE, True)
    assert reply.version == running.version


async def test_it_subscribes_to_no_jetstream_consumer(running: Service, client: NatsConnection) -> None:
    streams = [str(info.config.name) for info in await client.js.streams_info()]
    assert streams  # the platform's streams exist, so a consumer would have somewhere to be

    consumers = {stream: [c.name for c in await client.js.consumers_info(stream)] for stream in streams}

    assert consumers == {stream: [] for stream in streams}
