"""Queries on tenants and users (``AccountsRepository``), API keys (``KeysRepository``), sessions
(``SessionsRepository``) and the audit log (``AuditLog``). Tenant-owned rows are read per tenant; a key or a
session is found by its digest alone, which is what tells its tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.ids import new_id
from afo_gateway.adapters.tables import api_keys, audit_log, sessions, tenants, users
from afo_gateway.domain.audit import AuditQuery
from afo_gateway.domain.errors import Conflict


@dataclass(frozen=True)
class TenantRow:
    id: str
    name: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True)
class TenantSummary:
    """A tenant as the operators' list shows it: with how many people it has."""

    tenant: TenantRow
    users: int


@dataclass(frozen=True)
class UserRow:
    id: str
    tenant_id: str
    email: str
    password_hash: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRow:
    id: str
    tenant_id: str
    kind: str
    name: str
    secret_hash: str
    hint: str
    agent_id: str | None
    allowed_origins: list[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: str
    actor: str
    action: str
    target: str | None
    at: datetime
    id: str


def _row(cls: Any, row: Any) -> Any:
    return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_tenant(self, row: TenantRow) -> None:
        await self._session.execute(insert(tenants).values(**row.__dict__))

    async def tenant(self, tenant_id: str) -> TenantRow | None:
        row = (await self._session.execute(select(tenants).where(tenants.c.id == tenant_id))).first()
        return _row(TenantRow, row) if row else None

    async def tenants(self, limit: int, before: str | None, excluding: str) -> list[TenantSummary]:
        """Every tenant but ``excluding``, newest first, each with its users counted: the operators' list, the
        one query here across tenants."""
        counted = (select(users.c.tenant_id, func.count().label("users")).group_by(users.c.tenant_id)
                   .subquery())
        query = (select(tenants, func.coalesce(counted.c.users, 0).label("users"))
                 .outerjoin(counted, counted.c.tenant_id == tenants.c.id).where(tenants.c.id != excluding))
        if before:
            query = query.where(tenants.c.id < before)
        result = await self._session.execute(query.order_by(tenants.c.id.desc()).limit(limit))
        return [TenantSummary(_row(TenantRow, r), int(r.users)) for r in result]

    async def lock_tenant(self, tenant_id: str) -> None:
        """Serialise changes that check a tenant-wide rule (PostgreSQL row lock; SQLite has one writer)."""
        await self._session.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())

    async def update_tenant(self, tenant_id: str, values: dict[str, Any]) -> None:
        await self._session.execute(update(tenants).where(tenants.c.id == tenant_id).values(**values))

    async def add_user(self, row: UserRow) -> None:
        try:
            await self._session.execute(insert(users).values(**row.__dict__))
        except IntegrityError as exc:
            # The same email signed up at the same moment in another transaction (emails are unique).
            raise Conflict("an account with this email already exists") from exc

    async def user_by_email(self, email: str) -> UserRow | None:
        row = (await self._session.execute(select(users).where(users.c.email == email))).first()
        return _row(UserRow, row) if row else None

    async def user(self, tenant_id: str, user_id: str) -> UserRow | None:
        query = select(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        row = (await self._session.execute(query)).first()
        return _row(UserRow, row) if row else None

    async def users(self, tenant_id: str, limit: int, before: str | None) -> list[UserRow]:
        query = select(users).where(users.c.tenant_id == tenant_id)
        if before:
            query = query.where(users.c.id < before)
        result = await self._session.execute(query.order_by(users.c.id.desc()).limit(limit))
        return [_row(UserRow, r) for r in result]

    async def remove_user(self, tenant_id: str, user_id: str) -> None:
        await self._session.execute(delete(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id))

    async def set_role(self, tenant_id: str, user_id: str, role: str) -> None:
        await self._session.execute(
            update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(role=role)
        )

    async def count_owners(self, tenant_id: str) -> int:
        query = select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.role == "owner")
        return len((await self._session.execute(query)).all())


class KeysRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: ApiKeyRow) -> None:
        await self._session.execute(insert(api_keys).values(**row.__dict__))

    async def by_hash(self, secret_hash: str) -> ApiKeyRow | None:
        row = (await self._session.execute(select(api_keys).where(api_keys.c.secret_hash == secret_hash))).first()
        return _row(ApiKeyRow, row) if row else None

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[ApiKeyRow]:
        query = select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.revoked_at.is_(None))
        if before:
            query = query.where(api_keys.c.id < before)
        result = await self._session.execute(query.order_by(api_keys.c.id.desc()).limit(limit))
        return [_row(ApiKeyRow, r) for r in result]

    async def publishable_for(self, tenant_id: str, agent_id: str) -> list[ApiKeyRow]:
        """The live publishable keys of one agent, newest first."""
        query = select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.agent_id == agent_id,
                                       api_keys.c.kind == "publishable", api_keys.c.revoked_at.is_(None))
        result = await self._session.execute(query.order_by(api_keys.c.id.desc()))
        return [_row(ApiKeyRow, r) for r in result]

    async def revoke(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyRow | None:
        """Marks a live key revoked; returns it as it was, None when there is no such live key."""
        query = select(api_keys).where(
            api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
        )
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        await self._session.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
        revoked: ApiKeyRow = _row(ApiKeyRow, row)
        return revoked


class SessionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token_hash: str, user: UserRow, expires_at: datetime) -> None:
        await self._session.execute(insert(sessions).values(
            token_hash=token_hash, user_id=user.id, tenant_id=user.tenant_id, expires_at=expires_at
        ))

    async def user(self, token_hash: str, now: datetime) -> UserRow | None:
        query = (
            select(users)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
        )
        row = (await self._session.execute(query)).first()
        return _row(UserRow, row) if row else None

    async def end(self, token_hash: str) -> tuple[str, str] | None:
        """Deletes the session; returns its (tenant id, user id), None when there was no such session."""
        query = select(sessions.c.tenant_id, sessions.c.user_id).where(sessions.c.token_hash == token_hash)
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        await self._session.execute(delete(sessions).where(sessions.c.token_hash == token_hash))
        return row.tenant_id, row.user_id

    async def end_all(self, tenant_id: str, user_id: str) -> list[str]:
        """Deletes every session of the user; their digests (what each replica forgets)."""
        query = select(sessions.c.token_hash).where(sessions.c.tenant_id == tenant_id, sessions.c.user_id == user_id)
        digests = list((await self._session.execute(query)).scalars())
        await self._session.execute(delete(sessions).where(sessions.c.tenant_id == tenant_id,
                                                           sessions.c.user_id == user_id))
        return sorted(digests)

    async def purge(self, now: datetime) -> int:
        """Housekeeping across tenants: drop expired sessions (indexed on expires_at)."""
        result = await self._session.execute(delete(sessions).where(sessions.c.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, tenant_id: str, actor: str, action: str, target: str | None, at: datetime) -> None:
        await self._session.execute(insert(audit_log).values(
            id=new_id("aud"), tenant_id=tenant_id, actor=actor, action=action, target=target, at=at
        ))

    async def entries(self, tenant_id: str) -> list[AuditEntry]:
        """The tenant's audit log, oldest first."""
        query = select(audit_log).where(audit_log.c.tenant_id == tenant_id).order_by(audit_log.c.at, audit_log.c.id)
        return [_row(AuditEntry, r) for r in await self._session.execute(query)]

    async def page(self, tenant_id: str, query: AuditQuery, limit: int, before: str | None) -> list[AuditEntry]:
        """The tenant's entries ``query`` asks for, newest first, below the cursor ``before`` (an entry's id:
        ids are UUIDv7, so they sort as the entries were recorded)."""
        found = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
        if query.action:
            found = found.where(audit_log.c.action.startswith(query.action, autoescape=True))
        if query.actor:
            found = found.where(audit_log.c.actor == query.actor)
        if query.since:
            found = found.where(audit_log.c.at >= query.since)
        if query.until:
            found = found.where(audit_log.c.at < query.until)
        if before:
            found = found.where(audit_log.c.id < before)
        result = await self._session.execute(found.order_by(audit_log.c.id.desc()).limit(limit))
        return [_row(AuditEntry, r) for r in result]

    async def actor_names(self, tenant_id: str, actors: list[str]) -> dict[str, str]:
        """Who the actors are, readably: a user's email, a key's name (revoked keys too); a user removed
        since is not known any more and is left out."""
        if not actors:
            return {}
        people = select(users.c.id, users.c.email).where(users.c.tenant_id == tenant_id, users.c.id.in_(actors))
        keys = select(api_keys.c.id, api_keys.c.name).where(api_keys.c.tenant_id == tenant_id,
                                                             api_keys.c.id.in_(actors))
        names = {r.id: r.email for r in await self._session.execute(people)}
        names.update({r.id: f"API key {r.name}" for r in await self._session.execute(keys)})
        return names
