"""An owner's refusal because the tenant's plan allows no more now (voice-media: a call over the plan's concurrent
calls or voice minutes). It travels as a ``conflict`` error reply whose one detail is a ``PlanLimitReached``, so
a caller that knows nothing of plans still sees a conflict, and the gateway answers it ``429`` with
``Retry-After`` and the same fields in its problem+json."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from afo_common.messaging.rpc import RpcError

DETAIL_TYPE: Literal["plan_limit_reached"] = "plan_limit_reached"


class PlanLimitReached(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["plan_limit_reached"] = DETAIL_TYPE
    limit: str = Field(max_length=40)  # the limit's name: concurrent_calls, voice_minutes_per_month
    allowed: int = Field(ge=0)
    used: int = Field(ge=0)
    plan: str = Field(max_length=32)
    resets_at: datetime | None = None  # when a monthly allowance starts again; None for one at once
    retry_after_s: int = Field(ge=1)


def refused(reached: PlanLimitReached, message: str) -> RpcError:
    return RpcError("conflict", message, [reached.model_dump(mode="json")])


def reached_in(error: RpcError) -> PlanLimitReached | None:
    """The refusal an error reply carries, if it is one."""
    if error.code != "conflict" or len(error.details) != 1 or error.details[0].get("type") != DETAIL_TYPE:
        return None
    try:
        return PlanLimitReached.model_validate(error.details[0])
    except ValidationError:
        return None
