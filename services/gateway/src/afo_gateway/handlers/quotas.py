"""What a tenant's plan lets it do, checked where the gateway accepts the work: a message on any channel that
enters here (API, widget, SMS), an agent created, a document added, and every request's rate (``throttle.py``).

Rules:
- Each replica keeps each tenant's plan for ``ttl_s`` (``PlanBook``) and forgets it the moment it hears
  ``tenant.plan_changed`` (``entrypoints/plan_events.py``): a change applies at once, a missed event within
  ``ttl_s``. A tenant without a plan row (created outside sign-up) is on the default plan.
- A month's messages are counted as the gateway accepts them, in the transaction that records each
  (``plans_repository.count_message``), and read on the driver before each: messages accepted at the same moment
  may pass the allowance by those in flight between the read and the write. Voice turns are not messages: calls
  count in voice minutes, enforced by voice-media.
- Agents and document bytes are asked of their owners (agent-runtime, knowledge-ingest) when the plan limits
  them: two creates at once may both pass the last free place.
- An unlimited limit costs no read and no call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from cachetools import TTLCache

from afo_common.clock import Clock
from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs import knowledge_ingest as ki
from afo_gateway.domain.access import Principal
from afo_gateway.domain.plans import Month, PlanName, TenantPlan, check_kept, check_monthly
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store

PLAN_CACHE_S = 10.0
PLAN_CACHE_SIZE = 100_000


class MessageCounts(Protocol):
    """The month's metered messages of a tenant (``adapters/plans_repository.py``, on the driver)."""

    async def messages(self, tenant_id: str, period: str) -> int: ...


class PlanBook:
    def __init__(self, store: Store, default_plan: PlanName, ttl_s: float = PLAN_CACHE_S,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._default = default_plan
        self._plans: TTLCache[str, TenantPlan] = TTLCache(PLAN_CACHE_SIZE, ttl_s, timer)

    async def of(self, tenant_id: str) -> TenantPlan:
        found = self._plans.get(tenant_id)
        if found is None:
            async with self._store.reading() as repos:
                found = await repos.plans.of_tenant(tenant_id)
                if found is None:
                    plan = await repos.plans.get(self._default)
                    assert plan is not None, f"the default plan {self._default} is not in the database"
                    found = TenantPlan(tenant_id, plan.name, plan.limits, 0)
            self._plans[tenant_id] = found
        return found

    def forget(self, tenant_id: str) -> None:
        self._plans.pop(tenant_id, None)

    def forget_all(self) -> None:
        self._plans.clear()


class Quotas:
    def __init__(self, book: PlanBook, owners: Owners, counts: MessageCounts, clock: Clock) -> None:
        self.book = book
        self._owners = owners
        self._counts = counts
        self._clock = clock

    async def admit_message(self, tenant_id: str) -> None:
        """429 until the month resets when its messages are used up."""
        tenant = await self.book.of(tenant_id)
        if tenant.limits.messages_per_month is None:
            return
        now = self._clock.now()
        used = await self._counts.messages(tenant_id, Month.of(now).key)
        check_monthly(tenant, "messages_per_month", used, now)

    async def admit_agent(self, principal: Principal) -> None:
        """402 when the plan keeps no more agents."""
        tenant = await self.book.of(principal.tenant_id)
        if tenant.limits.agents is None:
            return
        counted = await self._owners.call(ar.COUNT_AGENTS, ar.CountAgents(tenant_id=principal.tenant_id))
        check_kept(tenant, "agents", counted.agents, 1)

    async def admit_document(self, principal: Principal, size_bytes: int) -> None:
        """402 when ``size_bytes`` more would go past the plan's knowledge size."""
        tenant = await self.book.of(principal.tenant_id)
        if tenant.limits.knowledge_bytes is None:
            return
        measured = await self._owners.call(ki.MEASURE_KNOWLEDGE, ki.MeasureKnowledge(tenant_id=principal.tenant_id))
        check_kept(tenant, "knowledge_bytes", measured.size_bytes, size_bytes)
