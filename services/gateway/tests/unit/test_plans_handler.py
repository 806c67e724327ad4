"""Plans' use cases on every backend (memory, SQLite, PostgreSQL): a plan edited or assigned is announced in the
same transaction, one ``tenant.plan_changed`` per tenant it changes, and read at once by the replica's kept copy;
only an operator may; an unknown plan or tenant changes nothing."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from afo_common.events import Envelope
from afo_common.events.tenant import PlanLimits
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_gateway.adapters.accounts_repository import TenantRow
from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.errors import Forbidden, NotFound
from afo_gateway.domain.plans import DEFAULT_LIMITS, PlanName
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.plans import Plans, put_on_plan
from afo_gateway.handlers.quotas import PlanBook
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import FixedClock

Committed = Callable[[], Awaitable[list[Envelope]]]
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
OPERATOR = Principal("ten_platform", "user", "usr_ops", ROLE_PERMISSIONS["operator"])
OWNER = Principal("ten_a", "user", "usr_a", ROLE_PERMISSIONS["owner"])
SECRET_KEY = Principal("ten_a", "secret_key", "key_a", SECRET_KEY_PERMISSIONS)
SMALL = PlanLimits(agents=1, messages_per_month=10)


def plans_on(store: Store) -> tuple[Plans, PlanBook]:
    book = PlanBook(store, "free")
    # Edits and assignments ask no other service.
    never_called = Owners(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused")))
    return Plans(store, book, never_called, FixedClock(T0)), book


async def on_plans(store: Store, **tenants: PlanName) -> None:
    async with store() as uow:
        for tenant_id, plan in tenants.items():
            await uow.accounts.add_tenant(TenantRow(tenant_id, tenant_id, "UTC", T0))
            await put_on_plan(uow, tenant_id, plan, T0)


async def test_an_edit_is_announced_to_each_tenant_on_the_plan_and_applies_at_once(
        store: Store, committed: Committed) -> None:
    plans, book = plans_on(store)
    await on_plans(store, ten_a="pro", ten_b="free", ten_c="pro")
    assert (await book.of("ten_a")).limits == DEFAULT_LIMITS["pro"]  # kept by this replica
    before = len(await committed())

    edited = await plans.edit(OPERATOR, "pro", SMALL)

    assert (edited.name, edited.limits, edited.updated_at) == ("pro", SMALL, T0)
    events = (await committed())[before:]
    assert [(e.tenantid, e.type, e.data["revision"], e.data["limits"]["agents"]) for e in events] == [
        ("ten_a", "afo.tenant.plan_changed.v1", 2, 1), ("ten_c", "afo.tenant.plan_changed.v1", 2, 1)]
    assert (await book.of("ten_a")).limits == SMALL
    assert (await book.of("ten_b")).limits == DEFAULT_LIMITS["free"]


async def test_an_assignment_is_announced_and_audited_in_the_tenants_log(store: Store, committed: Committed) -> None:
    plans, book = plans_on(store)
    await on_plans(store, ten_a="free")
    await book.of("ten_a")

    assigned = await plans.assign(OPERATOR, "ten_a", "enterprise")

    assert (assigned.plan, assigned.revision, assigned.limits) == ("enterprise", 2, PlanLimits())
    last = (await committed())[-1]
    assert (last.tenantid, last.data) == ("ten_a", {"plan": "enterprise", "limits": PlanLimits().model_dump(),
                                                    "revision": 2})
    assert (await book.of("ten_a")).plan == "enterprise"
    async with store.reading() as repos:
        audit = await repos.audit.entries("ten_a")
    assert [(a.action, a.actor, a.target) for a in audit] == [("tenant.plan_assigned", "usr_ops", "enterprise")]


async def test_a_tenant_without_a_plan_row_is_on_the_default_plan(store: Store) -> None:
    _, book = plans_on(store)

    kept = await book.of("ten_from_elsewhere")

    assert (kept.plan, kept.limits, kept.revision) == ("free", DEFAULT_LIMITS["free"], 0)


@pytest.mark.parametrize("principal", [OWNER, SECRET_KEY])
async def test_only_operators_edit_or_assign(store: Store, committed: Committed, principal: Principal) -> None:
    plans, _ = plans_on(store)
    await on_plans(store, ten_a="free")
    before = await committed()

    for attempt in (plans.all(principal), plans.edit(principal, "free", SMALL),
                    plans.assign(principal, "ten_a", "enterprise"), plans.tenants(principal, 10, None),
                    plans.tenant_usage(principal, "ten_a")):
        with pytest.raises(Forbidden):
            await attempt

    assert await committed() == before


async def test_unknown_plans_and_tenants_change_nothing(store: Store, committed: Committed) -> None:
    plans, _ = plans_on(store)
    before = await committed()

    with pytest.raises(NotFound):
        await plans.edit(OPERATOR, "gold", SMALL)
    with pytest.raises(NotFound):
        await plans.assign(OPERATOR, "ten_nobody", "pro")

    assert await committed() == before
    assert {p.name: p.limits for p in await plans.all(OPERATOR)} == DEFAULT_LIMITS
