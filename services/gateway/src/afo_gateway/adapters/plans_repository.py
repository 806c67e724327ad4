"""Queries on plans and tenants' plans (``PlansRepository``) and on the usage counted from events
(``UsageRepository``), with the same in memory (``MemoryPlans``, ``MemoryUsage``) for handler tests. The month's
message count is read and written on the driver itself (``HotMessageCounts``, ``count_message``): it is on every
message's path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import Database, insert_with_conflicts
from afo_common.events.tenant import PlanLimits
from afo_common.hot_sql import HotTransaction, Sql
from afo_common.messaging.store import as_stored
from afo_gateway.adapters.accounts_repository import TenantRow
from afo_gateway.adapters.tables import plans, tenant_plans, tenants, usage_counters
from afo_gateway.domain.plans import DEFAULT_LIMITS, LIMIT_NAMES, Metric, Month, Plan, PlanName, TenantPlan

CounterKey = tuple[str, str, str]  # tenant, month ("2026-03"), metric
MESSAGES_USED = Sql("SELECT amount FROM usage_counters WHERE tenant_id = $1 AND period = $2 AND metric = $3")
COUNT_MESSAGE = Sql("INSERT INTO usage_counters (tenant_id, period, metric, amount) VALUES ($1, $2, 'messages', 1) "
                    "ON CONFLICT (tenant_id, period, metric) DO UPDATE SET amount = usage_counters.amount + 1")


async def count_message(tx: HotTransaction, tenant_id: str, at: datetime) -> None:
    """One more message in the tenant's month of ``at``, in the transaction that records the message."""
    await tx.execute(COUNT_MESSAGE, tenant_id, Month.of(at).key)


@dataclass(frozen=True)
class TenantOnPlan:
    """A tenant as operators list them: who, since when, on which plan."""

    id: str
    name: str
    created_at: datetime
    plan: PlanName


def _limits(row: Any) -> PlanLimits:
    return PlanLimits(**{name: getattr(row, name) for name in LIMIT_NAMES})


def _plan(row: Any) -> Plan:
    return Plan(name=row.name, limits=_limits(row), updated_at=row.updated_at)


class PlansRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Plan]:
        return [_plan(r) for r in await self._session.execute(select(plans).order_by(plans.c.name))]

    async def get(self, name: str) -> Plan | None:
        row = (await self._session.execute(select(plans).where(plans.c.name == name))).first()
        return _plan(row) if row else None

    async def update(self, name: str, limits: PlanLimits, now: datetime) -> bool:
        values = {**limits.model_dump(), "updated_at": now}
        result = await self._session.execute(update(plans).where(plans.c.name == name).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def of_tenant(self, tenant_id: str) -> TenantPlan | None:
        query = (select(tenant_plans.c.tenant_id, tenant_plans.c.revision, plans)
                 .join(plans, plans.c.name == tenant_plans.c.plan).where(tenant_plans.c.tenant_id == tenant_id))
        row = (await self._session.execute(query)).first()
        return TenantPlan(row.tenant_id, row.name, _limits(row), row.revision) if row else None

    async def assign(self, tenant_id: str, plan: PlanName, now: datetime) -> int:
        """Puts the tenant on ``plan`` (announced): its new revision."""
        current = (await self._session.execute(
            select(tenant_plans.c.revision).where(tenant_plans.c.tenant_id == tenant_id).with_for_update())).first()
        revision = current.revision + 1 if current else 1
        values = {"plan": plan, "revision": revision, "announced": True, "changed_at": now}
        if current:
            await self._session.execute(update(tenant_plans).where(tenant_plans.c.tenant_id == tenant_id)
                                        .values(**values))
        else:
            await self._session.execute(tenant_plans.insert().values(tenant_id=tenant_id, **values))
        return revision

    async def revise_all_on(self, plan: PlanName, now: datetime) -> list[tuple[str, int]]:
        """A new revision for every tenant on ``plan`` (its limits changed): (tenant, revision) each."""
        await self._session.execute(update(tenant_plans).where(tenant_plans.c.plan == plan).values(
            revision=tenant_plans.c.revision + 1, announced=True, changed_at=now))
        query = (select(tenant_plans.c.tenant_id, tenant_plans.c.revision).where(tenant_plans.c.plan == plan)
                 .order_by(tenant_plans.c.tenant_id))
        return [(r.tenant_id, r.revision) for r in await self._session.execute(query)]

    async def unannounced(self, limit: int) -> list[TenantPlan]:
        query = (select(tenant_plans.c.tenant_id, tenant_plans.c.revision, plans)
                 .join(plans, plans.c.name == tenant_plans.c.plan).where(~tenant_plans.c.announced)
                 .order_by(tenant_plans.c.tenant_id).limit(limit))
        return [TenantPlan(r.tenant_id, r.name, _limits(r), r.revision) for r in await self._session.execute(query)]

    async def announced(self, tenant_id: str, revision: int) -> None:
        await self._session.execute(update(tenant_plans).where(
            tenant_plans.c.tenant_id == tenant_id, tenant_plans.c.revision == revision).values(announced=True))

    async def tenants(self, limit: int, before: str | None) -> list[TenantOnPlan]:
        query = (select(tenants.c.id, tenants.c.name, tenants.c.created_at, tenant_plans.c.plan)
                 .join(tenant_plans, tenant_plans.c.tenant_id == tenants.c.id))
        if before:
            query = query.where(tenants.c.id < before)
        result = await self._session.execute(query.order_by(tenants.c.id.desc()).limit(limit))
        return [TenantOnPlan(r.id, r.name, r.created_at, r.plan) for r in result]


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, amounts: Mapping[CounterKey, float]) -> None:
        """Adds to each counter in one statement per counter (keys in order: concurrent batches lock alike)."""
        for (tenant_id, period, metric), amount in sorted(amounts.items()):
            statement = insert_with_conflicts(self._session, usage_counters).values(
                tenant_id=tenant_id, period=period, metric=metric, amount=amount)
            await self._session.execute(statement.on_conflict_do_update(
                index_elements=["tenant_id", "period", "metric"],
                set_={"amount": usage_counters.c.amount + statement.excluded.amount}))

    async def of(self, tenant_id: str, period: str) -> dict[Metric, float]:
        query = select(usage_counters.c.metric, usage_counters.c.amount).where(
            usage_counters.c.tenant_id == tenant_id, usage_counters.c.period == period)
        return {cast(Metric, r.metric): float(r.amount) for r in await self._session.execute(query)}


