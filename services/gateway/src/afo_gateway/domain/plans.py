"""Plans and what they allow, usage periods, and the two kinds of refusal.

Rules:
- Three plans, ``free``, ``pro`` and ``enterprise``; operators edit their limits, never their set. Every tenant is
  on one (new tenants on the gateway's default plan, ``AFO_DEFAULT_PLAN``).
- A limit of ``None`` is unlimited; ``0`` allows nothing.
- Two kinds of limit. What a tenant *keeps* (agents, the bytes of its stored documents) is refused with 402 once
  the plan allows no more: waiting changes nothing, a bigger plan or a deletion does. What a tenant *uses* (messages
  and voice minutes per month, calls at once, requests per minute) is refused with 429 and when to come back: the
  month's allowance starts again at its reset, a call or a minute frees up.
- A month is the calendar month in UTC: an event counts in the month it happened in (a message's ``sent_at``, a
  call's ``ended_at``), whenever it is counted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from afo_common.events.tenant import PlanLimits
from afo_gateway.domain.errors import PlanLimitReached, QuotaExceeded

PlanName = Literal["free", "pro", "enterprise"]
PLAN_NAMES: tuple[PlanName, ...] = get_args(PlanName)
DEFAULT_PLAN: PlanName = "free"
LIMIT_NAMES: tuple[str, ...] = tuple(PlanLimits.model_fields)
MB = 1024 * 1024

# What the plans allow until an operator changes it (the gateway's migration 0011 writes the same).
DEFAULT_LIMITS: dict[PlanName, PlanLimits] = {
    "free": PlanLimits(agents=3, knowledge_bytes=50 * MB, messages_per_month=1_000, voice_minutes_per_month=60,
                       concurrent_calls=1, requests_per_minute=300),
    "pro": PlanLimits(agents=25, knowledge_bytes=2_048 * MB, messages_per_month=50_000,
                      voice_minutes_per_month=3_000, concurrent_calls=10, requests_per_minute=3_000),
    "enterprise": PlanLimits(),
}

Metric = Literal["messages", "voice_seconds"]


@dataclass(frozen=True)
class Plan:
    name: PlanName
    limits: PlanLimits
    updated_at: datetime


@dataclass(frozen=True)
class TenantPlan:
    """A tenant's plan as the gateway enforces it: the plan's limits and the tenant's revision of them."""

    tenant_id: str
    plan: PlanName
    limits: PlanLimits
    revision: int


@dataclass(frozen=True)
class Month:
    """A calendar month in UTC: its key in the usage counters (``2026-03``) and when the next one starts."""

    key: str
    starts_at: datetime
    resets_at: datetime

    @classmethod
    def of(cls, moment: datetime) -> Month:
        at = moment.astimezone(UTC)
        start = datetime(at.year, at.month, 1, tzinfo=UTC)
        following = datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)
        return cls(f"{at.year:04d}-{at.month:02d}", start, following)

    def seconds_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.resets_at - now).total_seconds()))


def check_kept(tenant: TenantPlan, limit: str, used: int, adding: int) -> None:
    """402 when keeping ``adding`` more would go past the plan's ``limit``."""
    allowed = getattr(tenant.limits, limit)
    if allowed is not None and used + adding > allowed:
        raise PlanLimitReached(limit=limit, allowed=allowed, used=used, plan=tenant.plan)


def check_monthly(tenant: TenantPlan, limit: str, used: int, now: datetime) -> None:
    """429 until the month resets when the month's allowance is used up."""
    allowed = getattr(tenant.limits, limit)
    if allowed is not None and used >= allowed:
        month = Month.of(now)
        raise QuotaExceeded(limit=limit, allowed=allowed, used=used, plan=tenant.plan, resets_at=month.resets_at,
                            retry_after_s=month.seconds_left(now))


def voice_minutes(seconds: float) -> int:
    """A month's voice seconds as minutes counted against a plan: a started minute counts."""
    return math.ceil(seconds / 60)
