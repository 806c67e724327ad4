"""CRM sync's repositories in memory, with the same answers as ``crm_repository.py`` (the repository tests run
on both). Rows live in ``MemoryTables`` (``adapters/memory.py``) under their tables' keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol

from afo_common.messaging.store import as_stored as _stored
from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import CrmLinkRow, CrmSyncRow, ProviderCallRow


class CrmTables(Protocol):
    crm_leads: dict[tuple[str, str], LeadRecord]
    crm_syncs: dict[str, CrmSyncRow]
    provider_calls: dict[tuple[str, str], ProviderCallRow]
    crm_links: dict[tuple[str, str, str], CrmLinkRow]
    crm_claims: dict[tuple[str, str], tuple[str, datetime]]


class MemoryCrmLeads:
    def __init__(self, tables: CrmTables) -> None:
        self._t = tables

    async def get(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        row = self._t.crm_leads.get((tenant_id, lead_id))
        return _stored(row) if row is not None else None

    async def save(self, row: LeadRecord) -> None:
        self._t.crm_leads[(row.tenant_id, row.id)] = _stored(row)


class MemoryCrmSyncs:
    def __init__(self, tables: CrmTables) -> None:
        self._t = tables

    async def for_event(self, tenant_id: str, event_id: str) -> CrmSyncRow | None:
        found = [s for s in self._t.crm_syncs.values() if (s.tenant_id, s.event_id) == (tenant_id, event_id)]
        return _stored(found[0]) if found else None

    async def save(self, row: CrmSyncRow) -> None:
        held = self._t.crm_syncs.get(row.id)
        if held is not None and held.tenant_id != row.tenant_id:
            return
        if held is None and await self.for_event(row.tenant_id, row.event_id) is not None:
            raise ValueError(f"a sync of event {row.event_id} exists")  # the table's unique key
        self._t.crm_syncs[row.id] = _stored(row)

    async def page(self, tenant_id: str, lead_id: str, limit: int, before: str | None) -> list[CrmSyncRow]:
        rows = [s for s in self._t.crm_syncs.values()
                if (s.tenant_id, s.lead_id) == (tenant_id, lead_id) and (not before or s.id < before)]
        return [_stored(s) for s in sorted(rows, key=lambda s: s.id, reverse=True)[:limit]]

    async def call(self, tenant_id: str, idempotency_key: str) -> ProviderCallRow | None:
        row = self._t.provider_calls.get((tenant_id, idempotency_key))
        return _stored(row) if row is not None else None

    async def save_call(self, row: ProviderCallRow) -> None:
        self._t.provider_calls[(row.tenant_id, row.idempotency_key)] = _stored(row)

    async def calls(self, tenant_id: str, sync_ids: list[str]) -> list[ProviderCallRow]:
        rows = [c for c in self._t.provider_calls.values() if c.tenant_id == tenant_id and c.sync_id in sync_ids]
        return [_stored(c) for c in sorted(rows, key=lambda c: (c.created_at, c.step))]

    async def link(self, tenant_id: str, lead_id: str, provider: str) -> CrmLinkRow | None:
        row = self._t.crm_links.get((tenant_id, lead_id, provider))
        return _stored(row) if row is not None else None

    async def save_link(self, row: CrmLinkRow) -> None:
        key = (row.tenant_id, row.lead_id, row.provider)
        held = self._t.crm_links.get(key)
        kept = row if held is None else replace(held, record_id=row.record_id, url=row.url, updated_at=row.updated_at)
        self._t.crm_links[key] = _stored(kept)

    async def claim(self, tenant_id: str, lead_id: str, owner: str, now: datetime, until: datetime) -> bool:
        held = self._t.crm_claims.get((tenant_id, lead_id))
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._t.crm_claims[(tenant_id, lead_id)] = (owner, until)
        return True

    async def release(self, tenant_id: str, lead_id: str, owner: str) -> None:
        held = self._t.crm_claims.get((tenant_id, lead_id))
        if held is not None and held[0] == owner:
            del self._t.crm_claims[(tenant_id, lead_id)]
