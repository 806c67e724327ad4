"""What CRM sync needs of storage (``uow.crm_leads``, ``uow.crm_syncs``); ``adapters/crm_repository.py``
implements them on the database, ``adapters/crm_memory.py`` in memory. Every method takes the tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from afo_workflow_executor.domain.crm_leads import LeadRecord
from afo_workflow_executor.domain.crm_records import CrmLinkRow, CrmSyncRow, ProviderCallRow


class CrmLeads(Protocol):
    async def get(self, tenant_id: str, lead_id: str) -> LeadRecord | None: ...

    async def save(self, row: LeadRecord) -> None:
        """Inserts the lead, or replaces what is stored of it."""
        ...


class CrmSyncs(Protocol):
    async def for_event(self, tenant_id: str, event_id: str) -> CrmSyncRow | None: ...

    async def save(self, row: CrmSyncRow) -> None:
        """Inserts the sync, or replaces what is stored of it (by id)."""
        ...

    async def page(self, tenant_id: str, lead_id: str, limit: int, before: str | None) -> list[CrmSyncRow]:
        """The lead's syncs, newest first (by id), those with an id below ``before``."""
        ...

    async def call(self, tenant_id: str, idempotency_key: str) -> ProviderCallRow | None: ...

    async def save_call(self, row: ProviderCallRow) -> None:
        """Inserts the call, or replaces what is stored of it (by tenant and idempotency key)."""
        ...

    async def calls(self, tenant_id: str, sync_ids: list[str]) -> list[ProviderCallRow]:
        """The calls of these syncs, in the order they were first made."""
        ...

    async def link(self, tenant_id: str, lead_id: str, provider: str) -> CrmLinkRow | None: ...

    async def save_link(self, row: CrmLinkRow) -> None:
        """Inserts the link, or replaces its record id and url (keeping when it was created)."""
        ...

    async def claim(self, tenant_id: str, lead_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Whether ``owner`` holds the lead until ``until`` now: it did already, or nobody did, or the holder's
        claim lapsed before ``now``. Run it in a unit of work of its own."""
        ...

    async def release(self, tenant_id: str, lead_id: str, owner: str) -> None:
        """Ends ``owner``'s claim on the lead (another's is left alone)."""
        ...
