"""Turning a bearer key or a session cookie into a Principal, with a short cache: every API call
authenticates, and a database read per call would dominate the gateway's own latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from cachetools import TTLCache

from afo_common.clock import Clock
from afo_gateway.adapters.accounts_repository import ApiKeyRow, UserRow
from afo_gateway.domain.access import (
    ROLE_PERMISSIONS,
    SECRET_KEY_PERMISSIONS,
    Principal,
    hash_secret,
    key_kind_of,
)
from afo_gateway.handlers.unit_of_work import Store

CACHE_TTL_S = 10.0
CACHE_SIZE = 10_000


def key_principal(row: ApiKeyRow) -> Principal:
    if row.kind == "publishable":
        return Principal(row.tenant_id, "publishable_key", row.id, frozenset(), row.agent_id,
                         tuple(row.allowed_origins), credential=row.secret_hash)
    return Principal(row.tenant_id, "secret_key", row.id, SECRET_KEY_PERMISSIONS, credential=row.secret_hash)


def user_principal(user: UserRow, session_digest: str = "") -> Principal:
    return Principal(user.tenant_id, "user", user.id, ROLE_PERMISSIONS[user.role],  # type: ignore[index]
                     credential=session_digest)


class Authenticator:
    def __init__(self, store: Store, clock: Clock, timer: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        # Digest -> principal, or None for "nobody" (an unknown or revoked credential is asked about again
        # and again too). The least recently used entry makes room when it is full.
        self._cache: TTLCache[str, Principal | None] = TTLCache(maxsize=CACHE_SIZE, ttl=CACHE_TTL_S, timer=timer)

    async def by_key(self, secret: str) -> Principal | None:
        if key_kind_of(secret) is None:
            return None
        return await self._by_key_digest(hash_secret(secret))

    async def by_session(self, token: str) -> Principal | None:
        return await self._by_session_digest(hash_secret(token))

    async def by_credential(self, kind: str, digest: str) -> Principal | None:
        """The principal a stored credential digest stands for now (``kind`` is the principal's kind)."""
        return await (self._by_session_digest(digest) if kind == "user" else self._by_key_digest(digest))

    async def _by_key_digest(self, digest: str) -> Principal | None:
        # One lookup (not `in`, then a read): an entry may expire between the two.
        with suppress(KeyError):
            return self._cache[digest]
        async with self._store.reading() as repos:
            row = await repos.keys.by_hash(digest)
        principal = key_principal(row) if row is not None and row.revoked_at is None else None
        self._cache[digest] = principal
        return principal

    async def _by_session_digest(self, digest: str) -> Principal | None:
        with suppress(KeyError):
            return self._cache[digest]
        async with self._store.reading() as repos:
            user = await repos.sessions.user(digest, self._clock.now())
        principal = user_principal(user, digest) if user is not None else None
        self._cache[digest] = principal
        return principal

    def forget(self, secret_or_token_hash: str) -> None:
        self._cache.pop(secret_or_token_hash, None)

    def forget_subject(self, subject_id: str) -> None:
        """Drop every cached principal of one user or key (their role or validity just changed)."""
        stale = [digest for digest, p in self._cache.items() if p is not None and p.subject_id == subject_id]
        for digest in stale:
            self._cache.pop(digest, None)
