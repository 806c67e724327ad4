"""Usage metering on every backend (memory, SQLite, PostgreSQL), each message settled by the consumer policy and
the batcher as in production (a stand-in for the broker's message): calls' minutes counted per tenant and month; a
redelivered event counted once, in its batch or a later one; an event counted in the month it happened in whatever
order it arrives; a call without a second counts nothing; a malformed event dead-lettered. (A lead's messages are
counted as the gateway accepts them: ``test_quotas_api.py``.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from afo_common.db import Database
from afo_common.events import Envelope, envelope_for
from afo_common.events.call import CallEnded
from afo_common.messaging.batches import Batcher
from afo_common.messaging.consumer import ConsumerPolicy
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.tables import messaging
from afo_gateway.domain.plans import Metric
from afo_gateway.entrypoints.usage_consumers import usage_consumers
from afo_gateway.handlers.metering import Metering
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.broker_messages import BrokerMessage

[CALLS] = usage_consumers()
MARCH = datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, 0, 0, 10, tzinfo=UTC)


class Meter:
    def __init__(self, store: Store, tmp_path: Path) -> None:
        self.store = store
        # The policy hands each delivery a unit-of-work factory; the in-memory store never opens it.
        units = getattr(store, "units", None) or UnitOfWorkFactory(
            Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"), messaging, "gateway", lambda: None)
        self.dead_letters: list[dict[str, Any]] = []

        async def dead_letter(**letter: Any) -> None:
            self.dead_letters.append(letter)

        batcher = Batcher(Metering(store).count, units)
        self.policies = {spec.durable: ConsumerPolicy(spec, batcher, "gateway", units, dead_letter)
                         for spec in (CALLS,)}

    async def deliver(self, envelope: Envelope, attempt: int = 1) -> str:
        message = BrokerMessage(envelope.to_bytes(), envelope.nats_subject, attempt)
        return await self.policies[CALLS.durable].process(message)

    async def usage(self, tenant_id: str, period: str) -> dict[Metric, float]:
        async with self.store.reading() as repos:
            return await repos.usage.of(tenant_id, period)


def call_ended(at: datetime, seconds: float, tenant: str = "ten_a") -> Envelope:
    payload = CallEnded(call_id="call_1", conversation_id="conv_1", agent_id="agt_1", reason="caller_hung_up",
                        duration_s=seconds, turns=3, ended_at=at)
    return envelope_for(payload, tenant_id=tenant, source="voice-media")


async def test_call_minutes_are_counted_per_tenant_and_month(store: Store, tmp_path: Path) -> None:
    meter = Meter(store, tmp_path)
    outcomes = [await meter.deliver(call_ended(MARCH, 90.5)), await meter.deliver(call_ended(MARCH, 9.5)),
                await meter.deliver(call_ended(MARCH, 60.0, tenant="ten_b")),
                await meter.deliver(call_ended(APRIL, 30.0))]

    assert outcomes == ["ack"] * 4
    assert await meter.usage("ten_a", "2026-03") == {"voice_seconds": 100.0}
    assert await meter.usage("ten_a", "2026-04") == {"voice_seconds": 30.0}
    assert await meter.usage("ten_b", "2026-03") == {"voice_seconds": 60.0}


async def test_a_redelivered_event_counts_once_in_its_batch_or_a_later_one(store: Store, tmp_path: Path) -> None:
    meter = Meter(store, tmp_path)
    first, second = call_ended(MARCH, 10.0), call_ended(MARCH, 10.0)
    assert await meter.deliver(first) == "ack"

    outcomes = await asyncio.gather(meter.deliver(call_ended(MARCH, 10.0)),  # a batch of one; the rest queue
                                    meter.deliver(first, attempt=2), meter.deliver(second),
                                    meter.deliver(second, attempt=2))

    assert list(outcomes) == ["ack", "duplicate", "ack", "duplicate"]
    assert await meter.usage("ten_a", "2026-03") == {"voice_seconds": 30.0}


async def test_events_count_in_the_month_they_happened_whatever_order_they_arrive_in(
        store: Store, tmp_path: Path) -> None:
    meter = Meter(store, tmp_path)

    await asyncio.gather(*(meter.deliver(call_ended(at, 1.0)) for at in (APRIL, MARCH, APRIL, MARCH, MARCH)))

    assert await meter.usage("ten_a", "2026-03") == {"voice_seconds": 3.0}
    assert await meter.usage("ten_a", "2026-04") == {"voice_seconds": 2.0}


async def test_a_call_without_a_second_counts_nothing_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    meter = Meter(store, tmp_path)

    assert await meter.deliver(call_ended(MARCH, 0.0)) == "ack"
    assert await meter.usage("ten_a", "2026-03") == {}


async def test_a_malformed_event_is_dead_lettered_at_once(store: Store, tmp_path: Path) -> None:
    meter = Meter(store, tmp_path)
    bad = call_ended(MARCH, 10.0).to_bytes().replace(b'"reason":"caller_hung_up"', b'"reason":"pigeon"')

    outcome = await meter.policies[CALLS.durable].process(BrokerMessage(bad, "afo.ten_a.call.ended"))

    assert outcome == "dead_letter"
    [letter] = meter.dead_letters
    assert letter["reason"].startswith("schema_invalid") and letter["consumer"] == CALLS.durable
    assert await meter.usage("ten_a", "2026-03") == {}
