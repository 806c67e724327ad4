"""Events of the tenant context (the gateway owns tenants, users and API keys)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from afo_common.events.envelope import Event, event
from afo_common.events.streams import TENANT

Role = Literal["owner", "admin", "member", "operator"]


@event("tenant.created", stream=TENANT)
class TenantCreated(Event):
    name: str
    timezone: str


@event("user.added", stream=TENANT)
class UserAdded(Event):
    user_id: str
    role: Role


@event("apikey.created", stream=TENANT)
class ApiKeyCreated(Event):
    key_id: str
    kind: Literal["secret", "publishable"]
    agent_id: str | None


@event("apikey.revoked", stream=TENANT)
class ApiKeyRevoked(Event):
    key_id: str


@event("user.role_changed", stream=TENANT)
class UserRoleChanged(Event):
    user_id: str
    role: Role
    previous_role: Role


@event("user.session_ended", stream=TENANT)
class UserSessionEnded(Event):
    """A console session ended (logout). Names the session by the SHA-256 digest of its token, as the
    gateway stores it; the token itself never leaves the gateway."""

    user_id: str
    session_digest: str


@event("event_credential.created", stream=TENANT)
class EventCredentialCreated(Event):
    """An integrator credential that may subscribe to the tenant's events on NATS (never its secret)."""

    credential_id: str
    name: str


@event("event_credential.revoked", stream=TENANT)
class EventCredentialRevoked(Event):
    credential_id: str


@event("integration.connected", stream=TENANT)
class IntegrationConnected(Event):
    """A provider's credentials were stored (or replaced) in the gateway's vault. Carries the names of the
    fields, never their values: a service that needs them resolves them over RPC."""

    provider: str
    key_id: str
    fields: list[str]


@event("integration.removed", stream=TENANT)
class IntegrationRemoved(Event):
    provider: str


class PlanLimits(BaseModel):
    """What a plan allows a tenant; None is unlimited. Kept things (agents, stored document bytes) and use per
    calendar month (UTC) or at once (calls, requests)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: int | None = Field(default=None, ge=0)
    knowledge_bytes: int | None = Field(default=None, ge=0)
    messages_per_month: int | None = Field(default=None, ge=0)
    voice_minutes_per_month: int | None = Field(default=None, ge=0)
    concurrent_calls: int | None = Field(default=None, ge=0)
    requests_per_minute: int | None = Field(default=None, ge=0)


@event("tenant.plan_changed", stream=TENANT)
class TenantPlanChanged(Event):
    """The tenant's plan, or its plan's limits, changed (or were first announced): other services keep their own
    copy of the limits they enforce (voice-media: calls and voice minutes). ``revision`` grows by one with each
    change of the tenant's plan, so a copy keeps the newest whatever order the events arrive in."""

    plan: str = Field(min_length=1, max_length=32)
    limits: PlanLimits
    revision: int = Field(ge=1)
