"""Inbound lead sources, on the database and in memory. Every method takes the tenant except ``find``: a
submission names only the source's id (its token or signature is then checked against the row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_common.messaging.store import as_stored
from afo_gateway.adapters.tables import inbound_sources


@dataclass(frozen=True)
class InboundSourceRow:
    id: str
    tenant_id: str
    name: str
    agent_id: str
    channel: str
    auth: str
    field_map: dict[str, Any]
    phone_region: str | None
    token_hash: str | None
    key_id: str | None
    nonce: bytes | None
    ciphertext: bytes | None
    created_at: datetime


class InboundSourcesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: InboundSourceRow) -> None:
        await self._session.execute(insert(inbound_sources).values(**row.__dict__))

    async def find(self, source_id: str) -> InboundSourceRow | None:
        row = (await self._session.execute(select(inbound_sources).where(inbound_sources.c.id == source_id))).first()
        return InboundSourceRow(**row._mapping) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[InboundSourceRow]:
        query = select(inbound_sources).where(inbound_sources.c.tenant_id == tenant_id)
        if before:
            query = query.where(inbound_sources.c.id < before)
        result = await self._session.execute(query.order_by(inbound_sources.c.id.desc()).limit(limit))
        return [InboundSourceRow(**r._mapping) for r in result]

    async def remove(self, tenant_id: str, source_id: str) -> bool:
        result = await self._session.execute(delete(inbound_sources).where(
            inbound_sources.c.tenant_id == tenant_id, inbound_sources.c.id == source_id))
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


@dataclass
class MemoryInboundSources:
    rows: dict[str, InboundSourceRow] = field(default_factory=dict)

    async def add(self, row: InboundSourceRow) -> None:
        self.rows[row.id] = as_stored(row)

    async def find(self, source_id: str) -> InboundSourceRow | None:
        row = self.rows.get(source_id)
        return as_stored(row) if row else None

    async def page(self, tenant_id: str, limit: int, before: str | None) -> list[InboundSourceRow]:
        kept = sorted((r for r in self.rows.values() if r.tenant_id == tenant_id and (not before or r.id < before)),
                      key=lambda r: r.id, reverse=True)
        return [as_stored(r) for r in kept[:limit]]

    async def remove(self, tenant_id: str, source_id: str) -> bool:
        row = self.rows.get(source_id)
        if row is None or row.tenant_id != tenant_id:
            return False
        del self.rows[source_id]
        return True
