"""Anomaly detection's repositories in memory: the same answers as the database's
(``handlers/anomaly_repositories.py``), so a handler test runs in milliseconds; the repository tests run on
both."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from afo_common.events.anomaly import Resolution, Signal
from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_workflow_executor.domain.anomalies import AnomalyRow, SignalState
from afo_workflow_executor.handlers.anomaly_repositories import AnomalyStore, SignalKey, cursor_parts


@dataclass
class AnomalyTables:
    signals: dict[SignalKey, SignalState] = field(default_factory=dict)
    anomalies: dict[str, AnomalyRow] = field(default_factory=dict)


class MemoryAnomalies:
    def __init__(self, tables: AnomalyTables) -> None:
        self._t = tables

    async def state(self, tenant_id: str, signal: Signal, scope_id: str) -> SignalState | None:
        row = self._t.signals.get((tenant_id, signal, scope_id))
        return _stored(row) if row is not None else None

    async def start(self, row: SignalState) -> None:
        self._t.signals.setdefault((row.tenant_id, row.signal, row.scope_id), _stored(row))

    async def save(self, row: SignalState) -> None:
        key = (row.tenant_id, row.signal, row.scope_id)
        if key in self._t.signals:
            self._t.signals[key] = _stored(row)

    async def due(self, before: datetime, limit: int) -> list[SignalKey]:
        rows = sorted((r for r in self._t.signals.values() if r.bucket_start < before and r.pending),
                      key=lambda r: r.bucket_start)
        return [(r.tenant_id, r.signal, r.scope_id) for r in rows[:limit]]

    async def add(self, row: AnomalyRow) -> None:
        if row.id in self._t.anomalies:
            raise ValueError(f"anomaly {row.id} exists")
        self._t.anomalies[row.id] = _stored(row)

    async def resolve(self, tenant_id: str, anomaly_id: str, resolved_at: datetime, resolution: Resolution) -> None:
        found = self._t.anomalies.get(anomaly_id)
        if found is not None and found.tenant_id == tenant_id and found.status == "open":
            self._t.anomalies[anomaly_id] = _stored(replace(found, status="resolved", resolved_at=resolved_at,
                                                            resolution=resolution))

    async def get(self, tenant_id: str, anomaly_id: str) -> AnomalyRow | None:
        found = self._t.anomalies.get(anomaly_id)
        return _stored(found) if found is not None and found.tenant_id == tenant_id else None

    async def page(self, tenant_id: str, limit: int, before: str | None, *, status: str | None = None,
                   signal: Signal | None = None) -> list[AnomalyRow]:
        return self._page(tenant_id, limit, before, status, signal)

    async def platform_page(self, limit: int, before: str | None, *, status: str | None = None,
                            signal: Signal | None = None) -> list[AnomalyRow]:
        return self._page(None, limit, before, status, signal)

    def _page(self, tenant_id: str | None, limit: int, before: str | None, status: str | None,
              signal: Signal | None) -> list[AnomalyRow]:
        after = cursor_parts(before) if before else None
        if before and after is None:
            return []
        rows = [r for r in self._t.anomalies.values() if tenant_id in (None, r.tenant_id) and status in (None, r.status)
                and signal in (None, r.signal) and (after is None or (r.detected_at, r.id) < after)]
        rows.sort(key=lambda r: (r.detected_at, r.id), reverse=True)
        return [_stored(r) for r in rows[:limit]]


class MemoryAnomalyRepositories(Repositories):
    def __init__(self, tables: AnomalyTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.anomalies = MemoryAnomalies(tables)


def memory_anomaly_store() -> MemoryStore[AnomalyTables, MemoryAnomalyRepositories]:
    store = MemoryStore(AnomalyTables(), MemoryAnomalyRepositories, "workflow-executor")
    _: AnomalyStore = store  # mypy holds these repositories to the handlers' Protocols
    return store
