"""Plans, tenants' plans and usage counters on every backend (memory, SQLite, PostgreSQL): the same answers from
each, so the in-memory store the handler tests use cannot drift from the database."""

from datetime import UTC, datetime

from afo_common.events.tenant import PlanLimits
from afo_gateway.adapters.accounts_repository import TenantRow
from afo_gateway.domain.plans import DEFAULT_LIMITS, PLAN_NAMES
from afo_gateway.handlers.unit_of_work import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def tenants(store: Store, *ids: str) -> None:
    async with store() as uow:
        for tenant_id in ids:
            await uow.accounts.add_tenant(TenantRow(tenant_id, f"Tenant {tenant_id}", "UTC", T0))


async def test_the_three_plans_are_seeded_with_the_default_limits(store: Store) -> None:
    async with store.reading() as repos:
        plans = await repos.plans.all()
        missing = await repos.plans.get("gold")

    assert [p.name for p in plans] == sorted(PLAN_NAMES)
    assert {p.name: p.limits for p in plans} == DEFAULT_LIMITS
    assert plans[0].name == "enterprise" and plans[0].limits.agents is None  # unlimited is NULL
    assert missing is None


async def test_an_edited_plan_keeps_its_limits_and_time_and_an_unknown_one_is_not_edited(store: Store) -> None:
    limits = PlanLimits(agents=0, knowledge_bytes=5 * 2**40, messages_per_month=3, voice_minutes_per_month=None,
                        concurrent_calls=2, requests_per_minute=10)
    async with store() as uow:
        assert await uow.plans.update("pro", limits, T0)
        assert not await uow.plans.update("gold", limits, T0)

    async with store.reading() as repos:
        pro = await repos.plans.get("pro")
    assert pro is not None and (pro.limits, pro.updated_at) == (limits, T0)


async def test_a_tenants_plan_is_assigned_with_a_growing_revision_and_read_with_its_limits(store: Store) -> None:
    await tenants(store, "ten_a", "ten_b")
    async with store() as uow:
        assert await uow.plans.assign("ten_a", "free", T0) == 1
        assert await uow.plans.assign("ten_a", "pro", T0) == 2
        assert await uow.plans.assign("ten_b", "enterprise", T0) == 1

    async with store.reading() as repos:
        a, b, nobody = (await repos.plans.of_tenant("ten_a"), await repos.plans.of_tenant("ten_b"),
                        await repos.plans.of_tenant("ten_c"))
    assert a is not None and (a.plan, a.revision, a.limits) == ("pro", 2, DEFAULT_LIMITS["pro"])
    assert b is not None and (b.plan, b.revision) == ("enterprise", 1)
    assert nobody is None


async def test_editing_a_plan_revises_exactly_the_tenants_on_it(store: Store) -> None:
    await tenants(store, "ten_a", "ten_b", "ten_c")
    async with store() as uow:
        await uow.plans.assign("ten_a", "pro", T0)
        await uow.plans.assign("ten_b", "free", T0)
        await uow.plans.assign("ten_c", "pro", T0)
        await uow.plans.assign("ten_c", "pro", T0)

    async with store() as uow:
        revised = await uow.plans.revise_all_on("pro", T0)

    assert revised == [("ten_a", 2), ("ten_c", 3)]
    async with store.reading() as repos:
        b = await repos.plans.of_tenant("ten_b")
    assert b is not None and b.revision == 1


async def test_tenants_are_listed_newest_first_with_their_plan(store: Store) -> None:
    await tenants(store, "ten_1", "ten_2", "ten_3")
    async with store() as uow:
        for tenant_id in ("ten_1", "ten_2", "ten_3"):
            await uow.plans.assign(tenant_id, "free", T0)
        await uow.plans.assign("ten_2", "pro", T0)

    async with store.reading() as repos:
        first = await repos.plans.tenants(2, None)
        rest = await repos.plans.tenants(2, first[-1].id)

    assert [(t.id, t.plan, t.name) for t in first] == [("ten_3", "free", "Tenant ten_3"),
                                                       ("ten_2", "pro", "Tenant ten_2")]
    assert [t.id for t in rest] == ["ten_1"] and rest[0].created_at == T0


async def test_counters_add_up_per_tenant_month_and_metric(store: Store) -> None:
    async with store() as uow:
        await uow.usage.add({("ten_a", "2026-03", "messages"): 3, ("ten_a", "2026-03", "voice_seconds"): 61.5,
                             ("ten_a", "2026-02", "messages"): 1, ("ten_b", "2026-03", "messages"): 7})
    async with store() as uow:
        await uow.usage.add({("ten_a", "2026-03", "messages"): 2, ("ten_a", "2026-03", "voice_seconds"): 0.25})

    async with store.reading() as repos:
        march, february = await repos.usage.of("ten_a", "2026-03"), await repos.usage.of("ten_a", "2026-02")
        empty = await repos.usage.of("ten_c", "2026-03")
    assert march == {"messages": 5, "voice_seconds": 61.75}
    assert february == {"messages": 1}
    assert empty == {}
