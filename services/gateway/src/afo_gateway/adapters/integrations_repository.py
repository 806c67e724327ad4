"""Queries on the vault's sealed records; every read but the re-encryption job's is per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import integrations


@dataclass(frozen=True)
class IntegrationRow:
    tenant_id: str
    provider: str
    key_id: str
    nonce: bytes
    ciphertext: bytes
    created_at: datetime
    updated_at: datetime


def _row(row: object) -> IntegrationRow:
    return IntegrationRow(**{name: getattr(row, name) for name in IntegrationRow.__dataclass_fields__})


class IntegrationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, provider: str) -> IntegrationRow | None:
        query = select(integrations).where(integrations.c.tenant_id == tenant_id,
                                           integrations.c.provider == provider)
        row = (await self._session.execute(query)).first()
        return _row(row) if row else None

    async def all(self, tenant_id: str) -> list[IntegrationRow]:
        query = select(integrations).where(integrations.c.tenant_id == tenant_id).order_by(integrations.c.provider)
        return [_row(r) for r in await self._session.execute(query)]

    async def put(self, row: IntegrationRow) -> None:
        """Adds the record, or replaces the sealed fields of the tenant's provider (keeping created_at)."""
        existing = await self.get(row.tenant_id, row.provider)
        if existing is None:
            await self._session.execute(insert(integrations).values(**row.__dict__))
            return
        await self._session.execute(
            update(integrations)
            .where(integrations.c.tenant_id == row.tenant_id, integrations.c.provider == row.provider)
            .values(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext, updated_at=row.updated_at))

    async def reseal(self, tenant_id: str, provider: str, old_key_id: str, key_id: str, nonce: bytes,
                     ciphertext: bytes) -> bool:
        """Replaces the blob only if it is still sealed under ``old_key_id`` (no lost update against a PUT)."""
        result = await self._session.execute(
            update(integrations)
            .where(integrations.c.tenant_id == tenant_id, integrations.c.provider == provider,
                   integrations.c.key_id == old_key_id)
            .values(key_id=key_id, nonce=nonce, ciphertext=ciphertext))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, tenant_id: str, provider: str) -> bool:
        result = await self._session.execute(
            delete(integrations).where(integrations.c.tenant_id == tenant_id, integrations.c.provider == provider))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def not_under(self, key_id: str, limit: int) -> list[IntegrationRow]:
        """Records of every tenant sealed under another key than ``key_id``: the re-encryption job's work."""
        query = (select(integrations).where(integrations.c.key_id != key_id)
                 .order_by(integrations.c.tenant_id, integrations.c.provider).limit(limit))
        return [_row(r) for r in await self._session.execute(query)]
