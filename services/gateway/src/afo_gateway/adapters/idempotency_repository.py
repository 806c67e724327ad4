"""Idempotency records: a key is reserved by an insert before the write runs, then holds the response a
retry gets; expired records (and reservations abandoned by a dead process) give the key up again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from afo_gateway.adapters.tables import idempotency_records as records
from afo_gateway.domain.idempotency import KeyHeld, Record, Scope


def _one(scope: Scope, key: str) -> ColumnElement[bool]:
    return (
        (records.c.tenant_id == scope.tenant_id) & (records.c.principal == scope.principal)
        & (records.c.method == scope.method) & (records.c.route == scope.route) & (records.c.key == key)
    )


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def reserve(self, scope: Scope, key: str, request_hash: str, now: datetime, locked_until: datetime,
                      expires_at: datetime) -> None:
        """Raises ``KeyHeld`` when the key is held by a live record (finished, or still running)."""
        gone = (records.c.expires_at <= now) | (records.c.status_code.is_(None) & (records.c.locked_until <= now))
        await self._session.execute(delete(records).where(_one(scope, key), gone))
        try:
            await self._session.execute(insert(records).values(
                tenant_id=scope.tenant_id, principal=scope.principal, method=scope.method, route=scope.route,
                key=key, request_hash=request_hash, status_code=None, body=None, created_at=now,
                locked_until=locked_until, expires_at=expires_at,
            ))
        except IntegrityError as exc:
            raise KeyHeld(key) from exc

    async def get(self, scope: Scope, key: str, now: datetime) -> Record | None:
        query = select(records.c.request_hash, records.c.status_code, records.c.body).where(
            _one(scope, key), records.c.expires_at > now
        )
        row = (await self._session.execute(query)).first()
        return Record(row.request_hash, row.status_code, row.body or b"") if row else None

    async def finish(self, scope: Scope, key: str, status_code: int, body: bytes) -> None:
        await self._session.execute(
            update(records).where(_one(scope, key), records.c.status_code.is_(None))
            .values(status_code=status_code, body=body)
        )

    async def release(self, scope: Scope, key: str) -> None:
        await self._session.execute(delete(records).where(_one(scope, key), records.c.status_code.is_(None)))

    async def renew(self, scope: Scope, key: str, locked_until: datetime) -> None:
        await self._session.execute(update(records).where(_one(scope, key), records.c.status_code.is_(None))
                                    .values(locked_until=locked_until))

    async def purge(self, now: datetime) -> int:
        """Housekeeping across tenants: drop every expired record (indexed on expires_at)."""
        result = await self._session.execute(delete(records).where(records.c.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
