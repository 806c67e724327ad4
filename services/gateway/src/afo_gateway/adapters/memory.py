"""The gateway's repositories in memory: the same interface and answers as the database's
(``handlers/unit_of_work.py``), so a handler test runs in milliseconds. The handler tests run on both, so
this file drifting from the SQL repositories fails a test. Rows are copied in and out and times kept in
UTC, as the database gives them back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from afo_common.ids import new_id
from afo_common.messaging.store import MemoryStore, Repositories
from afo_common.messaging.store import as_stored as _stored
from afo_common.messaging.unit_of_work import Events
from afo_gateway.adapters.accounts_repository import ApiKeyRow, AuditEntry, TenantRow, TenantSummary, UserRow
from afo_gateway.adapters.dead_letter_actions_repository import MemoryDeadLetterActions
from afo_gateway.adapters.event_credentials_repository import EventCredentialRow
from afo_gateway.adapters.inbound_sources_repository import MemoryInboundSources
from afo_gateway.adapters.integrations_repository import IntegrationRow
from afo_gateway.adapters.oauth_states_repository import OAuthStateRow
from afo_gateway.adapters.plans_repository import MemoryPlans, MemoryUsage, PlanTables
from afo_gateway.adapters.stream_tokens_repository import StreamTokenRow
from afo_gateway.domain.audit import AuditQuery
from afo_gateway.domain.errors import Conflict
from afo_gateway.domain.idempotency import KeyHeld, Record, Scope
from afo_gateway.handlers.unit_of_work import Store


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    user_id: str
    tenant_id: str
    expires_at: datetime


@dataclass(frozen=True)
class IdempotencyRow:
    request_hash: str
    status_code: int | None
    body: bytes | None
    locked_until: datetime
    expires_at: datetime


@dataclass
class MemoryTables:
    tenants: dict[str, TenantRow] = field(default_factory=dict)
    users: dict[str, UserRow] = field(default_factory=dict)
    keys: dict[str, ApiKeyRow] = field(default_factory=dict)
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    idempotency: dict[tuple[str, str, str, str, str], IdempotencyRow] = field(default_factory=dict)
    stream_tokens: dict[str, StreamTokenRow] = field(default_factory=dict)
    event_credentials: dict[str, EventCredentialRow] = field(default_factory=dict)
    integrations: dict[tuple[str, str], IntegrationRow] = field(default_factory=dict)
    oauth_states: dict[str, OAuthStateRow] = field(default_factory=dict)
    inbound_sources: MemoryInboundSources = field(default_factory=MemoryInboundSources)
    dead_letters: MemoryDeadLetterActions = field(default_factory=MemoryDeadLetterActions)
    plan_tables: PlanTables = field(default_factory=PlanTables)


def _newest_first(rows: list[Any], before: str | None, limit: int) -> list[Any]:
    """Rows by id, newest (highest) first, below a cursor: the lists' paging."""
    kept = sorted((r for r in rows if not before or r.id < before), key=lambda r: r.id, reverse=True)
    return [_stored(r) for r in kept[:limit]]


class MemoryAccounts:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add_tenant(self, row: TenantRow) -> None:
        self._t.tenants[row.id] = _stored(row)

    async def tenant(self, tenant_id: str) -> TenantRow | None:
        row = self._t.tenants.get(tenant_id)
        return _stored(row) if row else None

    async def tenants(self, limit: int, before: str | None, excluding: str) -> list[TenantSummary]:
        rows = [t for t in self._t.tenants.values() if t.id != excluding]
        return [TenantSummary(t, sum(1 for u in self._t.users.values() if u.tenant_id == t.id))
                for t in _newest_first(rows, before, limit)]

    async def lock_tenant(self, tenant_id: str) -> None:
        """Nothing to do: one transaction runs at a time here."""

    async def update_tenant(self, tenant_id: str, values: dict[str, Any]) -> None:
        if (row := self._t.tenants.get(tenant_id)) is not None:
            self._t.tenants[tenant_id] = _stored(replace(row, **values))

    async def add_user(self, row: UserRow) -> None:
        if any(user.email == row.email for user in self._t.users.values()):
            raise Conflict("an account with this email already exists")
        self._t.users[row.id] = _stored(row)

    async def user_by_email(self, email: str) -> UserRow | None:
        found = [u for u in self._t.users.values() if u.email == email]
        return _stored(found[0]) if found else None

    async def user(self, tenant_id: str, user_id: str) -> UserRow | None:
        row = self._t.users.get(user_id)
        return _stored(row) if row is not None and row.tenant_id == tenant_id else None

    async def users(self, tenant_id: str, limit: int, before: str | None) -> list[UserRow]:
        return _newest_first([u for u in self._t.users.values() if u.tenant_id == tenant_id], before, limit)

    async def remove_user(self, tenant_id: str, user_id: str) -> None:
        row = self._t.users.get(user_id)
        if row is not None and row.tenant_id == tenant_id:
            del self._t.users[user_id]

    async def set_role(self, tenant_id: str, user_id: str, role: str) -> None:
        row = self._t.users.get(user_id)
        if row is not None and row.tenant_id == tenant_id:
            self._t.users[user_id] = _stored(replace(row, role=role))

    async def count_owners(self, tenant_id: str) -> int:
        return sum(1 for u in self._t.users.values() if u.tenant_id == tenant_id and u.role == "owner")