class HotMessageCounts:
    """A month's metered messages, read on the driver itself (``afo_common.hot_sql``): on every message's path."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages(self, tenant_id: str, period: str) -> int:
        async with self._db.hot.read() as tx:
            row = await tx.fetchrow(MESSAGES_USED, tenant_id, period, "messages")
        return int(row["amount"]) if row is not None else 0


# Until an operator edits them, in memory as in the migration's seed.
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _seeded() -> dict[str, Plan]:
    return {name: Plan(name, limits, SEEDED_AT) for name, limits in DEFAULT_LIMITS.items()}


@dataclass(frozen=True)
class TenantPlanRow:
    plan: PlanName
    revision: int
    announced: bool
    changed_at: datetime


@dataclass
class PlanTables:
    plans: dict[str, Plan] = field(default_factory=_seeded)
    tenant_plans: dict[str, TenantPlanRow] = field(default_factory=dict)
    usage: dict[CounterKey, float] = field(default_factory=dict)


class MemoryPlans:
    def __init__(self, tables: PlanTables, tenant_rows: dict[str, TenantRow]) -> None:
        self._t = tables
        self._tenants = tenant_rows

    async def all(self) -> list[Plan]:
        return [as_stored(p) for _, p in sorted(self._t.plans.items())]

    async def get(self, name: str) -> Plan | None:
        found = self._t.plans.get(name)
        return as_stored(found) if found else None

    async def update(self, name: str, limits: PlanLimits, now: datetime) -> bool:
        if name not in self._t.plans:
            return False
        self._t.plans[name] = as_stored(replace(self._t.plans[name], limits=limits, updated_at=now))
        return True

    def _tenant_plan(self, tenant_id: str, row: TenantPlanRow) -> TenantPlan:
        return TenantPlan(tenant_id, row.plan, self._t.plans[row.plan].limits, row.revision)

    async def of_tenant(self, tenant_id: str) -> TenantPlan | None:
        row = self._t.tenant_plans.get(tenant_id)
        return self._tenant_plan(tenant_id, row) if row else None

    async def assign(self, tenant_id: str, plan: PlanName, now: datetime) -> int:
        current = self._t.tenant_plans.get(tenant_id)
        revision = current.revision + 1 if current else 1
        self._t.tenant_plans[tenant_id] = as_stored(TenantPlanRow(plan, revision, True, now))
        return revision

    async def revise_all_on(self, plan: PlanName, now: datetime) -> list[tuple[str, int]]:
        revised = []
        for tenant_id, row in sorted(self._t.tenant_plans.items()):
            if row.plan == plan:
                self._t.tenant_plans[tenant_id] = as_stored(replace(row, revision=row.revision + 1, announced=True,
                                                                    changed_at=now))
                revised.append((tenant_id, row.revision + 1))
        return revised

    async def unannounced(self, limit: int) -> list[TenantPlan]:
        rows = sorted((t, r) for t, r in self._t.tenant_plans.items() if not r.announced)
        return [self._tenant_plan(t, r) for t, r in rows[:limit]]

    async def announced(self, tenant_id: str, revision: int) -> None:
        row = self._t.tenant_plans.get(tenant_id)
        if row is not None and row.revision == revision:
            self._t.tenant_plans[tenant_id] = replace(row, announced=True)

    async def tenants(self, limit: int, before: str | None) -> list[TenantOnPlan]:
        rows = sorted((t for t in self._tenants.values() if t.id in self._t.tenant_plans and
                       (not before or t.id < before)), key=lambda t: t.id, reverse=True)
        return [TenantOnPlan(t.id, t.name, t.created_at, self._t.tenant_plans[t.id].plan) for t in rows[:limit]]


class MemoryUsage:
    def __init__(self, tables: PlanTables) -> None:
        self._t = tables

    async def add(self, amounts: Mapping[CounterKey, float]) -> None:
        for key, amount in amounts.items():
            self._t.usage[key] = self._t.usage.get(key, 0.0) + amount

    async def of(self, tenant_id: str, period: str) -> dict[Metric, float]:
        return {cast(Metric, metric): amount for (tenant, month, metric), amount in self._t.usage.items()
                if (tenant, month) == (tenant_id, period)}
