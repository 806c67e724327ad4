"""Pending OAuth consents, by the digest of their `state`: added by a connect, taken once by its callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import oauth_states


@dataclass(frozen=True)
class OAuthStateRow:
    state_hash: str
    tenant_id: str
    provider: str
    subject_id: str
    redirect_uri: str
    expires_at: datetime


class OAuthStatesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: OAuthStateRow) -> None:
        await self._session.execute(insert(oauth_states).values(**row.__dict__))

    async def take(self, state_hash: str) -> OAuthStateRow | None:
        """Deletes the pending consent and returns it (expired or not): of two callbacks with one state,
        only one gets it."""
        query = delete(oauth_states).where(oauth_states.c.state_hash == state_hash).returning(*oauth_states.c)
        row = (await self._session.execute(query)).first()
        return OAuthStateRow(**row._mapping) if row else None

    async def purge(self, now: datetime) -> int:
        """Housekeeping across tenants: drop consents never finished (indexed on expires_at)."""
        result = await self._session.execute(delete(oauth_states).where(oauth_states.c.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
