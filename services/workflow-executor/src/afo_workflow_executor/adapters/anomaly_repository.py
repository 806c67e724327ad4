"""Queries on anomaly detection's signal states and the anomalies found. Every method is scoped to one tenant
but ``due``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.db import insert_with_conflicts
from afo_common.events.anomaly import Resolution, Signal
from afo_workflow_executor.adapters.tables import anomalies, anomaly_signals
from afo_workflow_executor.domain.anomalies import AnomalyRow, SignalState
from afo_workflow_executor.handlers.anomaly_repositories import SignalKey, cursor_parts

_STATE = ("bucket_start", "amount", "volume", "mean", "var", "buckets", "anomalous_run", "quiet_run",
          "open_anomaly_id")
_ANOMALY = ("tenant_id", "signal", "scope", "scope_id", "direction", "observed", "unit", "volume", "baseline_mean",
            "baseline_sigma", "deviation", "window_start", "window_end", "severity", "detected_at", "status",
            "resolved_at", "resolution")


def _state(r: Any) -> SignalState:
    return SignalState(tenant_id=r.tenant_id, signal=r.signal, scope_id=r.scope_id,
                       **{n: getattr(r, n) for n in _STATE})


def _anomaly(r: Any) -> AnomalyRow:
    return AnomalyRow(id=r.id, **{n: getattr(r, n) for n in _ANOMALY})


def _key(tenant_id: str, signal: str, scope_id: str) -> Any:
    return and_(anomaly_signals.c.tenant_id == tenant_id, anomaly_signals.c.signal == signal,
                anomaly_signals.c.scope_id == scope_id)


class AnomalyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def state(self, tenant_id: str, signal: Signal, scope_id: str) -> SignalState | None:
        result = await self._session.execute(
            select(anomaly_signals).where(_key(tenant_id, signal, scope_id)).with_for_update())
        row = result.first()
        return _state(row) if row else None

    async def start(self, row: SignalState) -> None:
        await self._session.execute(insert_with_conflicts(self._session, anomaly_signals).values(
            tenant_id=row.tenant_id, signal=row.signal, scope_id=row.scope_id,
            **{n: getattr(row, n) for n in _STATE}).on_conflict_do_nothing())

    async def save(self, row: SignalState) -> None:
        await self._session.execute(update(anomaly_signals).where(_key(row.tenant_id, row.signal, row.scope_id))
                                    .values(**{n: getattr(row, n) for n in _STATE}))

    async def due(self, before: datetime, limit: int) -> list[SignalKey]:
        c = anomaly_signals.c
        result = await self._session.execute(
            select(c.tenant_id, c.signal, c.scope_id)
            .where(c.bucket_start < before, or_(c.volume > 0, c.amount != 0, c.open_anomaly_id.is_not(None)))
            .order_by(c.bucket_start).limit(limit))
        return [(r.tenant_id, r.signal, r.scope_id) for r in result]

    async def add(self, row: AnomalyRow) -> None:
        await self._session.execute(insert(anomalies).values(id=row.id, **{n: getattr(row, n) for n in _ANOMALY}))

    async def resolve(self, tenant_id: str, anomaly_id: str, resolved_at: datetime, resolution: Resolution) -> None:
        await self._session.execute(
            update(anomalies).where(anomalies.c.tenant_id == tenant_id, anomalies.c.id == anomaly_id,
                                    anomalies.c.status == "open")
            .values(status="resolved", resolved_at=resolved_at, resolution=resolution))

    async def get(self, tenant_id: str, anomaly_id: str) -> AnomalyRow | None:
        result = await self._session.execute(
            select(anomalies).where(anomalies.c.tenant_id == tenant_id, anomalies.c.id == anomaly_id))
        row = result.first()
        return _anomaly(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None, *, status: str | None = None,
                   signal: Signal | None = None) -> list[AnomalyRow]:
        return await self._page(select(anomalies).where(anomalies.c.tenant_id == tenant_id), limit, before,
                                status, signal)

    async def platform_page(self, limit: int, before: str | None, *, status: str | None = None,
                            signal: Signal | None = None) -> list[AnomalyRow]:
        return await self._page(select(anomalies), limit, before, status, signal)

    async def _page(self, query: Select[Any], limit: int, before: str | None, status: str | None,
                    signal: Signal | None) -> list[AnomalyRow]:
        c = anomalies.c
        if status is not None:
            query = query.where(c.status == status)
        if signal is not None:
            query = query.where(c.signal == signal)
        if before:
            parts = cursor_parts(before)
            if parts is None:
                return []
            at = parts[0]
            query = query.where(or_(c.detected_at < at, and_(c.detected_at == at, c.id < parts[1])))
        result = await self._session.execute(query.order_by(c.detected_at.desc(), c.id.desc()).limit(limit))
        return [_anomaly(r) for r in result]
