"""Queries on the lead projection, CRM syncs, their provider calls and leads' CRM records. Every method is
scoped to one tenant. Saves are read-then-write inside the caller's transaction: the sync handler holds the
lead while it works, and the keys (tenant+event, tenant+idempotency key, tenant+lead+provider) refuse a
second row whatever happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_workflow_executor.adapters.tables import crm_claims, crm_leads, crm_links, crm_syncs, provider_calls
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import CrmLinkRow, CrmSyncRow, ProviderCallRow

_LEAD_COLUMNS = ("conversation_id", "agent_id", "fields", "fields_at", "qualified", "summary", "outcome",
                 "next_step", "analyzed_at", "meeting_id", "meeting_start", "meeting_at", "created_at",
                 "updated_at")
_SYNC_COLUMNS = ("lead_id", "event_id", "trigger", "provider", "status", "deliveries", "action", "record_id",
                 "url", "reason", "http_status", "created_at", "updated_at")
_CALL_COLUMNS = ("sync_id", "step", "attempts", "done", "http_status", "error", "created_at", "updated_at")


def _values(row: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def lead_record(r: Any) -> LeadRecord:
    return LeadRecord(id=r.id, tenant_id=r.tenant_id, **{name: getattr(r, name) for name in _LEAD_COLUMNS})


def sync_row(r: Any) -> CrmSyncRow:
    return CrmSyncRow(id=r.id, tenant_id=r.tenant_id, **{name: getattr(r, name) for name in _SYNC_COLUMNS})


def call_row(r: Any) -> ProviderCallRow:
    return ProviderCallRow(idempotency_key=r.idempotency_key, tenant_id=r.tenant_id,
                           **{name: getattr(r, name) for name in _CALL_COLUMNS})


class CrmLeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        result = await self._session.execute(
            select(crm_leads).where(crm_leads.c.tenant_id == tenant_id, crm_leads.c.id == lead_id))
        row = result.first()
        return lead_record(row) if row else None

    async def save(self, row: LeadRecord) -> None:
        values = _values(row, _LEAD_COLUMNS)
        where = (crm_leads.c.tenant_id == row.tenant_id, crm_leads.c.id == row.id)
        await _upsert(self._session, crm_leads, where, {"tenant_id": row.tenant_id, "id": row.id}, values)


class CrmSyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def for_event(self, tenant_id: str, event_id: str) -> CrmSyncRow | None:
        result = await self._session.execute(
            select(crm_syncs).where(crm_syncs.c.tenant_id == tenant_id, crm_syncs.c.event_id == event_id))
        row = result.first()
        return sync_row(row) if row else None

    async def save(self, row: CrmSyncRow) -> None:
        where = (crm_syncs.c.tenant_id == row.tenant_id, crm_syncs.c.id == row.id)
        await _upsert(self._session, crm_syncs, where, {"tenant_id": row.tenant_id, "id": row.id},
                      _values(row, _SYNC_COLUMNS))

    async def page(self, tenant_id: str, lead_id: str, limit: int, before: str | None) -> list[CrmSyncRow]:
        query = select(crm_syncs).where(crm_syncs.c.tenant_id == tenant_id, crm_syncs.c.lead_id == lead_id)
        if before:
            query = query.where(crm_syncs.c.id < before)
        result = await self._session.execute(query.order_by(crm_syncs.c.id.desc()).limit(limit))
        return [sync_row(r) for r in result]

    async def call(self, tenant_id: str, idempotency_key: str) -> ProviderCallRow | None:
        result = await self._session.execute(
            select(provider_calls).where(provider_calls.c.tenant_id == tenant_id,
                                         provider_calls.c.idempotency_key == idempotency_key))
        row = result.first()
        return call_row(row) if row else None

    async def save_call(self, row: ProviderCallRow) -> None:
        where = (provider_calls.c.tenant_id == row.tenant_id, provider_calls.c.idempotency_key == row.idempotency_key)
        key = {"tenant_id": row.tenant_id, "idempotency_key": row.idempotency_key}
        await _upsert(self._session, provider_calls, where, key, _values(row, _CALL_COLUMNS))

    async def calls(self, tenant_id: str, sync_ids: list[str]) -> list[ProviderCallRow]:
        if not sync_ids:
            return []
        result = await self._session.execute(
            select(provider_calls)
            .where(provider_calls.c.tenant_id == tenant_id, provider_calls.c.sync_id.in_(sync_ids))
            .order_by(provider_calls.c.created_at, provider_calls.c.step))
        return [call_row(r) for r in result]

    async def link(self, tenant_id: str, lead_id: str, provider: str) -> CrmLinkRow | None:
        result = await self._session.execute(
            select(crm_links).where(crm_links.c.tenant_id == tenant_id, crm_links.c.lead_id == lead_id,
                                    crm_links.c.provider == provider))
        r = result.first()
        return CrmLinkRow(r.tenant_id, r.lead_id, r.provider, r.record_id, r.url, r.created_at,
                          r.updated_at) if r else None

    async def save_link(self, row: CrmLinkRow) -> None:
        where = (crm_links.c.tenant_id == row.tenant_id, crm_links.c.lead_id == row.lead_id,
                 crm_links.c.provider == row.provider)
        key = {"tenant_id": row.tenant_id, "lead_id": row.lead_id, "provider": row.provider}
        changed = {"record_id": row.record_id, "url": row.url, "updated_at": row.updated_at}
        updated = await self._session.execute(update(crm_links).where(*where).values(**changed))
        if not getattr(updated, "rowcount", 0):
            await self._session.execute(insert(crm_links).values(**key, **changed, created_at=row.created_at))

    async def claim(self, tenant_id: str, lead_id: str, owner: str, now: datetime, until: datetime) -> bool:
        taken = await self._session.execute(
            update(crm_claims)
            .where(crm_claims.c.tenant_id == tenant_id, crm_claims.c.lead_id == lead_id,
                   or_(crm_claims.c.owner == owner, crm_claims.c.until <= now))
            .values(owner=owner, until=until))
        if getattr(taken, "rowcount", 0):
            return True
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(crm_claims).values(tenant_id=tenant_id, lead_id=lead_id, owner=owner, until=until))
        except IntegrityError:  # held by another, whose claim has not lapsed
            return False
        return True

    async def release(self, tenant_id: str, lead_id: str, owner: str) -> None:
        await self._session.execute(
            delete(crm_claims).where(crm_claims.c.tenant_id == tenant_id, crm_claims.c.lead_id == lead_id,
                                     crm_claims.c.owner == owner))


async def _upsert(session: AsyncSession, table: Table, where: tuple[Any, ...], key: dict[str, Any],
                  values: dict[str, Any]) -> None:
    updated = await session.execute(update(table).where(*where).values(**values))
    if not getattr(updated, "rowcount", 0):
        await session.execute(insert(table).values(**key, **values))
