"""Stream tokens, stored as SHA-256 digests like keys and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import stream_tokens


@dataclass(frozen=True)
class StreamTokenRow:
    token_hash: str
    tenant_id: str
    conversation_id: str
    principal_kind: str
    credential: str
    expires_at: datetime


class StreamTokensRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: StreamTokenRow) -> None:
        await self._session.execute(insert(stream_tokens).values(**row.__dict__))

    async def live(self, token_hash: str, now: datetime) -> StreamTokenRow | None:
        """Looked up by its digest alone, as keys are: the token is what tells the tenant."""
        query = select(stream_tokens).where(stream_tokens.c.token_hash == token_hash, stream_tokens.c.expires_at > now)
        row = (await self._session.execute(query)).first()
        return StreamTokenRow(**row._mapping) if row else None

    async def purge(self, now: datetime) -> int:
        """Housekeeping across tenants: drop expired tokens (indexed on expires_at)."""
        result = await self._session.execute(delete(stream_tokens).where(stream_tokens.c.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
