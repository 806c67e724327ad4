"""Anomalies of the tenant's agents, API keys and deliveries (found by workflow-executor against each signal's
own baseline; the method is in docs/architecture.md, "Anomaly detection")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from afo_common.events.anomaly import Signal
from afo_common.rpcs.pages import Page
from afo_common.rpcs.workflow_executor_anomalies import AnomalyStatus, AnomalyView
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, Cursor, GatewayDep, Limit
from afo_gateway.handlers.anomalies import Anomalies

router = APIRouter(prefix="/v1/anomalies", tags=["anomalies"])


@router.get("", response_model=Page[AnomalyView])
async def list_anomalies(principal: CurrentPrincipal, gw: GatewayDep, limit: Limit = 20, cursor: Cursor = None,
                         status: Annotated[AnomalyStatus | None, Query()] = None,
                         signal: Annotated[Signal | None, Query()] = None) -> Page[AnomalyView]:
    """Newest first; ``status=open`` for those not yet recovered. Each names its signal, the agent (``agent_id``)
    or API key (``key_id``) it is about (neither: the tenant's CRM syncs or webhooks), the bucket
    (``window_start`` to ``window_end``), what was observed against the baseline's mean and standard deviation,
    and its severity."""
    return await Anomalies(gw.owners).list(principal, limit, cursor, status, signal)
