"""RPC contract of workflow-executor's anomaly detection: the anomalies it found for a tenant, newest first (the
gateway serves it as ``GET /v1/anomalies``). An anomaly is one bucket of one signal of an agent, an API key
(``key_id``: the key's id, never its secret) or the tenant, far from that signal's own baseline; it stays
``open`` until the signal recovers; operators list every tenant's (``anomalies.list_platform``). The method:
``docs/architecture.md``, "Anomaly detection"."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.anomaly import Resolution, Scope, Severity, Signal
from afo_common.messaging.rpc import RpcOperation
from afo_common.rpcs.pages import Page, PageRequest

SERVICE = "workflow-executor"
AnomalyStatus = Literal["open", "resolved"]


class ListAnomalies(PageRequest):
    status: AnomalyStatus | None = None
    signal: Signal | None = None


class AnomalyView(BaseModel):
    id: str
    signal: Signal
    scope: Scope
    agent_id: str | None
    key_id: str | None
    status: AnomalyStatus
    severity: Severity
    direction: Literal["above", "below"]
    observed: float
    unit: Literal["ms", "ratio", "messages"]
    volume: int = Field(description="events in the bucket: replies, conversations started, attempts, messages")
    baseline_mean: float
    baseline_sigma: float
    deviation: float = Field(description="(observed - baseline_mean) / baseline_sigma")
    window_start: datetime
    window_end: datetime
    detected_at: datetime
    resolved_at: datetime | None
    resolution: Resolution | None


class ListPlatformAnomalies(BaseModel):
    """Every tenant's anomalies, for the platform's operators (the gateway's ``GET /v1/admin/anomalies``); the
    one RPC of this service that is not scoped to a tenant, so the gateway asks it only for an operator."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=64)
    status: AnomalyStatus | None = None
    signal: Signal | None = None


class PlatformAnomalyView(AnomalyView):
    tenant_id: str


LIST_ANOMALIES = RpcOperation(SERVICE, "anomalies.list", ListAnomalies, Page[AnomalyView])
LIST_PLATFORM_ANOMALIES = RpcOperation(SERVICE, "anomalies.list_platform", ListPlatformAnomalies,
                                       Page[PlatformAnomalyView])

OPERATIONS: list[RpcOperation[Any, Any]] = [LIST_ANOMALIES, LIST_PLATFORM_ANOMALIES]
