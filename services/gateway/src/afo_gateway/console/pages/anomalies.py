"""Anomalies: what anomaly detection (workflow-executor) found in the tenant's agents, API keys and deliveries,
newest first, open ones or all; the table fetches itself again when the live feed says an anomaly was detected
or resolved (``afo-feed-anomaly``). The same list as ``GET /v1/anomalies``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from afo_common.rpcs.workflow_executor_anomalies import AnomalyStatus, AnomalyView
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router
from afo_gateway.console.session import CurrentViewer
from afo_gateway.entrypoints.http.dependencies import gateway
from afo_gateway.handlers.anomalies import Anomalies

router = console_router()
PAGE = 50


def shown(value: float, unit: str) -> str:
    """A signal's value as people read it: a share as a percentage, latency in ms, messages as a count."""
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.1f}".removesuffix(".0")


def about(anomaly: AnomalyView) -> str:
    if anomaly.agent_id:
        return f"agent {anomaly.agent_id}"
    if anomaly.key_id:
        return f"API key {anomaly.key_id}"
    return "all of the tenant's"


@router.get("/anomalies")
async def anomalies(request: Request, viewer: CurrentViewer, cursor: Annotated[str | None, Query(max_length=64)] = None,
                    status: Annotated[AnomalyStatus | None, Query()] = None) -> Response:
    page = await Anomalies(gateway(request).owners).list(viewer.principal, PAGE, cursor, status)
    return render(request, "anomalies.html", page=page, status=status, shown=shown, about=about)
