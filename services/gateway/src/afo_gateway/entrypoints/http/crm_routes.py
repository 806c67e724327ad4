"""The run record of a lead's CRM syncs: which CRM, created or updated, the record and its URL, or why it
failed or was skipped, with every provider call's attempts and HTTP status."""

from __future__ import annotations

from fastapi import APIRouter

from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_crm import CrmSyncView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, LeadId, Limit
from afo_gateway.handlers.crm_syncs import lead_crm_syncs

router = APIRouter(prefix="/v1")


@router.get("/leads/{lead_id}/crm-syncs", response_model=Page[CrmSyncView], tags=["leads"])
async def list_crm_syncs(lead_id: LeadId, principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20,
                         cursor: Cursor = None) -> Page[CrmSyncView]:
    """Newest first."""
    return await lead_crm_syncs(gw.owners, principal, lead_id, limit, cursor)
