"""Stored responses of writes sent with an ``Idempotency-Key``, so a retried request is answered the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from afo_gateway.adapters.tables import idempotency_records


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: bytes


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, scope: str, key: str) -> StoredResponse | None:
        query = select(idempotency_records).where(
            idempotency_records.c.scope == scope, idempotency_records.c.key == key
        )
        row = (await self._session.execute(query)).first()
        return StoredResponse(row.request_hash, row.status_code, row.body) if row else None

    async def put(self, scope: str, key: str, response: StoredResponse, now: datetime) -> None:
        """Raises IntegrityError when a concurrent request with the same key stored its response first."""
        await self._session.execute(insert(idempotency_records).values(
            scope=scope, key=key, request_hash=response.request_hash,
            status_code=response.status_code, body=response.body, created_at=now,
        ))
