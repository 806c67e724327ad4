"""RPC contracts of workflow-executor's CRM sync: the run record of a lead's syncs, as a tenant reads it.

A sync is one event that asked for the lead to reach the tenant's CRM (``lead.qualified``,
``conversation.analyzed``, ``meeting.booked``, ``meeting.cancelled``); its steps are the provider calls it
made, each under an idempotency key, with how many HTTP attempts it took, the last HTTP status and, for a
failure, the reason. No credential appears in any of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "workflow-executor"


class ListCrmSyncs(PageRequest):
    lead_id: str = Field(min_length=1, max_length=64)


class ProviderCallView(BaseModel):
    step: str
    idempotency_key: str
    attempts: int
    done: bool
    http_status: int | None
    error: str | None


class CrmSyncView(BaseModel):
    id: str
    lead_id: str
    trigger: str
    provider: Literal["builtin", "hubspot", "salesforce", "pipedrive"]
    # ``retrying``: the provider may recover and the event is tried again; ``skipped``: the lead has no email.
    status: Literal["retrying", "synced", "failed", "skipped"]
    action: Literal["created", "updated"] | None
    record_id: str | None
    url: str | None
    reason: str | None
    http_status: int | None
    deliveries: int
    steps: list[ProviderCallView]
    created_at: datetime
    updated_at: datetime


LIST_CRM_SYNCS = RpcOperation(SERVICE, "crm_syncs.list", ListCrmSyncs, Page[CrmSyncView])

OPERATIONS: list[RpcOperation[Any, Any]] = [LIST_CRM_SYNCS]
