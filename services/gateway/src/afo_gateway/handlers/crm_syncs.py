"""A lead's CRM syncs (the run record workflow-executor keeps): for a principal that may read leads, of a lead
of its own tenant (404 otherwise, as ``GET /v1/leads/{id}``)."""

from __future__ import annotations

from afo_common.rpcs import agent_runtime as ar
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_crm import LIST_CRM_SYNCS, CrmSyncView, ListCrmSyncs
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.owners import Owners


async def lead_crm_syncs(owners: Owners, principal: Principal, lead_id: str, limit: int,
                         cursor: str | None) -> Page[CrmSyncView]:
    require(principal, Permission.READ)
    await owners.call(ar.GET_LEAD, ar.LeadRef(tenant_id=principal.tenant_id, lead_id=lead_id))
    request = ListCrmSyncs(tenant_id=principal.tenant_id, lead_id=lead_id, limit=limit, cursor=cursor)
    return await owners.call(LIST_CRM_SYNCS, request)
