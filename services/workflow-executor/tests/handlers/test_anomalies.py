"""Anomaly detection's consumers on SQLite and PostgreSQL, each message settled by the consumer policy as in
production (a stand-in for the broker's message): a key's burst after a quiet baseline is detected when the
tick closes its bucket, announced (``anomaly.detected``, then ``anomaly.resolved``) and listed for its tenant
only; a redelivered or reordered event counts once; concurrent deliveries of one signal lose no count; an event
that feeds no signal writes nothing; a malformed one is dead-lettered at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from afo_common.events import Envelope, Event, envelope_for
from afo_common.events.anomaly import AnomalyDetected, AnomalyResolved
from afo_common.events.conversation import TurnsTallied
from afo_common.messaging.batches import Batcher
from afo_common.messaging.consumer import ConsumerPolicy, ConsumerSpec
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.workflow_executor_anomalies import ListAnomalies
from afo_testkit.broker_messages import BrokerMessage
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import committed_events, migrated_database
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.anomalies import Params
from afo_workflow_executor.entrypoints.anomalies import anomaly_consumers
from afo_workflow_executor.handlers.anomalies import AnomalyDetector

TENANT, OTHER = "t_acme", "t_other"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARAMS = Params(bucket_s=60, warmup=3, min_key_messages=5, grace_s=5)
SPEC: ConsumerSpec = next(s for s in anomaly_consumers() if s.event is TurnsTallied)


class Detector:
    def __init__(self, units: UnitOfWorkFactory) -> None:
        self.units = units
        self.clock = FixedClock(T0)
        self.store = sql_store(units)
        self.handler = AnomalyDetector(self.store, self.clock, PARAMS)
        self.dead_letters: list[dict[str, Any]] = []

        async def dead_letter(**letter: Any) -> None:
            self.dead_letters.append(letter)

        self.policy = ConsumerPolicy(SPEC, Batcher(self.handler.count, units), "workflow-executor", units,
                                     dead_letter)

    async def message(self, envelope: Envelope, attempt: int = 1) -> str:
        return await self.policy.process(BrokerMessage(envelope.to_bytes(), envelope.nats_subject, attempt))

    async def events(self, kind: type[Event]) -> list[dict[str, Any]]:
        return [e.data for e in await committed_events(self.units.db, messaging) if e.type == kind.type_name()]

    async def count(self, table: Any) -> int:
        async with self.units.db.session() as session:
            return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture(params=["sqlite", "postgres"])
async def detector(request: pytest.FixtureRequest, tmp_path: Path,
                   postgres_server: PostgresDatabases | str) -> AsyncIterator[Detector]:
    db = await migrated_database(str(request.param), tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield Detector(UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None))
    finally:
        await db.dispose()


def sent(at: datetime, key: str | None = "key_1", tenant: str = TENANT, messages: int = 1) -> Envelope:
    """agent-runtime's tally of a key's messages (one by default) in the window starting ``at``."""
    tallied = TurnsTallied(agent_id="agt_1", key_id=key, window_start=at, window_s=1, messages=messages, replies=0,
                           reply_ms_total=0.0, fallbacks=0)
    return envelope_for(tallied, tenant_id=tenant, source="agent-runtime")


def minute(n: int, second: int = 10) -> datetime:
    return T0 + timedelta(minutes=n, seconds=second)


async def test_a_keys_burst_after_a_quiet_baseline_is_detected_listed_and_resolved(detector: Detector) -> None:
    for n in (0, 1, 3):  # one message a minute, now and then: the baseline
        assert await detector.message(sent(minute(n))) == "ack"
    await detector.message(sent(minute(0), tenant=OTHER))
    for i in range(12):
        await detector.message(sent(minute(5, i)))
    detector.clock.at = minute(6, 4)
    await detector.handler.tick()  # the burst's bucket ended 4 s ago: within the grace
    assert await detector.events(AnomalyDetected) == []

    detector.clock.at = minute(6, 6)
    await detector.handler.tick()

    [detected] = await detector.events(AnomalyDetected)
    assert (detected["signal"], detected["scope"], detected["key_id"], detected["agent_id"]) == (
        "key_messages", "key", "key_1", None)
    assert (detected["observed"], detected["volume"], detected["severity"], detected["unit"]) == (
        12.0, 12, "critical", "messages")
    assert detected["window_start"] == "2026-03-02T09:05:00Z" and detected["detected_at"] == "2026-03-02T09:06:06Z"
    assert "text" not in detected and "hello" not in str(detected)
    page = await detector.handler.list(ListAnomalies(tenant_id=TENANT, status="open"))
    assert [(a.id, a.status, a.key_id) for a in page.data] == [(detected["anomaly_id"], "open", "key_1")]
    assert (await detector.handler.list(ListAnomalies(tenant_id=OTHER))).data == []

    detector.clock.at = minute(7, 6)
    await detector.handler.tick()  # the next minute: no message at all, back to normal

    [resolved] = await detector.events(AnomalyResolved)
    assert (resolved["anomaly_id"], resolved["resolution"], resolved["observed"]) == (
        detected["anomaly_id"], "recovered", 0.0)
    [listed] = (await detector.handler.list(ListAnomalies(tenant_id=TENANT))).data
    assert (listed.status, listed.resolution) == ("resolved", "recovered")
    assert (await detector.handler.list(ListAnomalies(tenant_id=TENANT, status="open"))).data == []


async def test_a_redelivered_or_reordered_event_counts_once(detector: Detector) -> None:
    later, earlier = sent(minute(1)), sent(minute(0, 50))

    assert await detector.message(later) == "ack"
    assert await detector.message(earlier) == "ack"  # older than the open bucket: counted in it
    assert await detector.message(later, attempt=2) == "duplicate"

    async with detector.store.reading() as repos:
        state = await repos.anomalies.state(TENANT, "key_messages", "key_1")
    assert state is not None and (state.bucket_start, state.volume) == (T0 + timedelta(minutes=1), 2)


async def test_concurrent_deliveries_of_one_signal_lose_no_count(detector: Detector) -> None:
    outcomes = await asyncio.gather(*(detector.message(sent(minute(0, i))) for i in range(20)))

    assert outcomes == ["ack"] * 20
    async with detector.store.reading() as repos:
        state = await repos.anomalies.state(TENANT, "key_messages", "key_1")
    assert state is not None and state.volume == 20


async def test_a_batch_counts_its_fresh_events_once_each_and_the_redelivered_ones_not_at_all(
        detector: Detector) -> None:
    first, second = sent(minute(0, 1)), sent(minute(0, 2))
    assert await detector.message(first) == "ack"

    outcomes = await asyncio.gather(detector.message(sent(minute(0, 3))),  # a batch of one; the rest queue
                                    detector.message(first, attempt=2), detector.message(second),
                                    detector.message(second, attempt=2), detector.message(sent(minute(0, 4), key="k2")))

    assert outcomes == ["ack", "duplicate", "ack", "duplicate", "ack"]
    async with detector.store.reading() as repos:
        key_1 = await repos.anomalies.state(TENANT, "key_messages", "key_1")
        key_2 = await repos.anomalies.state(TENANT, "key_messages", "k2")
    assert key_1 is not None and key_1.volume == 3
    assert key_2 is not None and key_2.volume == 1
    assert await detector.count(messaging.inbox) == 4


async def test_an_event_that_feeds_no_signal_writes_nothing(detector: Detector) -> None:
    assert await detector.message(sent(minute(0), key=None)) == "ack"  # a console user's messages: no key, no reply

    assert await detector.count(messaging.inbox) == 0
    assert (await detector.handler.list(ListAnomalies(tenant_id=TENANT))).data == []


async def test_a_malformed_event_is_dead_lettered_at_once(detector: Detector) -> None:
    bad = sent(minute(0)).to_bytes().replace(b'"key_id":"key_1"', b'"key_id":7')
    msg = BrokerMessage(bad, f"afo.{TENANT}.conversation.turns_tallied")

    assert await detector.policy.process(msg) == "dead_letter"

    assert msg.settled == ["term"]
    [letter] = detector.dead_letters
    assert letter["reason"].startswith("schema_invalid") and letter["consumer"] == SPEC.durable
    assert await detector.count(messaging.inbox) == 0
