"""What the gateway's handlers need of storage: one Protocol per repository, the repositories together
(``Repositories``, for reads), the unit of work (the same plus ``emit``/``after_commit``) and the store that
opens both. ``adapters/store.py`` implements them on the database, ``adapters/memory.py`` in memory; the
handler tests run on both. (A message's sequence is ``adapters/sequence_repository.py``, on the driver.)"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from afo_common.events.tenant import PlanLimits
from afo_common.messaging.store import Store as GenericStore
from afo_common.messaging.unit_of_work import Events
from afo_gateway.adapters.accounts_repository import ApiKeyRow, AuditEntry, TenantRow, TenantSummary, UserRow
from afo_gateway.adapters.event_credentials_repository import EventCredentialRow
from afo_gateway.adapters.inbound_sources_repository import InboundSourceRow
from afo_gateway.adapters.integrations_repository import IntegrationRow
from afo_gateway.adapters.oauth_states_repository import OAuthStateRow
from afo_gateway.adapters.plans_repository import CounterKey, TenantOnPlan
from afo_gateway.adapters.stream_tokens_repository import StreamTokenRow
from afo_gateway.domain.audit import AuditQuery
from afo_gateway.domain.dead_letters import ActionTaken
from afo_gateway.domain.idempotency import Record, Scope
from afo_gateway.domain.plans import Metric, Plan, PlanName, TenantPlan


class AccountRecords(Protocol):
    """Tenants and their users."""

    async def add_tenant(self, row: TenantRow) -> None: ...

    async def tenant(self, tenant_id: str) -> TenantRow | None: ...

    async def lock_tenant(self, tenant_id: str) -> None: ...

    async def update_tenant(self, tenant_id: str, values: dict[str, Any]) -> None: ...

    async def add_user(self, row: UserRow) -> None:
        """Raises ``Conflict`` when a user has the email already (emails are unique across tenants)."""
        ...

    async def tenants(self, limit: int, before: str | None, excluding: str) -> list[TenantSummary]:
        """Every tenant but ``excluding``, newest first, with its users counted (the operators' list)."""
        ...

    async def user_by_email(self, email: str) -> UserRow | None: ...

    async def remove_user(self, tenant_id: str, user_id: str) -> None: ...

    async def user(self, tenant_id: str, user_id: str) -> UserRow | None: ...

    async def users(self, tenant_id: str, limit: int, before: str | None) -> list[UserRow]: ...

    async def set_role(self, tenant_id: str, user_id: str, role: str) -> None: ...

    async def count_owners(self, tenant_id: str) -> int: ...


class KeyRecords(Protocol):
    async def add(self, row: ApiKeyRow) -> None: ...

    async def by_hash(self, secret_hash: str) -> ApiKeyRow | None: ...

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[ApiKeyRow]: ...

    async def publishable_for(self, tenant_id: str, agent_id: str) -> list[ApiKeyRow]: ...

    async def revoke(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRow | None: ...


class SessionRecords(Protocol):
    async def add(self, token_hash: str, user: UserRow, expires_at: datetime) -> None: ...

    async def user(self, token_hash: str, now: datetime) -> UserRow | None: ...

    async def end(self, token_hash: str) -> tuple[str, str] | None: ...

    async def end_all(self, tenant_id: str, user_id: str) -> list[str]: ...

    async def purge(self, now: datetime) -> int: ...


class AuditRecords(Protocol):
    async def record(self, tenant_id: str, actor: str, action: str, target: str | None, at: datetime) -> None: ...

    async def entries(self, tenant_id: str) -> list[AuditEntry]: ...

    async def page(self, tenant_id: str, query: AuditQuery, limit: int, before: str | None) -> list[AuditEntry]:
        """The entries ``query`` asks for, newest first, below the cursor ``before`` (an entry's id)."""
        ...

    async def actor_names(self, tenant_id: str, actors: list[str]) -> dict[str, str]:
        """The tenant's users' emails and keys' names, by id, of those among ``actors`` still known."""
        ...


class IdempotencyRecords(Protocol):
    async def reserve(self, scope: Scope, key: str, request_hash: str, now: datetime, locked_until: datetime,
                      expires_at: datetime) -> None:
        """Raises ``KeyHeld`` when the key is held by a live record."""
        ...

    async def get(self, scope: Scope, key: str, now: datetime) -> Record | None: ...

    async def finish(self, scope: Scope, key: str, status_code: int, body: bytes) -> None: ...

    async def release(self, scope: Scope, key: str) -> None: ...

    async def renew(self, scope: Scope, key: str, locked_until: datetime) -> None:
        """Moves a still-running reservation's lease to ``locked_until``."""
        ...

    async def purge(self, now: datetime) -> int: ...


class StreamTokenRecords(Protocol):
    async def add(self, row: StreamTokenRow) -> None: ...

    async def live(self, token_hash: str, now: datetime) -> StreamTokenRow | None: ...

    async def purge(self, now: datetime) -> int: ...


class EventCredentialRecords(Protocol):
    async def add(self, row: EventCredentialRow) -> None: ...

    async def by_hash(self, secret_hash: str) -> EventCredentialRow | None: ...

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[EventCredentialRow]: ...

    async def revoke(self, tenant_id: str, credential_id: str, now: datetime) -> EventCredentialRow | None: ...


class IntegrationRecords(Protocol):
    """The vault's sealed records (``domain/vault.py``)."""

    async def get(self, tenant_id: str, provider: str) -> IntegrationRow | None: ...

    async def all(self, tenant_id: str) -> list[IntegrationRow]: ...

    async def put(self, row: IntegrationRow) -> None:
        """Adds or replaces the tenant's record of the provider; a replacement keeps its ``created_at``."""
        ...

    async def reseal(self, tenant_id: str, provider: str, old_key_id: str, key_id: str, nonce: bytes,
                     ciphertext: bytes) -> bool:
        """Seals the record again if it is still under ``old_key_id``; whether it was."""
        ...

    async def remove(self, tenant_id: str, provider: str) -> bool: ...

    async def not_under(self, key_id: str, limit: int) -> list[IntegrationRow]: ...


class OAuthStateRecords(Protocol):
    """Pending OAuth consents, by the digest of their ``state``."""

    async def add(self, row: OAuthStateRow) -> None: ...

    async def take(self, state_hash: str) -> OAuthStateRow | None:
        """Removes the pending consent and returns it, expired or not; None when there is none (any more)."""
        ...

    async def purge(self, now: datetime) -> int: ...


class InboundSourceRecords(Protocol):
    async def add(self, row: InboundSourceRow) -> None: ...

    async def find(self, source_id: str) -> InboundSourceRow | None:
        """Any tenant's: a submission names only the source."""
        ...

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[InboundSourceRow]: ...

    async def remove(self, tenant_id: str, source_id: str) -> bool: ...


class PlanRecords(Protocol):
    """The plans and which one each tenant is on (``domain/plans.py``)."""

    async def all(self) -> list[Plan]: ...

    async def get(self, name: str) -> Plan | None: ...

    async def update(self, name: str, limits: PlanLimits, now: datetime) -> bool: ...

    async def of_tenant(self, tenant_id: str) -> TenantPlan | None: ...

    async def assign(self, tenant_id: str, plan: PlanName, now: datetime) -> int:
        """Puts the tenant on ``plan``, announced; its new revision."""
        ...

    async def revise_all_on(self, plan: PlanName, now: datetime) -> list[tuple[str, int]]:
        """A new revision for each tenant on ``plan``, whose limits changed: (tenant, revision) each."""
        ...

    async def unannounced(self, limit: int) -> list[TenantPlan]: ...

    async def announced(self, tenant_id: str, revision: int) -> None: ...

    async def tenants(self, limit: int, before: str | None) -> list[TenantOnPlan]: ...


class UsageRecords(Protocol):
    """What tenants used, counted from events: per tenant, month and metric."""

    async def add(self, amounts: Mapping[CounterKey, float]) -> None: ...

    async def of(self, tenant_id: str, period: str) -> dict[Metric, float]: ...


class DeadLetterActionRecords(Protocol):
    """What operators did to dead letters (the platform's, found by the letter's id alone)."""

    async def add(self, row: ActionTaken) -> None:
        """Raises ``AlreadySettled`` when the letter has a record already."""
        ...

    async def get(self, letter_id: str) -> ActionTaken | None: ...

    async def of(self, letter_ids: list[str]) -> dict[str, ActionTaken]: ...


class Repositories(Protocol):
    @property
    def accounts(self) -> AccountRecords: ...

    @property
    def keys(self) -> KeyRecords: ...

    @property
    def sessions(self) -> SessionRecords: ...

    @property
    def audit(self) -> AuditRecords: ...

    @property
    def idempotency(self) -> IdempotencyRecords: ...

    @property
    def stream_tokens(self) -> StreamTokenRecords: ...

    @property
    def event_credentials(self) -> EventCredentialRecords: ...

    @property
    def integrations(self) -> IntegrationRecords: ...

    @property
    def oauth_states(self) -> OAuthStateRecords: ...

    @property
    def inbound_sources(self) -> InboundSourceRecords: ...

    @property
    def dead_letters(self) -> DeadLetterActionRecords: ...

    @property
    def plans(self) -> PlanRecords: ...

    @property
    def usage(self) -> UsageRecords: ...


class UnitOfWork(Repositories, Events, Protocol):
    """The repositories in one transaction, with its events (written to the outbox in it) and after-commit
    callbacks."""


Store = GenericStore[UnitOfWork, Repositories]
