"""Idempotency-Key: the first response to a write is kept; a retry with the same key and body gets it
again, and the same key with another body is refused."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from afo_common.db import Database
from afo_gateway.adapters.idempotency_repository import IdempotencyRepository, StoredResponse
from afo_gateway.domain.errors import Conflict, Invalid

MAX_KEY_LENGTH = 255


class Replays:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, scope: str, key: str, request_hash: str) -> StoredResponse | None:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Invalid(f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters")
        async with self._db.session() as session:
            stored = await IdempotencyRepository(session).get(scope, key)
        if stored is not None and stored.request_hash != request_hash:
            raise Conflict("this Idempotency-Key was already used with a different request")
        return stored

    async def remember(self, scope: str, key: str, response: StoredResponse) -> bool:
        """False when a concurrent request with the same key stored its response first (that one stands)."""
        try:
            async with self._db.write_lock(), self._db.session() as session, session.begin():
                await IdempotencyRepository(session).put(scope, key, response, datetime.now(UTC))
        except IntegrityError:
            return False
        return True
