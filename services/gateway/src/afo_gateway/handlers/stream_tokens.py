"""Stream tokens: what a browser puts in the SSE URL instead of a secret key or a session token
(EventSource cannot send headers, and URLs end up in logs, history and Referer headers).

A token opens one conversation's stream, for a few minutes, for the principal it was issued to, and only
while that principal's key or session is still valid. It is random and stored as a digest, like keys and
sessions, rather than signed: every replica can check it with no shared signing secret to configure and
rotate, and a revocation needs no token list because the token resolves through its key or session."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from afo_common.clock import Clock
from afo_gateway.adapters.stream_tokens_repository import StreamTokenRow
from afo_gateway.domain.access import Permission, Principal, hash_secret, new_stream_token, require
from afo_gateway.handlers.authentication import Authenticator
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)


class StreamTokens:
    def __init__(self, store: Store, owners: Owners, auth: Authenticator, ttl_s: float, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._owners = owners
        self._auth = auth
        self._ttl = timedelta(seconds=ttl_s)

    async def issue(self, principal: Principal, conversation_id: str) -> tuple[str, datetime]:
        require(principal, Permission.READ, publishable=True)
        conversation = await self._owners.conversation(principal, conversation_id)
        token = new_stream_token()
        expires_at = self._clock.now() + self._ttl
        row = StreamTokenRow(hash_secret(token), principal.tenant_id, conversation.id, principal.kind,
                             principal.credential, expires_at)
        async with self._store() as uow:
            await uow.stream_tokens.add(row)
        return token, expires_at

    async def redeem(self, token: str, conversation_id: str) -> Principal | None:
        """The principal the token was issued to, if it is live, for this conversation, and its key or
        session still valid; otherwise None."""
        async with self._store.reading() as repos:
            row = await repos.stream_tokens.live(hash_secret(token), self._clock.now())
        if row is None or row.conversation_id != conversation_id:
            return None
        principal = await self._auth.by_credential(row.principal_kind, row.credential)
        if principal is None or principal.tenant_id != row.tenant_id:
            return None
        return principal

    async def purge(self) -> None:
        async with self._store() as uow:
            purged = await uow.stream_tokens.purge(self._clock.now())
        log.info("purged %d expired stream tokens", purged)
