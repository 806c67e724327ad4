"""Plans as use cases: operators list and edit them and put a tenant on one; a tenant reads its plan, its limits
and what it used this month.

Rules:
- Only a principal with ``manage_platform`` (an operator) lists, edits or assigns plans, for any tenant.
- Every change of what a tenant's plan allows is ``tenant.plan_changed`` with its new revision, in the same
  transaction (the outbox): a tenant put on a plan, each tenant on a plan whose limits were edited, a tenant
  signing up (``put_on_plan``). Tenants the migration put on a plan are announced by ``announce_pending``.
- A tenant's usage this month: its kept things asked of their owners (agents, document bytes), its metered
  messages and voice minutes; calls at once and requests per minute are enforced where they happen and have no
  monthly figure. An owner not answering leaves its figure unknown (``used`` None, the service in
  ``unavailable``): the rest of the report stands."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from afo_common.clock import Clock
from afo_common.events.tenant import PlanLimits, TenantPlanChanged
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.adapters.plans_repository import TenantOnPlan
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import NotFound, Unavailable, UpstreamTimeout
from afo_gateway.domain.plans import Month, Plan, PlanName, TenantPlan, voice_minutes
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.quotas import PlanBook
from afo_gateway.handlers.unit_of_work import Store, UnitOfWork

log = logging.getLogger(__name__)
ANNOUNCE_BATCH = 500
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@dataclass(frozen=True)
class UsageLine:
    limit: str
    allowed: int | None  # None: unlimited
    used: int | None     # None: not counted per month (calls at once, requests per minute)


@dataclass(frozen=True)
class UsageReport:
    tenant_id: str
    plan: PlanName
    period: str
    period_starts_at: datetime
    resets_at: datetime
    lines: list[UsageLine]
    unavailable: list[str] = field(default_factory=list)  # owners that did not answer


async def put_on_plan(uow: UnitOfWork, tenant_id: str, name: PlanName, now: datetime) -> TenantPlan:
    """The tenant on ``name`` from now, announced in the unit of work."""
    plan = await uow.plans.get(name)
    if plan is None:
        raise NotFound(f"no plan {name}")
    revision = await uow.plans.assign(tenant_id, name, now)
    await uow.emit(TenantPlanChanged(plan=name, limits=plan.limits, revision=revision), tenant_id=tenant_id)
    return TenantPlan(tenant_id, name, plan.limits, revision)


class Plans:
    def __init__(self, store: Store, book: PlanBook, owners: Owners, clock: Clock) -> None:
        self._store = store
        self._book = book
        self._owners = owners
        self._clock = clock

    async def all(self, principal: Principal) -> list[Plan]:
        require(principal, Permission.MANAGE_PLATFORM)
        async with self._store.reading() as repos:
            return await repos.plans.all()

    async def edit(self, principal: Principal, name: str, limits: PlanLimits) -> Plan:
        require(principal, Permission.MANAGE_PLATFORM)
        now = self._clock.now()
        async with self._store() as uow:
            plan = await uow.plans.get(name)
            if plan is None or not await uow.plans.update(name, limits, now):
                raise NotFound(f"no plan {name}")
            for tenant_id, revision in await uow.plans.revise_all_on(plan.name, now):
                await uow.emit(TenantPlanChanged(plan=plan.name, limits=limits, revision=revision),
                               tenant_id=tenant_id)
            await uow.audit.record(principal.tenant_id, principal.subject_id, "plan.edited", name, now)
        self._book.forget_all()
        return Plan(plan.name, limits, now)

    async def assign(self, principal: Principal, tenant_id: str, name: PlanName) -> TenantPlan:
        require(principal, Permission.MANAGE_PLATFORM)
        now = self._clock.now()
        async with self._store() as uow:
            if await uow.accounts.tenant(tenant_id) is None:
                raise NotFound(f"tenant {tenant_id} not found")
            assigned = await put_on_plan(uow, tenant_id, name, now)
            await uow.audit.record(tenant_id, principal.subject_id, "tenant.plan_assigned", name, now)
        self._book.forget(tenant_id)
        return assigned

    async def tenants(self, principal: Principal, limit: int, cursor: str | None) -> list[TenantOnPlan]:
        require(principal, Permission.MANAGE_PLATFORM)
        async with self._store.reading() as repos:
            return await repos.plans.tenants(limit, cursor)

    async def usage(self, principal: Principal) -> UsageReport:
        """The caller's own tenant's plan and usage this month."""
        require(principal, Permission.READ)
        return await self.usage_of(principal.tenant_id)

    async def tenant_usage(self, principal: Principal, tenant_id: str) -> UsageReport:
        require(principal, Permission.MANAGE_PLATFORM)
        async with self._store.reading() as repos:
            if await repos.accounts.tenant(tenant_id) is None:
                raise NotFound(f"tenant {tenant_id} not found")
        return await self.usage_of(tenant_id)

    async def usage_of(self, tenant_id: str) -> UsageReport:
        month = Month.of(self._clock.now())
        tenant = await self._book.of(tenant_id)
        async with self._store.reading() as repos:
            metered = await repos.usage.of(tenant_id, month.key)
        agents, knowledge = await asyncio.gather(
            self._asked(ar.COUNT_AGENTS, ar.CountAgents(tenant_id=tenant_id)),
            self._asked(ki.MEASURE_KNOWLEDGE, ki.MeasureKnowledge(tenant_id=tenant_id)))
        limits = tenant.limits
        lines = [
            UsageLine("agents", limits.agents, agents.agents if agents else None),
            UsageLine("knowledge_bytes", limits.knowledge_bytes, knowledge.size_bytes if knowledge else None),
            UsageLine("messages_per_month", limits.messages_per_month, int(metered.get("messages", 0))),
            UsageLine("voice_minutes_per_month", limits.voice_minutes_per_month,
                      voice_minutes(metered.get("voice_seconds", 0.0))),
            UsageLine("concurrent_calls", limits.concurrent_calls, None),
            UsageLine("requests_per_minute", limits.requests_per_minute, None),
        ]
        unavailable = [op.service for op, answer in ((ar.COUNT_AGENTS, agents), (ki.MEASURE_KNOWLEDGE, knowledge))
                       if answer is None]
        return UsageReport(tenant_id, tenant.plan, month.key, month.starts_at, month.resets_at, lines, unavailable)

    async def _asked(self, op: RpcOperation[Req, Res], request: Req) -> Res | None:
        try:
            return await self._owners.call(op, request)
        except (Unavailable, UpstreamTimeout) as exc:
            log.warning("usage without %s's figure: %s", op.service, exc.detail)
            return None

    async def announce_pending(self) -> None:
        """Announces the plans of tenants put on one by the migration (``tenant.plan_changed``), in batches."""
        while True:
            async with self._store() as uow:
                pending = await uow.plans.unannounced(ANNOUNCE_BATCH)
                for tenant in pending:
                    await uow.emit(TenantPlanChanged(plan=tenant.plan, limits=tenant.limits,
                                                     revision=tenant.revision), tenant_id=tenant.tenant_id)
                    await uow.plans.announced(tenant.tenant_id, tenant.revision)
            if pending:
                log.info("announced the plans of %d tenants", len(pending))
            if len(pending) < ANNOUNCE_BATCH:
                return
