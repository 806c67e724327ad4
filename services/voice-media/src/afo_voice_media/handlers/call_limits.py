"""Each tenant's call limits: copied from ``tenant.plan_changed`` into voice-media's own store, and checked before
a new call starts (``Calls.allow``; the rules are in ``domain/call_limits.py``).

A plan event is kept in its delivery's transaction with its inbox row (a redelivery is a duplicate), and only
when its revision is newer than the copy's: events arriving out of order leave the newest. The check reads
before the call is recorded, so two calls starting at the same moment may both take the last free place."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.events.tenant import TenantPlanChanged
from afo_common.messaging.consumer import ConsumerSpec, Delivery
from afo_common.messaging.store import SqlStore
from afo_common.rpcs.plan_limits import refused
from afo_voice_media.adapters.call_repository import SqlRepositories
from afo_voice_media.domain.call_limits import CallLimits, month_of, refusal

PLAN_CHANGED = ConsumerSpec("voice-media-plan-changed", TenantPlanChanged.event_stream, TenantPlanChanged)


class PlanCopies:
    def __init__(self, store: SqlStore[SqlRepositories], clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def plan_changed(self, delivery: Delivery) -> None:
        payload = delivery.payload
        assert isinstance(payload, TenantPlanChanged)
        limits = CallLimits(payload.plan, payload.limits.concurrent_calls, payload.limits.voice_minutes_per_month,
                            payload.revision)
        async with self._store.handling(delivery) as uow:
            await uow.limits.keep(delivery.envelope.tenantid, limits, self._clock.now())


async def check_allowance(store: SqlStore[SqlRepositories], tenant_id: str, clock: Clock) -> None:
    """Raises the plan's refusal (``afo_common.rpcs.plan_limits``) when the tenant may start no call now."""
    now = clock.now()
    async with store.reading() as repos:
        limits = await repos.limits.of(tenant_id)
        if limits is None or (limits.concurrent_calls is None and limits.voice_minutes_per_month is None):
            return
        active = await repos.limits.active_calls(tenant_id, now)
        seconds = await repos.limits.seconds_since(tenant_id, month_of(now)[0])
    if (reached := refusal(limits, active, seconds, now)) is not None:
        raise refused(reached, f"the {reached.plan} plan allows no more {reached.limit.replace('_', ' ')} now")
