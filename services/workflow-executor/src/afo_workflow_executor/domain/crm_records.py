"""The run record of CRM syncs as the store keeps them: one sync per event that asked for one, the provider
calls of its steps, and the record a lead has in a CRM once a sync made it.

Rules:
- A sync is keyed by the tenant and the event that caused it: a redelivery of the event continues the same
  sync (``deliveries`` counts them), never starts a second.
- A step's idempotency key is derived from the tenant, the event, the provider and the step
  (``idempotency_key``): the same on every delivery and on a replay, so a step recorded ``done`` is not
  sent again (a second note), and its attempts add up across deliveries.
- ``CrmLinkRow`` keeps, per (tenant, lead, provider), the record id the provider gave the first time; later
  syncs update that record by its id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SyncStatus = Literal["retrying", "synced", "failed", "skipped"]
FINAL: tuple[SyncStatus, ...] = ("synced", "failed", "skipped")


@dataclass(frozen=True)
class CrmSyncRow:
    id: str  # crs_…
    tenant_id: str
    lead_id: str
    event_id: str
    trigger: str  # the event's name: lead.qualified, conversation.analyzed, meeting.booked, meeting.cancelled
    provider: str
    status: SyncStatus
    deliveries: int
    created_at: datetime
    updated_at: datetime
    action: Literal["created", "updated"] | None = None
    record_id: str | None = None
    url: str | None = None
    reason: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class ProviderCallRow:
    idempotency_key: str
    tenant_id: str
    sync_id: str
    step: str  # "contact", "note"
    attempts: int  # HTTP requests sent for this step, over every delivery
    done: bool
    created_at: datetime
    updated_at: datetime
    http_status: int | None = None  # of the last answer; None when none came
    error: str | None = None  # the last failure's reason; None once done


@dataclass(frozen=True)
class CrmLinkRow:
    tenant_id: str
    lead_id: str
    provider: str
    record_id: str
    url: str | None
    created_at: datetime
    updated_at: datetime


def idempotency_key(tenant_id: str, event_id: str, provider: str, step: str) -> str:
    return hashlib.sha256(f"{tenant_id}\n{event_id}\n{provider}\n{step}".encode()).hexdigest()[:40]
