"""Gateway handler tests take a ``store``: the in-memory repositories (``adapters/memory.py``), a SQLite file,
then a throwaway PostgreSQL database (skipped, saying why, when none answers at AFO_TEST_POSTGRES_URL), so a
fake that answers differently from the database fails the same test. Tests that look at the tables
themselves take ``db`` and ``uow`` (both databases). HTTP tests run gateway replicas built by the composition
root, in-process, on a throwaway nats-server (``gateways``)."""

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from pydantic import BaseModel

from afo_common.db import Database
from afo_common.events import Envelope
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcOperation
from afo_common.messaging.streams import ensure_streams
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.gateway_operators import ADD_OPERATOR, AddOperator
from afo_common.service import Service
from afo_gateway.adapters.memory import memory_store
from afo_gateway.adapters.store import sql_store
from afo_gateway.adapters.tables import messaging
from afo_gateway.app import build
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import SteppingClock
from afo_testkit.nats import NatsServer, nats_server
from afo_testkit.passwords import CHEAP_PASSWORD_HASHING
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import database_url as database_url
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, SQL_BACKENDS, committed_events, migrated_database, migrated_sqlite

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@pytest.fixture(params=SQL_BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             postgres_server: PostgresDatabases | str) -> AsyncIterator[Database]:
    """The gateway's database, migrated to head."""
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_gateway.migrations")
    yield database
    await database.dispose()


@pytest.fixture
def uow(db: Database) -> UnitOfWorkFactory:
    """Units of work as the gateway opens them, without an outbox relay to wake."""
    return UnitOfWorkFactory(db, messaging, "gateway", on_commit=lambda: None)


Committed = Callable[[], Awaitable[list[Envelope]]]


@dataclass
class Backend:
    store: Store
    committed: Committed


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path,
                  postgres_server: PostgresDatabases | str) -> AsyncIterator[Backend]:
    if request.param == "memory":
        memory = memory_store()

        async def memory_events() -> list[Envelope]:
            return list(memory.outbox)

        yield Backend(memory, memory_events)
        return
    database = await migrated_database(request.param, tmp_path, postgres_server, "afo_gateway.migrations")

    async def outbox_events() -> list[Envelope]:
        return await committed_events(database, messaging)

    try:
        yield Backend(sql_store(UnitOfWorkFactory(database, messaging, "gateway", lambda: None)), outbox_events)
    finally:
        await database.dispose()


@pytest.fixture
def store(backend: Backend) -> Store:
    """The repositories the handlers take, on each backend in turn."""
    return backend.store


@pytest.fixture
def committed(backend: Backend) -> Committed:
    """Every event the store committed so far (its outbox), in order."""
    return backend.committed


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def nats(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """A throwaway nats-server with the platform's streams, as ``afo up`` provisions them."""
    async with nats_server(tmp_path) as server:
        connection = NatsConnection(server.url, "test-provisioning")
        await connection.connect()
        await ensure_streams(connection.js)
        await connection.close()
        yield server


@pytest.fixture
async def connection(nats: NatsServer) -> AsyncIterator[NatsConnection]:
    """A plain NATS connection to the test's nats-server, for a stand-in on the other side of an RPC."""
    conn = NatsConnection(nats.url, "gateway-test")
    await conn.connect()
    yield conn
    await conn.close()


PASSWORD = "correct horse battery"
# The vault key of the gateways tests start (``AFO_VAULT_KEY``).
VAULT_KEY = "t1:" + base64.b64encode(bytes(range(32))).decode()


@dataclass(frozen=True)
class Owner:
    tenant_id: str
    email: str
    secret: str
    signed_at: datetime

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}



class Gateways:
    """Gateway replicas built by the composition root (``build()``) from the environment, as ``afo up``
    starts them, each run with its lifespan on one NATS and one database; ``client`` talks to one of them
    in-process from a chosen client address."""

    password = PASSWORD

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def start(self) -> Service:
        service = build()
        await self._stack.enter_async_context(service.http.router.lifespan_context(service.http))
        return service

    async def client(self, service: Service, address: str = "203.0.113.10",
                     headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=service.http, client=(address, 40000))
        return await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://gateway.test", headers=headers)
        )

    async def sign_up(self, client: httpx.AsyncClient, email: str | None = None) -> Owner:
        email = email or f"owner+{secrets.token_hex(4)}@example.com"
        response = await client.post("/v1/signup", json={"email": email, "password": PASSWORD, "company": "Acme"})
        assert response.status_code == 201, response.text
        body = response.json()
        return Owner(body["tenant"]["id"], email, body["api_key"]["secret"], datetime.now(UTC))

    async def login(self, service: Service, email: str, address: str = "203.0.113.10",
                    password: str = PASSWORD) -> httpx.AsyncClient:
        """A client holding the session cookie of ``email``."""
        client = await self.client(service, address)
        response = await client.post("/v1/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return client

    async def operator(self, service: Service, email: str = "ops@example.com") -> httpx.AsyncClient:
        """A client holding the session of a new operator, added as ``afo operator add`` adds one: the gateway's
        RPC, over NATS."""
        added = await self.operator_rpc(service, ADD_OPERATOR, AddOperator(email=email))
        return await self.login(service, added.operator.email, password=added.password)

    @staticmethod
    async def operator_rpc(service: Service, op: RpcOperation[Req, Res], request: Req) -> Res:
        """The gateway's operators' RPC, asked the moment it started (the client asks again while nats-server
        still reports no responders for the new subscription: ``RpcClient._request``)."""
        return await service.rpc.call(op, request)


@pytest.fixture
async def gateways(tmp_path: Path, nats: NatsServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateways]:
    monkeypatch.setenv("AFO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AFO_NATS_URL", nats.url)
    monkeypatch.setenv("AFO_DRAIN_TIMEOUT_S", "5")
    monkeypatch.delenv("AFO_GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.setenv("AFO_VAULT_KEY", VAULT_KEY)
    # Unlimited unless a test puts its tenant on another plan: plans are tested on their own.
    monkeypatch.setenv("AFO_DEFAULT_PLAN", "enterprise")
    for name, value in CHEAP_PASSWORD_HASHING.items():
        monkeypatch.setenv(name, value)
    # Where the gateway's default database lies, already migrated: its start finds nothing to do.
    await migrated_sqlite(tmp_path / "home" / "gateway.db", "afo_gateway.migrations")
    async with AsyncExitStack() as stack:
        yield Gateways(stack)


@pytest.fixture
async def draining() -> asyncio.Event:
    """Set when the gateway begins to drain (what ``Service.draining`` is)."""
    return asyncio.Event()


@pytest.fixture
async def streams(draining: asyncio.Event) -> AsyncIterator[LiveStreams]:
    """The registry of open live streams and feeds, started (its keep-alive task) and stopped around a test."""
    registry = LiveStreams(draining)
    await registry.start()
    yield registry
    await registry.stop()
