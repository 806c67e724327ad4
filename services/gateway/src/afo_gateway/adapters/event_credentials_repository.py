"""Queries on integrators' event credentials; every read but the callout's is per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import event_credentials


@dataclass(frozen=True)
class EventCredentialRow:
    id: str
    tenant_id: str
    name: str
    secret_hash: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None


def _row(row: object) -> EventCredentialRow:
    return EventCredentialRow(**{name: getattr(row, name) for name in EventCredentialRow.__dataclass_fields__})


class EventCredentialsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: EventCredentialRow) -> None:
        await self._session.execute(insert(event_credentials).values(**row.__dict__))

    async def by_hash(self, secret_hash: str) -> EventCredentialRow | None:
        """For the auth callout, which knows no tenant yet: the secret decides which one."""
        query = select(event_credentials).where(event_credentials.c.secret_hash == secret_hash)
        row = (await self._session.execute(query)).first()
        return _row(row) if row else None

    async def active(self, tenant_id: str, limit: int, before: str | None) -> list[EventCredentialRow]:
        query = select(event_credentials).where(event_credentials.c.tenant_id == tenant_id,
                                                event_credentials.c.revoked_at.is_(None))
        if before:
            query = query.where(event_credentials.c.id < before)
        result = await self._session.execute(query.order_by(event_credentials.c.id.desc()).limit(limit))
        return [_row(r) for r in result]

    async def revoke(self, tenant_id: str, credential_id: str, now: datetime) -> EventCredentialRow | None:
        query = select(event_credentials).where(event_credentials.c.tenant_id == tenant_id,
                                                event_credentials.c.id == credential_id,
                                                event_credentials.c.revoked_at.is_(None))
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        await self._session.execute(update(event_credentials).where(event_credentials.c.id == credential_id)
                                    .values(revoked_at=now))
        return _row(row)
