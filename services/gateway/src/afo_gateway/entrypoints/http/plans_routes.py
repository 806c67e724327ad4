"""Plans and usage. Operators (``manage_platform``) list and edit the plans and put a tenant on one; a tenant reads
its own plan, its limits and what it used this month. Refusals for a plan's limits are problem+json: 402
``plan-limit-reached`` for what is kept (agents, document bytes), 429 ``quota-exceeded`` with ``Retry-After`` for
what is used (messages and voice minutes per month, calls at once, requests per minute), each naming ``limit``,
``allowed``, ``used`` and ``plan`` (and ``resets_at`` for a monthly one)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.tenant import PlanLimits
from afo_gateway.domain.plans import Plan, PlanName, TenantPlan
from afo_gateway.entrypoints.http.dependencies import CurrentPrincipal, GatewayDep
from afo_gateway.handlers.plans import UsageReport

router = APIRouter(prefix="/v1", tags=["plans"])
# Past any real plan, within a BIGINT: a larger number is a typo, not a limit.
MAX_LIMIT = 10**15
LimitValue = Annotated[int | None, Field(ge=0, le=MAX_LIMIT)]
TenantId = Annotated[str, Path(max_length=64)]
UNITS: dict[str, str] = {"agents": "agents", "knowledge_bytes": "bytes", "messages_per_month": "messages",
                         "voice_minutes_per_month": "minutes", "concurrent_calls": "calls",
                         "requests_per_minute": "requests"}


class PlanLimitsBody(BaseModel):
    """Every limit of the plan, each a whole number from 0 or null for unlimited: a PUT replaces them all."""

    # Strict: pydantic would otherwise read JSON `true` as 1 and "5" as 5, which the schema does not allow.
    model_config = ConfigDict(extra="forbid", strict=True)

    agents: LimitValue
    knowledge_bytes: LimitValue
    messages_per_month: LimitValue
    voice_minutes_per_month: LimitValue
    concurrent_calls: LimitValue
    requests_per_minute: LimitValue


class PlanOut(BaseModel):
    name: PlanName
    limits: PlanLimits
    updated_at: datetime

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(name=plan.name, limits=plan.limits, updated_at=plan.updated_at)


class PlansOut(BaseModel):
    data: list[PlanOut]


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: PlanName


class TenantPlanOut(BaseModel):
    tenant_id: str
    plan: PlanName
    limits: PlanLimits
    revision: int

    @classmethod
    def of(cls, tenant: TenantPlan) -> TenantPlanOut:
        return cls(tenant_id=tenant.tenant_id, plan=tenant.plan, limits=tenant.limits, revision=tenant.revision)


class UsageLineOut(BaseModel):
    limit: str
    unit: Literal["agents", "bytes", "messages", "minutes", "calls", "requests"]
    allowed: int | None = Field(description="null: unlimited")
    used: int | None = Field(description="null: not counted per month (enforced as it happens), or its owner "
                                         "did not answer (``unavailable``)")


class UsageOut(BaseModel):
    tenant_id: str
    plan: PlanName
    period: str = Field(description="the calendar month in UTC, e.g. 2026-03")
    period_starts_at: datetime
    resets_at: datetime = Field(description="when the monthly allowances start again")
    usage: list[UsageLineOut]
    unavailable: list[str] = Field(description="services that did not answer: their figures are null")

    @classmethod
    def of(cls, report: UsageReport) -> UsageOut:
        return cls(tenant_id=report.tenant_id, plan=report.plan, period=report.period,
                   period_starts_at=report.period_starts_at, resets_at=report.resets_at,
                   usage=[UsageLineOut.model_validate({"limit": line.limit, "unit": UNITS[line.limit],
                                                       "allowed": line.allowed, "used": line.used})
                          for line in report.lines], unavailable=report.unavailable)


@router.get("/usage", response_model=UsageOut)
async def usage(principal: CurrentPrincipal, gw: GatewayDep) -> UsageOut:
    """The caller's tenant: its plan, each limit, and what it used this month (UTC)."""
    return UsageOut.of(await gw.plans.usage(principal))


@router.get("/admin/plans", response_model=PlansOut, tags=["admin"])
async def list_plans(principal: CurrentPrincipal, gw: GatewayDep) -> PlansOut:
    return PlansOut(data=[PlanOut.of(p) for p in await gw.plans.all(principal)])


@router.put("/admin/plans/{name}", response_model=PlanOut, tags=["admin"])
async def edit_plan(name: Annotated[str, Path(max_length=32)], body: PlanLimitsBody, principal: CurrentPrincipal,
                    gw: GatewayDep) -> PlanOut:
    """Replaces the plan's limits; every tenant on it is told (``tenant.plan_changed``)."""
    return PlanOut.of(await gw.plans.edit(principal, name, PlanLimits(**body.model_dump())))


@router.put("/admin/tenants/{tenant_id}/plan", response_model=TenantPlanOut, tags=["admin"])
async def assign_plan(tenant_id: TenantId, body: AssignBody, principal: CurrentPrincipal,
                      gw: GatewayDep) -> TenantPlanOut:
    return TenantPlanOut.of(await gw.plans.assign(principal, tenant_id, body.plan))


@router.get("/admin/tenants/{tenant_id}/usage", response_model=UsageOut, tags=["admin"])
async def tenant_usage(tenant_id: TenantId, principal: CurrentPrincipal, gw: GatewayDep) -> UsageOut:
    return UsageOut.of(await gw.plans.tenant_usage(principal, tenant_id))
