"""Every tenant's anomalies for the platform's operators (``anomalies.list_platform``), on memory, SQLite and
PostgreSQL: newest first across tenants, each naming its tenant, paged by the same cursor as a tenant's list,
filtered by status and signal; a cursor that is not one gives an empty page, as a tenant's list does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.workflow_executor_anomalies import ListPlatformAnomalies
from afo_testkit.clock import FixedClock
from afo_testkit.postgres import PostgresDatabases
from afo_testkit.postgres import postgres_server as postgres_server
from afo_testkit.stores import BACKENDS, migrated_database
from afo_workflow_executor.adapters.anomaly_memory import memory_anomaly_store
from afo_workflow_executor.adapters.store import sql_store
from afo_workflow_executor.adapters.tables import messaging
from afo_workflow_executor.domain.anomalies import AnomalyRow, Params
from afo_workflow_executor.handlers.anomalies import AnomalyDetector
from afo_workflow_executor.handlers.anomaly_repositories import AnomalyStore

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


def anomaly(anomaly_id: str, tenant: str, minutes: int, signal: str = "key_messages") -> AnomalyRow:
    return AnomalyRow(id=anomaly_id, tenant_id=tenant, signal=signal, scope="key", scope_id="key_1",  # type: ignore[arg-type]
                      direction="above", observed=60.0, unit="messages", volume=60, baseline_mean=1.25,
                      baseline_sigma=1.0, deviation=58.75, window_start=T0, window_end=T0 + timedelta(minutes=5),
                      severity="critical", detected_at=T0 + timedelta(minutes=minutes))


async def test_operators_list_every_tenants_anomalies_newest_first_by_cursor_and_filter(store: AnomalyStore) -> None:
    async with store() as uow:
        await uow.anomalies.add(anomaly("anm_1", "t1", 0))
        await uow.anomalies.add(anomaly("anm_2", "t2", 1, signal="crm_failures"))
        await uow.anomalies.add(anomaly("anm_3", "t1", 2))
        await uow.anomalies.resolve("t1", "anm_1", T0 + timedelta(minutes=9), "recovered")
    detector = AnomalyDetector(store, FixedClock(T0), Params())

    first = await detector.list_platform(ListPlatformAnomalies(limit=2))
    rest = await detector.list_platform(ListPlatformAnomalies(limit=2, cursor=first.next_cursor))
    still_open = await detector.list_platform(ListPlatformAnomalies(status="open"))
    crm = await detector.list_platform(ListPlatformAnomalies(signal="crm_failures"))
    nonsense = await detector.list_platform(ListPlatformAnomalies(cursor="not-a-cursor"))

    assert [(a.id, a.tenant_id) for a in first.data + rest.data] == [("anm_3", "t1"), ("anm_2", "t2"), ("anm_1", "t1")]
    assert first.next_cursor is not None and rest.next_cursor is None
    assert [a.id for a in still_open.data] == ["anm_3", "anm_2"]
    assert [(a.id, a.signal) for a in crm.data] == [("anm_2", "crm_failures")]
    assert nonsense.data == []
    async with store.reading() as repos:
        assert [a.id for a in await repos.anomalies.page("t2", 10, None)] == ["anm_2"]  # a tenant's, still its own
