"""Plans, for operators: each plan's limits edited in a form (a blank field is unlimited), and each tenant's plan
changed. The same as ``GET /v1/admin/plans``, ``PUT /v1/admin/plans/{name}`` and
``PUT /v1/admin/tenants/{id}/plan``: every change is announced to the other services (``tenant.plan_changed``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from starlette.datastructures import FormData

from afo_common.events.tenant import PlanLimits
from afo_gateway.console.forms import posted, text, validated
from afo_gateway.console.rendering import render
from afo_gateway.console.routing import console_router, redirect
from afo_gateway.console.session import CurrentViewer, Viewer
from afo_gateway.domain.access import Permission, require
from afo_gateway.domain.errors import ApiProblem, Invalid
from afo_gateway.domain.plans import LIMIT_NAMES, PLAN_NAMES
from afo_gateway.entrypoints.http.dependencies import gateway
from afo_gateway.entrypoints.http.plans_routes import AssignBody, PlanLimitsBody

router = console_router()
TENANTS_PAGE = 50
LABELS = {"agents": "Agents", "knowledge_bytes": "Knowledge (bytes)", "messages_per_month": "Messages a month",
          "voice_minutes_per_month": "Voice minutes a month", "concurrent_calls": "Calls at once",
          "requests_per_minute": "Requests a minute, per key"}


async def _page(request: Request, viewer: Viewer, cursor: str | None = None, status: int = 200,
                **extra: object) -> Response:
    plans = gateway(request).plans
    tenants = await plans.tenants(viewer.principal, TENANTS_PAGE + 1, cursor)
    more = len(tenants) > TENANTS_PAGE
    tenants = tenants[:TENANTS_PAGE]
    return render(request, "admin_plans.html", status, plans=await plans.all(viewer.principal), tenants=tenants,
                  next_cursor=tenants[-1].id if more else None, limit_names=LIMIT_NAMES, labels=LABELS,
                  plan_names=PLAN_NAMES, **extra)


def _limits(form: FormData) -> PlanLimits:
    values: dict[str, int | None] = {}
    for name in LIMIT_NAMES:
        raw = text(form, name, max_length=20).replace(",", "").replace("_", "")
        try:
            values[name] = int(raw) if raw else None
        except ValueError:
            raise Invalid(f"{LABELS[name]}: a whole number, or blank for unlimited") from None
    return PlanLimits(**validated(PlanLimitsBody, **values).model_dump())


@router.get("/admin/plans")
async def admin_plans(request: Request, viewer: CurrentViewer,
                      cursor: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    require(viewer.principal, Permission.MANAGE_PLATFORM)
    return await _page(request, viewer, cursor)


@router.post("/admin/plans/{name}")
async def edit_plan(request: Request, viewer: CurrentViewer, name: str) -> Response:
    require(viewer.principal, Permission.MANAGE_PLATFORM)
    try:
        await gateway(request).plans.edit(viewer.principal, name, _limits(await posted(request)))
    except ApiProblem as problem:
        return await _page(request, viewer, status=problem.status, error=problem.detail)
    return redirect(request, "/console/admin/plans")


@router.post("/admin/tenants/{tenant_id}/plan")
async def assign_plan(request: Request, viewer: CurrentViewer, tenant_id: str) -> Response:
    require(viewer.principal, Permission.MANAGE_PLATFORM)
    form = await posted(request)
    try:
        chosen = validated(AssignBody, plan=text(form, "plan", max_length=32))
        await gateway(request).plans.assign(viewer.principal, tenant_id, chosen.plan)
    except ApiProblem as problem:
        return await _page(request, viewer, status=problem.status, error=problem.detail)
    return redirect(request, "/console/admin/plans")
