"""Anomaly detection's repositories on memory, SQLite and PostgreSQL: a signal's state started once and saved
in place, the tick's due signals of every tenant (only those with something to close), anomalies added,
resolved once, listed newest first by cursor and filtered, and every read kept to its tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, migrated_database
from afo_workflow_executor.adapters.anomaly_memory import memory_anomaly_store
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.anomalies import AnomalyRow, SignalState
from afo_workflow_executor.handlers.anomaly_repositories import AnomalyStore, anomalies_cursor

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                postgres_server: PostgresDatabases | str) -> AsyncIterator[AnomalyStore]:
    if request.param == "memory":
        yield memory_anomaly_store()
        return
    db = await migrated_database(request.param, tmp_path, postgres_server, "afo_workflow_executor.migrations")
    try:
        yield sql_store(UnitOfWorkFactory(db, messaging, "workflow-executor", lambda: None))
    finally:
        await db.dispose()


def anomaly(anomaly_id: str, tenant: str = "t1", minutes: int = 0, signal: str = "key_messages") -> AnomalyRow:
    return AnomalyRow(id=anomaly_id, tenant_id=tenant, signal=signal, scope="key", scope_id="key_1",  # type: ignore[arg-type]
                      direction="above", observed=60.0, unit="messages", volume=60, baseline_mean=1.25,
                      baseline_sigma=1.0, deviation=58.75, window_start=T0, window_end=T0 + timedelta(minutes=5),
                      severity="critical", detected_at=T0 + timedelta(minutes=minutes))


async def test_a_signals_state_is_started_once_and_saved_in_place(store: AnomalyStore) -> None:
    first = SignalState("t1", "reply_latency", "agt_1", T0, amount=800.0, volume=1)
    async with store() as uow:
        await uow.anomalies.start(first)
        await uow.anomalies.start(replace(first, amount=5.0))  # a concurrent first event: nothing written
        await uow.anomalies.start(SignalState("t2", "reply_latency", "agt_1", T0))
    async with store() as uow:
        assert await uow.anomalies.state("t1", "reply_latency", "agt_1") == first
        later = replace(first, bucket_start=T0 + timedelta(minutes=5), amount=0.0, volume=0, mean=800.0, var=12.5,
                        buckets=3, anomalous_run=1, quiet_run=2, open_anomaly_id="anm_1")
        await uow.anomalies.save(later)
    async with store() as uow:
        assert await uow.anomalies.state("t1", "reply_latency", "agt_1") == later
        assert await uow.anomalies.state("t2", "reply_latency", "agt_1") == SignalState(
            "t2", "reply_latency", "agt_1", T0)
        assert await uow.anomalies.state("t3", "reply_latency", "agt_1") is None


async def test_the_tick_finds_every_tenants_ended_buckets_with_something_to_close(store: AnomalyStore) -> None:
    async with store() as uow:
        await uow.anomalies.start(SignalState("t1", "key_messages", "key_1", T0, amount=3.0, volume=3))
        await uow.anomalies.start(SignalState("t2", "qualification_rate", "agt_2", T0, amount=1.0))
        await uow.anomalies.start(SignalState("t2", "crm_failures", "t2", T0, open_anomaly_id="anm_1"))
        await uow.anomalies.start(SignalState("t3", "key_messages", "key_3", T0))  # idle: left as it is
        await uow.anomalies.start(SignalState("t4", "key_messages", "key_4", T0 + timedelta(minutes=5), volume=2))
    async with store.reading() as repos:
        due = await repos.anomalies.due(T0 + timedelta(minutes=5), 10)
        assert sorted(due) == [("t1", "key_messages", "key_1"), ("t2", "crm_failures", "t2"),
                               ("t2", "qualification_rate", "agt_2")]
        assert len(await repos.anomalies.due(T0 + timedelta(minutes=5), 2)) == 2
        assert await repos.anomalies.due(T0, 10) == []


async def test_anomalies_are_listed_newest_first_by_cursor_filtered_and_resolved_once(store: AnomalyStore) -> None:
    async with store() as uow:
        for i in range(3):
            await uow.anomalies.add(anomaly(f"anm_{i}", minutes=i))
        await uow.anomalies.add(anomaly("anm_r", minutes=1, signal="reply_latency"))
        await uow.anomalies.add(anomaly("anm_other", tenant="t2", minutes=5))
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError on SQL, ValueError in memory
        async with store() as uow:
            await uow.anomalies.add(anomaly("anm_0"))
    later = T0 + timedelta(minutes=10)
    async with store() as uow:
        await uow.anomalies.resolve("t1", "anm_1", later, "recovered")
        await uow.anomalies.resolve("t1", "anm_1", later + timedelta(minutes=5), "quiet")  # already resolved
        await uow.anomalies.resolve("t2", "anm_2", later, "recovered")  # another tenant's id: nothing
    async with store.reading() as repos:
        assert await repos.anomalies.get("t1", "anm_0") == anomaly("anm_0")
        assert await repos.anomalies.get("t2", "anm_0") is None
        assert await repos.anomalies.get("t1", "anm_1") == replace(anomaly("anm_1", minutes=1), status="resolved",
                                                                    resolved_at=later, resolution="recovered")
        every = await repos.anomalies.page("t1", 10, None)
        assert [a.id for a in every] == ["anm_2", "anm_r", "anm_1", "anm_0"]
        first = await repos.anomalies.page("t1", 2, None)
        rest = await repos.anomalies.page("t1", 10, anomalies_cursor(first[-1]))
        assert [a.id for a in first + rest] == ["anm_2", "anm_r", "anm_1", "anm_0"]
        assert [a.id for a in await repos.anomalies.page("t1", 10, None, status="open")] == ["anm_2", "anm_r", "anm_0"]
        assert [a.id for a in await repos.anomalies.page("t1", 10, None, status="resolved")] == ["anm_1"]
        assert [a.id for a in await repos.anomalies.page("t1", 10, None, signal="reply_latency")] == ["anm_r"]
        assert [a.id for a in await repos.anomalies.page("t2", 10, None)] == ["anm_other"]
        assert await repos.anomalies.page("t1", 10, "not-a-cursor") == []
