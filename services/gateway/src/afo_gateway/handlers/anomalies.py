"""The tenant's anomalies, found by workflow-executor's anomaly detection: the gateway checks the caller may read
(never a publishable key), then asks the owner over RPC for the caller's tenant only."""

from __future__ import annotations

from afo_common.events.anomaly import Signal
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import LIST_ANOMALIES, AnomalyStatus, AnomalyView, ListAnomalies
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.owners import Owners


class Anomalies:
    def __init__(self, owners: Owners) -> None:
        self._owners = owners

    async def list(self, principal: Principal, limit: int, cursor: str | None, status: AnomalyStatus | None = None,
                   signal: Signal | None = None) -> Page[AnomalyView]:
        require(principal, Permission.READ)
        return await self._owners.call(LIST_ANOMALIES, ListAnomalies(
            tenant_id=principal.tenant_id, limit=limit, cursor=cursor, status=status, signal=signal))
