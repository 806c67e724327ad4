"""The gateway's migration 0011 on SQLite and PostgreSQL: the three plans seeded as the domain offers them, and
every tenant from before plans put on free, not yet announced (the gateway's periodic job announces it)."""

from datetime import UTC, datetime

from sqlalchemy import text

from afo_common.db import Database, migrate
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.memory import memory_store
from afo_gateway.adapters.store import sql_store
from afo_gateway.adapters.tables import messaging
from afo_gateway.domain.plans import DEFAULT_LIMITS
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.plans import Plans
from afo_gateway.handlers.quotas import PlanBook
from afo_testkit.clock import FixedClock
from afo_testkit.stores import committed_events

T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def when(moment: datetime, db: Database) -> object:
    """A timestamp as a plain statement binds it on each backend (SQLite keeps naive UTC text)."""
    return moment.replace(tzinfo=None).isoformat(sep=" ") if db.url.startswith("sqlite") else moment


async def test_tenants_from_before_plans_are_put_on_free_and_announced_once(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "afo_gateway.migrations", "0010")
        async with db.engine.begin() as conn:
            for tenant_id in ("ten_old1", "ten_old2"):
                await conn.execute(text("INSERT INTO tenants (id, name, timezone, created_at) "
                                        "VALUES (:id, 'Old', 'UTC', :at)"), {"id": tenant_id, "at": when(T, db)})

        await migrate(db, "afo_gateway.migrations")

        store = sql_store(UnitOfWorkFactory(db, messaging, "gateway", lambda: None))
        async with store.reading() as repos:
            assert {p.name: p.limits for p in await repos.plans.all()} == DEFAULT_LIMITS
            old = await repos.plans.of_tenant("ten_old1")
        assert old is not None and (old.plan, old.revision) == ("free", 1)
        never_called = Owners(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused")))
        plans = Plans(store, PlanBook(store, "free"), never_called, FixedClock(T))
        await plans.announce_pending()
        await plans.announce_pending()  # nothing left: nothing again
        announced = [(e.tenantid, e.type, e.data["revision"]) for e in await committed_events(db, messaging)]
        assert announced == [("ten_old1", "afo.tenant.plan_changed.v1", 1),
                             ("ten_old2", "afo.tenant.plan_changed.v1", 1)]
    finally:
        await db.dispose()


def test_the_in_memory_store_is_seeded_like_the_migration() -> None:
    assert {name: plan.limits for name, plan in memory_store().tables.plan_tables.plans.items()} == DEFAULT_LIMITS
