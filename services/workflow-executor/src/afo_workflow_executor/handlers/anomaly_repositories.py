"""What anomaly detection needs of storage (``uow.anomalies``): each signal's state (its open bucket and
baseline) and the anomalies found. ``adapters/anomaly_repository.py`` implements it on the database,
``adapters/anomaly_memory.py`` in memory; the repository tests run on both. Every method takes the tenant,
except ``due``: the tick reads every tenant's signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from afo_common.events.anomaly import Resolution, Signal
from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_workflow_executor.domain.anomalies import AnomalyRow, SignalState

SignalKey = tuple[str, Signal, str]  # (tenant, signal, scope id)


class Anomalies(Protocol):
    async def state(self, tenant_id: str, signal: Signal, scope_id: str) -> SignalState | None:
        """The signal's state, locked until the transaction ends (on PostgreSQL; SQLite has one writer), so two
        deliveries of one signal's events count one after the other."""
        ...

    async def start(self, row: SignalState) -> None:
        """The signal's first state, unless a concurrent transaction wrote one first (then nothing)."""
        ...

    async def save(self, row: SignalState) -> None: ...

    async def due(self, before: datetime, limit: int) -> list[SignalKey]:
        """Every tenant's signals whose open bucket started before ``before`` with something to close: events
        in it, or an open anomaly."""
        ...

    async def add(self, row: AnomalyRow) -> None: ...

    async def resolve(self, tenant_id: str, anomaly_id: str, resolved_at: datetime, resolution: Resolution) -> None:
        ...

    async def get(self, tenant_id: str, anomaly_id: str) -> AnomalyRow | None: ...

    async def page(self, tenant_id: str, limit: int, before: str | None, *, status: str | None = None,
                   signal: Signal | None = None) -> list[AnomalyRow]:
        """Newest first (detected, then id); ``before`` is a cursor ``anomalies_cursor`` made."""
        ...

    async def platform_page(self, limit: int, before: str | None, *, status: str | None = None,
                            signal: Signal | None = None) -> list[AnomalyRow]:
        """Every tenant's, the same way: the platform's operators' list, the one read here across tenants."""
        ...


class AnomalyRepositories(Protocol):
    @property
    def anomalies(self) -> Anomalies: ...


class AnomalyUnitOfWork(AnomalyRepositories, Events, Protocol):
    """The repositories in one transaction, with its events."""


AnomalyStore = GenericStore[AnomalyUnitOfWork, AnomalyRepositories]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def anomalies_cursor(row: AnomalyRow) -> str:
    return f"{(row.detected_at - EPOCH) // MICROSECOND}|{row.id}"


def cursor_parts(cursor: str) -> tuple[datetime, str] | None:
    """(detected at, id) of a cursor; None when it is not one."""
    micros, _, anomaly_id = cursor.partition("|")
    if not micros.isdigit() or not anomaly_id or len(micros) > 18:
        return None
    return EPOCH + int(micros) * MICROSECOND, anomaly_id