class MemoryKeys:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: ApiKeyRow) -> None:
        self._t.keys[row.id] = _stored(row)

    async def by_hash(self, secret_hash: str) -> ApiKeyRow | None:
        found = [k for k in self._t.keys.values() if k.secret_hash == secret_hash]
        return _stored(found[0]) if found else None

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[ApiKeyRow]:
        rows = [k for k in self._t.keys.values() if k.tenant_id == tenant_id and k.revoked_at is None]
        return _newest_first(rows, before, limit)

    async def publishable_for(self, tenant_id: str, agent_id: str) -> list[ApiKeyRow]:
        rows = [k for k in self._t.keys.values() if k.tenant_id == tenant_id and k.agent_id == agent_id
                and k.kind == "publishable" and k.revoked_at is None]
        return [_stored(k) for k in sorted(rows, key=lambda k: k.id, reverse=True)]

    async def revoke(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRow | None:
        row = self._t.keys.get(key_id)
        if row is None or row.tenant_id != tenant_id or row.revoked_at is not None:
            return None
        self._t.keys[key_id] = _stored(replace(row, revoked_at=now))
        return _stored(row)


class MemorySessions:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, token_hash: str, user: UserRow, expires_at: datetime) -> None:
        self._t.sessions[token_hash] = _stored(SessionRow(token_hash, user.id, user.tenant_id, expires_at))

    async def user(self, token_hash: str, now: datetime) -> UserRow | None:
        session = self._t.sessions.get(token_hash)
        if session is None or session.expires_at <= now or session.user_id not in self._t.users:
            return None
        return _stored(self._t.users[session.user_id])

    async def end(self, token_hash: str) -> tuple[str, str] | None:
        session = self._t.sessions.pop(token_hash, None)
        return (session.tenant_id, session.user_id) if session else None

    async def end_all(self, tenant_id: str, user_id: str) -> list[str]:
        ended = sorted(h for h, s in self._t.sessions.items() if s.tenant_id == tenant_id and s.user_id == user_id)
        for token_hash in ended:
            del self._t.sessions[token_hash]
        return ended

    async def purge(self, now: datetime) -> int:
        expired = [h for h, s in self._t.sessions.items() if s.expires_at <= now]
        for token_hash in expired:
            del self._t.sessions[token_hash]
        return len(expired)


class MemoryAudit:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def record(self, tenant_id: str, actor: str, action: str, target: str | None, at: datetime) -> None:
        self._t.audit.append(_stored(AuditEntry(tenant_id, actor, action, target, at, new_id("aud"))))

    async def entries(self, tenant_id: str) -> list[AuditEntry]:
        return [_stored(e) for e in sorted(self._t.audit, key=lambda e: e.at) if e.tenant_id == tenant_id]

    async def page(self, tenant_id: str, query: AuditQuery, limit: int, before: str | None) -> list[AuditEntry]:
        kept = [e for e in self._t.audit if e.tenant_id == tenant_id
                and (not query.action or e.action.startswith(query.action))
                and (not query.actor or e.actor == query.actor)
                and (not query.since or e.at >= query.since) and (not query.until or e.at < query.until)]
        return _newest_first(kept, before, limit)

    async def actor_names(self, tenant_id: str, actors: list[str]) -> dict[str, str]:
        names = {u.id: u.email for u in self._t.users.values() if u.tenant_id == tenant_id and u.id in actors}
        names.update({k.id: f"API key {k.name}" for k in self._t.keys.values()
                      if k.tenant_id == tenant_id and k.id in actors})
        return names


def _key(scope: Scope, key: str) -> tuple[str, str, str, str, str]:
    return scope.tenant_id, scope.principal, scope.method, scope.route, key


class MemoryIdempotency:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def reserve(self, scope: Scope, key: str, request_hash: str, now: datetime, locked_until: datetime,
                      expires_at: datetime) -> None:
        held = self._t.idempotency.get(_key(scope, key))
        if held is not None and (held.expires_at <= now or (held.status_code is None and held.locked_until <= now)):
            held = None
        if held is not None:
            raise KeyHeld(key)
        self._t.idempotency[_key(scope, key)] = _stored(IdempotencyRow(request_hash, None, None, locked_until,
                                                                       expires_at))

    async def get(self, scope: Scope, key: str, now: datetime) -> Record | None:
        row = self._t.idempotency.get(_key(scope, key))
        if row is None or row.expires_at <= now:
            return None
        return Record(row.request_hash, row.status_code, row.body or b"")

    async def finish(self, scope: Scope, key: str, status_code: int, body: bytes) -> None:
        row = self._t.idempotency.get(_key(scope, key))
        if row is not None and row.status_code is None:
            self._t.idempotency[_key(scope, key)] = _stored(replace(row, status_code=status_code, body=body))

    async def release(self, scope: Scope, key: str) -> None:
        row = self._t.idempotency.get(_key(scope, key))
        if row is not None and row.status_code is None:
            del self._t.idempotency[_key(scope, key)]

    async def renew(self, scope: Scope, key: str, locked_until: datetime) -> None:
        row = self._t.idempotency.get(_key(scope, key))
        if row is not None and row.status_code is None:
            self._t.idempotency[_key(scope, key)] = _stored(replace(row, locked_until=locked_until))

    async def purge(self, now: datetime) -> int:
        expired = [k for k, row in self._t.idempotency.items() if row.expires_at <= now]
        for key in expired:
            del self._t.idempotency[key]
        return len(expired)


