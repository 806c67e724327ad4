"""voice-media's call limits on SQLite and PostgreSQL: its copy of each tenant's plan from ``tenant.plan_changed``
(settled by the consumer policy as in production: a redelivery is a duplicate, an older revision arriving late
changes nothing), the calls a tenant has going and the minutes it used this month, and the refusal of a new call
when either is used up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from afo_common.events import Envelope, envelope_for
from afo_common.events.tenant import PlanLimits, TenantPlanChanged
from afo_common.messaging.consumer import ConsumerPolicy
from afo_common.messaging.rpc import RpcError
from afo_common.messaging.store import SqlStore
from afo_common.rpcs.plan_limits import reached_in
from afo_testkit.broker_messages import BrokerMessage
from afo_testkit.clock import FixedClock
from afo_voice_media.adapters.call_repository import CallRow, SqlRepositories
from afo_voice_media.domain.call_limits import CallLimits, refusal
from afo_voice_media.handlers.call_limits import PLAN_CHANGED, PlanCopies, check_allowance

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TENANT = "ten_a"


def changed(revision: int, concurrent: int | None = 1, minutes: int | None = 10, plan: str = "free") -> Envelope:
    limits = PlanLimits(agents=1, concurrent_calls=concurrent, voice_minutes_per_month=minutes)
    return envelope_for(TenantPlanChanged(plan=plan, limits=limits, revision=revision), tenant_id=TENANT,
                        source="gateway")


def call(n: int, state: str, *, created: datetime = NOW, started: datetime | None = None,
         ended: datetime | None = None, seconds: float | None = None, ticket_until: datetime | None = None,
         tenant_id: str = TENANT) -> CallRow:
    return CallRow(id=f"call_{n}", tenant_id=tenant_id, agent_id="agt_1", conversation_id=f"conv_{n}",
                   transport="twilio", direction="inbound", caller=None, called="+14155550100",
                   provider_call_id=f"CA{n}", ticket_hash=None, ticket_expires_at=ticket_until, state=state,
                   provider_status=None, end_reason="completed" if state == "ended" else None, greeting="Hi",
                   voice={}, hints=[], created_at=created, started_at=started, ended_at=ended, duration_s=seconds,
                   turns=0)


async def add(store: SqlStore[SqlRepositories], *rows: CallRow) -> None:
    async with store() as uow:
        for row in rows:
            await uow.calls.add(row)


async def test_the_newest_plan_is_kept_whatever_order_the_events_arrive_in(
        store: SqlStore[SqlRepositories]) -> None:
    dead: list[dict[str, Any]] = []

    async def dead_letter(**letter: Any) -> None:
        dead.append(letter)

    policy = ConsumerPolicy(PLAN_CHANGED, PlanCopies(store, FixedClock(NOW)).plan_changed, "voice-media",
                            store.units, dead_letter)
    second, first = changed(2, concurrent=3, plan="pro"), changed(1)

    outcomes = [await policy.process(BrokerMessage.of(second)), await policy.process(BrokerMessage.of(first)),
                await policy.process(BrokerMessage.of(second, num_delivered=2))]

    assert outcomes == ["ack", "ack", "duplicate"] and dead == []
    async with store.reading() as repos:
        assert await repos.limits.of(TENANT) == CallLimits("pro", 3, 10, 2)
        assert await repos.limits.of("ten_other") is None


async def test_calls_that_may_still_carry_audio_are_the_ones_going(store: SqlStore[SqlRepositories]) -> None:
    await add(store,
              call(1, "in_progress", started=NOW - timedelta(minutes=5)),
              call(2, "in_progress", started=NOW - timedelta(hours=7)),  # left by a process that died
              call(3, "admitted", ticket_until=NOW + timedelta(minutes=1)),
              call(4, "admitted", ticket_until=NOW - timedelta(seconds=1)),  # Twilio never opened its media
              call(5, "dialing", created=NOW - timedelta(seconds=30)),
              call(6, "dialing", created=NOW - timedelta(minutes=5)),
              call(7, "ended", ended=NOW, seconds=10.0),
              call(8, "in_progress", started=NOW, tenant_id="ten_other"))

    async with store.reading() as repos:
        assert await repos.limits.active_calls(TENANT, NOW) == 3


async def test_the_minutes_used_are_those_of_calls_ended_this_month(store: SqlStore[SqlRepositories]) -> None:
    march = datetime(2026, 3, 1, tzinfo=UTC)
    await add(store, call(1, "ended", ended=march + timedelta(days=3), seconds=90.5),
              call(2, "ended", ended=march + timedelta(days=19), seconds=30.0),
              call(3, "ended", ended=march - timedelta(seconds=1), seconds=600.0),  # February's
              call(4, "ended", ended=NOW, seconds=45.0, tenant_id="ten_other"))

    async with store.reading() as repos:
        assert await repos.limits.seconds_since(TENANT, march) == 120.5
        assert await repos.limits.seconds_since("ten_nobody", march) == 0.0


async def test_a_new_call_is_refused_when_calls_at_once_or_minutes_are_used_up(
        store: SqlStore[SqlRepositories]) -> None:
    clock = FixedClock(NOW)
    await check_allowance(store, TENANT, clock)  # no plan heard of yet: taken
    async with store() as uow:
        await uow.limits.keep(TENANT, CallLimits("free", 1, 2, 1), NOW)
    await check_allowance(store, TENANT, clock)
    await add(store, call(1, "in_progress", started=NOW))

    with pytest.raises(RpcError) as at_once:
        await check_allowance(store, TENANT, clock)
    async with store() as uow:
        await uow.calls.ended(TENANT, "call_1", "completed", NOW, 125.0, 3)
    with pytest.raises(RpcError) as minutes:
        await check_allowance(store, TENANT, clock)

    reached = reached_in(at_once.value)
    assert reached is not None and (reached.limit, reached.allowed, reached.used, reached.plan) == (
        "concurrent_calls", 1, 1, "free")
    assert at_once.value.code == "conflict" and reached.retry_after_s == 60 and reached.resets_at is None
    reached = reached_in(minutes.value)
    assert reached is not None and (reached.limit, reached.allowed, reached.used) == ("voice_minutes_per_month", 2, 3)
    assert reached.resets_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert reached.retry_after_s == int((reached.resets_at - NOW).total_seconds())


def test_unlimited_limits_refuse_nothing() -> None:
    unlimited = CallLimits("enterprise", None, None, 1)
    assert refusal(unlimited, 500, 10**9, NOW) is None
    assert refusal(None, 500, 10**9, NOW) is None
    assert refusal(replace(unlimited, concurrent_calls=0), 0, 0.0, NOW) is not None
