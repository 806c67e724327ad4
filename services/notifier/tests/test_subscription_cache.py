"""The per-process cache of each tenant's webhook subscriptions: a miss reads the store, a hit does not; a
change, an expired entry, a reconnect and a load that raced with a change all read again. Then two replicas on
one store and a real nats-server: a subscription created on one is seen by the other once the broadcast
arrives (their entries live a minute here, so only the broadcast can explain it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from pathlib import Path

import pytest

from afo_common.clock import SystemClock
from afo_common.db import Database, migrate
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.outbox_relay import OutboxRelay
from afo_common.messaging.streams import ensure_streams
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs import notifier_webhooks as ops
from afo_notifier.adapters.store import sql_store
from afo_notifier.adapters.tables import messaging
from afo_notifier.entrypoints.subscription_changes import SubscriptionChanges
from afo_notifier.handlers.fanout import active_subscriptions
from afo_notifier.handlers.subscription_cache import SubscriptionCache, Wanted
from afo_notifier.handlers.subscriptions import Subscriptions
from afo_testkit.nats import nats_server

QUALIFIED, BOOKED = "afo.lead.qualified.v1", "afo.meeting.booked.v1"


class Table:
    """The store as the cache's loader sees it, counting reads; ``gate`` holds a read until released."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Wanted]] = {}
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def load(self, tenant_id: str) -> list[Wanted]:
        self.reads += 1
        found = list(self.rows.get(tenant_id, []))
        if self.gate is not None:
            await self.gate.wait()
        return found


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Table:
    table = Table()
    table.rows["ten_a"] = [Wanted("whk_1", ("lead.qualified",)), Wanted("whk_2", ("*",))]
    return table


async def test_a_miss_reads_the_store_and_a_hit_does_not(table: Table) -> None:
    cache = SubscriptionCache(table.load)
    assert await cache.wanted("ten_a", QUALIFIED) == ["whk_1", "whk_2"]
    assert await cache.wanted("ten_a", BOOKED) == ["whk_2"]
    assert await cache.wanted("ten_b", QUALIFIED) == []
    assert await cache.wanted("ten_b", BOOKED) == []
    assert table.reads == 2  # once per tenant


async def test_a_change_drops_the_tenants_entry_only(table: Table) -> None:
    cache = SubscriptionCache(table.load)
    await cache.wanted("ten_a", QUALIFIED)
    await cache.wanted("ten_b", QUALIFIED)
    table.rows["ten_b"] = [Wanted("whk_3", ("lead.qualified",))]

    cache.changed("ten_b")

    assert await cache.wanted("ten_b", QUALIFIED) == ["whk_3"]
    assert await cache.wanted("ten_a", QUALIFIED) == ["whk_1", "whk_2"]
    assert table.reads == 3


async def test_an_entry_expires_after_its_ttl(table: Table) -> None:
    clock = Clock()
    cache = SubscriptionCache(table.load, ttl_s=10, clock=clock)
    await cache.wanted("ten_a", QUALIFIED)
    clock.now = 9.9
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 1
    clock.now = 10.1
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 2


async def test_nothing_is_kept_without_a_listener_and_a_reconnect_forgets_everything(table: Table) -> None:
    epoch: list[Hashable | None] = [None]
    cache = SubscriptionCache(table.load, epoch=lambda: epoch[0])
    await cache.wanted("ten_a", QUALIFIED)
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 2  # not subscribed (or disconnected): every event reads

    epoch[0] = 0
    await cache.wanted("ten_a", QUALIFIED)
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 3
    epoch[0] = 1  # reconnected: broadcasts may have been missed meanwhile
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 4


async def test_a_load_that_raced_with_a_change_is_not_kept(table: Table) -> None:
    cache = SubscriptionCache(table.load)
    table.gate = asyncio.Event()
    loading = asyncio.create_task(cache.wanted("ten_b", QUALIFIED))
    await asyncio.sleep(0)
    # The read saw no subscription; one is created, and its broadcast arrives while the read is in flight.
    table.rows["ten_b"] = [Wanted("whk_3", ("lead.qualified",))]
    cache.changed("ten_b")
    table.gate.set()
    assert await loading == []
    table.gate = None

    assert await cache.wanted("ten_b", QUALIFIED) == ["whk_3"]  # read again, not the stale answer