class MemoryStreamTokens:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: StreamTokenRow) -> None:
        self._t.stream_tokens[row.token_hash] = _stored(row)

    async def live(self, token_hash: str, now: datetime) -> StreamTokenRow | None:
        row = self._t.stream_tokens.get(token_hash)
        return _stored(row) if row is not None and row.expires_at > now else None

    async def purge(self, now: datetime) -> int:
        expired = [h for h, row in self._t.stream_tokens.items() if row.expires_at <= now]
        for token_hash in expired:
            del self._t.stream_tokens[token_hash]
        return len(expired)


class MemoryEventCredentials:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: EventCredentialRow) -> None:
        self._t.event_credentials[row.id] = _stored(row)

    async def by_hash(self, secret_hash: str) -> EventCredentialRow | None:
        found = [c for c in self._t.event_credentials.values() if c.secret_hash == secret_hash]
        return _stored(found[0]) if found else None

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[EventCredentialRow]:
        rows = [c for c in self._t.event_credentials.values() if c.tenant_id == tenant_id and c.revoked_at is None]
        return _newest_first(rows, before, limit)

    async def revoke(self, tenant_id: str, credential_id: str, now: datetime) -> EventCredentialRow | None:
        row = self._t.event_credentials.get(credential_id)
        if row is None or row.tenant_id != tenant_id or row.revoked_at is not None:
            return None
        self._t.event_credentials[credential_id] = _stored(replace(row, revoked_at=now))
        return _stored(row)


class MemoryIntegrations:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def get(self, tenant_id: str, provider: str) -> IntegrationRow | None:
        row = self._t.integrations.get((tenant_id, provider))
        return _stored(row) if row is not None else None

    async def all(self, tenant_id: str) -> list[IntegrationRow]:
        return [_stored(r) for k, r in sorted(self._t.integrations.items()) if k[0] == tenant_id]

    async def put(self, row: IntegrationRow) -> None:
        existing = self._t.integrations.get((row.tenant_id, row.provider))
        kept = row if existing is None else replace(row, created_at=existing.created_at)
        self._t.integrations[(row.tenant_id, row.provider)] = _stored(kept)

    async def reseal(self, tenant_id: str, provider: str, old_key_id: str, key_id: str, nonce: bytes,
                     ciphertext: bytes) -> bool:
        row = self._t.integrations.get((tenant_id, provider))
        if row is None or row.key_id != old_key_id:
            return False
        self._t.integrations[(tenant_id, provider)] = replace(row, key_id=key_id, nonce=nonce, ciphertext=ciphertext)
        return True

    async def remove(self, tenant_id: str, provider: str) -> bool:
        return self._t.integrations.pop((tenant_id, provider), None) is not None

    async def not_under(self, key_id: str, limit: int) -> list[IntegrationRow]:
        return [_stored(r) for _, r in sorted(self._t.integrations.items()) if r.key_id != key_id][:limit]


class MemoryOAuthStates:
    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables

    async def add(self, row: OAuthStateRow) -> None:
        self._t.oauth_states[row.state_hash] = _stored(row)

    async def take(self, state_hash: str) -> OAuthStateRow | None:
        row = self._t.oauth_states.pop(state_hash, None)
        return _stored(row) if row is not None else None

    async def purge(self, now: datetime) -> int:
        expired = [h for h, row in self._t.oauth_states.items() if row.expires_at <= now]
        for state_hash in expired:
            del self._t.oauth_states[state_hash]
        return len(expired)


class MemoryRepositories(Repositories):
    def __init__(self, tables: MemoryTables, events: Events | None = None) -> None:
        super().__init__(events)
        self.accounts = MemoryAccounts(tables)
        self.keys = MemoryKeys(tables)
        self.sessions = MemorySessions(tables)
        self.audit = MemoryAudit(tables)
        self.idempotency = MemoryIdempotency(tables)
        self.stream_tokens = MemoryStreamTokens(tables)
        self.event_credentials = MemoryEventCredentials(tables)
        self.integrations = MemoryIntegrations(tables)
        self.oauth_states = MemoryOAuthStates(tables)
        self.inbound_sources = tables.inbound_sources
        self.dead_letters = tables.dead_letters
        self.plans = MemoryPlans(tables.plan_tables, tables.tenants)
        self.usage = MemoryUsage(tables.plan_tables)


def memory_store() -> MemoryStore[MemoryTables, MemoryRepositories]:
    store = MemoryStore(MemoryTables(), MemoryRepositories, "gateway")
    _: Store = store  # mypy holds these repositories to the handlers' Protocols, as app.py the database's
    return store

