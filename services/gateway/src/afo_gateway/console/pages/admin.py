"""The operators' admin area: the platform's health and throughput, every tenant, consumer lag, the dead letters
(inspect one, replay it, discard it) and every tenant's anomalies. The same handlers as ``/v1/admin``, so the same
rule: only an operator's session (``Permission.VIEW_PLATFORM``; dead letters ``MANAGE_PLATFORM``) opens them, and
anyone else gets the 403 page. Health, lag and anomalies fetch themselves again when the live feed brings a
``health`` frame (every 5 s while an operator listens) or an anomaly (``afo-feed-health``, ``afo-feed-anomaly``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from afo_common.events.streams import ADVISORIES
from afo_common.rpcs.health import SERVICES
from afo_common.rpcs.workflow_executor_anomalies import AnomalyStatus
from afo_gateway.console.pages.anomalies import about, shown
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.access import Permission, require
from afo_gateway.domain.errors import ApiProblem, NotFound
from afo_gateway.entrypoints.http.dependencies import gateway

router = console_router()
PAGE = 50
ALL_CONSUMERS = 10_000
HOME = "/console/admin/health"
CursorQuery = Annotated[str | None, Query(max_length=300)]


@router.get("/admin")
async def admin(request: Request, viewer: CurrentViewer) -> Response:
    require(viewer.principal, Permission.VIEW_PLATFORM)
    return redirect(request, HOME)


@router.get("/admin/health")
async def health(request: Request, viewer: CurrentViewer) -> Response:
    report = await gateway(request).admin.health(viewer.principal)
    return render(request, "admin/health.html", report=report)


@router.get("/admin/tenants")
async def tenants(request: Request, viewer: CurrentViewer, cursor: CursorQuery = None) -> Response:
    rows = await gateway(request).admin.tenants(viewer.principal, PAGE, cursor)
    return render(request, "admin/tenants.html", tenants=rows,
                  next_cursor=rows[-1].tenant.id if len(rows) == PAGE else None)


@router.get("/admin/consumers")
async def consumers(request: Request, viewer: CurrentViewer) -> Response:
    """Every durable consumer on one page (a few per service): the services' own first, then the ones that read
    the server's max-deliveries advisories."""
    lags, _ = await gateway(request).admin.consumers(viewer.principal, ALL_CONSUMERS, None)
    return render(request, "admin/consumers.html", events=[c for c in lags if c.stream != ADVISORIES],
                  advisories=[c for c in lags if c.stream == ADVISORIES])


@router.get("/admin/dead-letters")
async def dead_letters(request: Request, viewer: CurrentViewer, cursor: CursorQuery = None,
                       service: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    listed, next_cursor = await gateway(request).dead_letters.page(viewer.principal, PAGE, cursor, service or None)
    return render(request, "admin/dead_letters.html", listed=listed, next_cursor=next_cursor, service=service,
                  services=SERVICES)


async def _letter_page(request: Request, viewer: Viewer, letter_id: str, status: int = 200,
                       error: str | None = None) -> Response:
    found = await gateway(request).dead_letters.get(viewer.principal, letter_id)
    return render(request, "admin/dead_letter.html", status, found=found, error=error)


@router.get("/admin/dead-letters/{letter_id}")
async def dead_letter(request: Request, viewer: CurrentViewer, letter_id: str) -> Response:
    return await _letter_page(request, viewer, letter_id)


@router.post("/admin/dead-letters/{letter_id}/{action}")
async def settle(request: Request, viewer: CurrentViewer, letter_id: str, action: str) -> Response:
    letters = gateway(request).dead_letters
    if action not in ("replay", "discard"):
        raise NotFound("a dead letter is replayed or discarded")
    try:
        await (letters.replay if action == "replay" else letters.discard)(viewer.principal, letter_id)
    except ApiProblem as problem:
        if problem.status in (401, 403, 404, 422):
            raise
        return await _letter_page(request, viewer, letter_id, problem.status, problem.detail)
    return redirect(request, f"/console/admin/dead-letters/{letter_id}")


@router.get("/admin/anomalies")
async def anomalies(request: Request, viewer: CurrentViewer, cursor: CursorQuery = None,
                    status: Annotated[AnomalyStatus | None, Query()] = None) -> Response:
    page = await gateway(request).admin.anomalies(viewer.principal, PAGE, cursor, status)
    return render(request, "admin/anomalies.html", page=page, status=status, shown=shown, about=about)