async def test_the_least_recently_used_tenant_goes_first_beyond_the_limit(table: Table) -> None:
    cache = SubscriptionCache(table.load, max_tenants=2)
    for tenant in ("ten_a", "ten_b", "ten_a", "ten_c"):
        await cache.wanted(tenant, QUALIFIED)
    assert table.reads == 3
    await cache.wanted("ten_a", QUALIFIED)
    assert table.reads == 3
    await cache.wanted("ten_b", QUALIFIED)
    assert table.reads == 4


# -- two replicas on a real nats-server ----------------------------------------------------------------------
class Replica:
    def __init__(self, nats: NatsConnection, db: Database) -> None:
        self.nats = nats
        self.relay = OutboxRelay(db, nats, "notifier")
        self.store = sql_store(UnitOfWorkFactory(db, messaging, "notifier", self.relay.wake))
        self.cache = SubscriptionCache(active_subscriptions(self.store), ttl_s=60)
        self.changes = SubscriptionChanges(nats, self.cache)
        self.cache.set_epoch(self.changes.epoch)
        self.subscriptions = Subscriptions(self.store, SystemClock(), None, lambda: None, self.changes)


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[Replica, Replica]]:
    async with nats_server(tmp_path) as server:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}")
        await migrate(db, "afo_notifier.migrations")
        connections = [NatsConnection(server.url, f"replica-{n}") for n in range(2)]
        for connection in connections:
            await connection.connect()
        await ensure_streams(connections[0].js)
        pair = (Replica(connections[0], db), Replica(connections[1], db))
        for replica in pair:
            replica.relay.start()
            await replica.changes.start()
        try:
            yield pair
        finally:
            for replica in pair:
                await replica.changes.stop()
                await replica.relay.stop()
            for connection in connections:
                await connection.close()
            await db.dispose()


async def eventually_wanted(cache: SubscriptionCache, tenant: str, expected: list[str]) -> None:
    for _ in range(500):
        if await cache.wanted(tenant, QUALIFIED) == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the cache still answers {await cache.wanted(tenant, QUALIFIED)}, not {expected}")


async def test_a_subscription_created_on_one_replica_is_seen_by_the_other_after_the_broadcast(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    for replica in (a, b):  # both have the tenant cached: no subscription
        assert await replica.cache.wanted("ten_a", QUALIFIED) == []
        assert await replica.cache.wanted("ten_a", QUALIFIED) == []
    reads = (a.cache.loads, b.cache.loads)
    assert reads == (1, 1)

    created = await a.subscriptions.create(ops.CreateSubscription(
        tenant_id="ten_a", subscription=ops.SubscriptionBody(url="https://hooks.example.com/a",
                                                             events=["lead.qualified"])))

    # The replica that created it answered after its own broadcast came back: it reads again at once.
    assert await a.cache.wanted("ten_a", QUALIFIED) == [created.id]
    await eventually_wanted(b.cache, "ten_a", [created.id])
    assert b.cache.loads == 2  # read again once, because of the broadcast (entries live 60 s here)

    await b.subscriptions.delete(ops.SubscriptionRef(tenant_id="ten_a", subscription_id=created.id))
    await eventually_wanted(a.cache, "ten_a", [])


async def test_without_nats_the_listener_is_not_trusted(tmp_path: Path) -> None:
    async with nats_server(tmp_path) as server:
        connection = NatsConnection(server.url, "replica")
        await connection.connect()
        cache = SubscriptionCache(Table().load)
        changes = SubscriptionChanges(connection, cache)
        cache.set_epoch(changes.epoch)
        assert changes.epoch() is None  # not subscribed yet
        await changes.start()
        assert changes.epoch() == 0
        await changes.stop()
        assert changes.epoch() is None
        await connection.close()
