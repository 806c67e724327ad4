"""CRM sync as the tenant's workflows say: a lead event reaches CRM sync (``handlers/crm_sync.py``) when an
enabled workflow with that event as trigger has a ``sync_crm`` step and its conditions hold — the default
funnel has one per event CRM sync follows, so a tenant who changes nothing sees no difference, and one who
disables them stops every CRM sync.

``lead.created`` and ``lead.updated`` only keep the lead projection and always pass. An event no workflow
asks to sync still updates the projection (later syncs and conditions read it): ``CrmSync.project``, under the
same per-lead lock as a sync."""

from __future__ import annotations

from afo_common.events.conversation import LeadCreated, LeadUpdated
from afo_common.messaging.consumer import Delivery
from afo_common.rpcs.workflow_executor_workflows import WorkflowSpec
from afo_workflow_executor.domain.workflows import lead_fields, unmet
from afo_workflow_executor.handlers.crm_sync import CrmSync
from afo_workflow_executor.handlers.workflow_repositories import WorkflowStore
from afo_workflow_executor.handlers.workflows import WorkflowBook


class GatedCrmSync:
    def __init__(self, sync: CrmSync, store: WorkflowStore, book: WorkflowBook) -> None:
        self._sync, self._store, self._book = sync, store, book

    async def __call__(self, delivery: Delivery) -> None:
        lead_id = getattr(delivery.payload, "lead_id", None)
        if lead_id is None or isinstance(delivery.payload, (LeadCreated, LeadUpdated)):
            await self._sync(delivery)
            return
        if await self.wanted(delivery, lead_id):
            await self._sync(delivery)
            return
        await self._sync.project(delivery)

    async def wanted(self, delivery: Delivery, lead_id: str) -> bool:
        tenant_id = delivery.envelope.tenantid
        await self._book.ensure_defaults(tenant_id)
        data = delivery.payload.model_dump(mode="json")
        async with self._store.reading() as repos:
            workflows = await repos.workflows.enabled(tenant_id, delivery.payload.event_name)
            syncing = [WorkflowSpec.model_validate(w.spec) for w in workflows]
            syncing = [s for s in syncing if any(a.type == "sync_crm" for a in s.actions)]
            if not syncing:
                return False
            lead = await repos.crm_leads.get(tenant_id, lead_id)
        fields = lead_fields(lead, data)
        return any(unmet(spec, data, fields) is None for spec in syncing)
