"""Integrator credentials: issue (secret shown once), list, revoke; and the decision the NATS auth callout
asks for whenever an integrator connects."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from afo_common.clock import Clock
from afo_common.events.tenant import EventCredentialCreated, EventCredentialRevoked
from afo_common.ids import new_id
from afo_gateway.adapters.event_credentials_repository import EventCredentialRow
from afo_gateway.domain.access import Permission, Principal, hash_secret, require
from afo_gateway.domain.errors import NotFound
from afo_gateway.domain.event_credentials import looks_like_event_secret, new_event_secret
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)


class ConnectionKicker(Protocol):
    async def kick(self, credential_id: str) -> int:
        """Close every open NATS connection of the credential; how many were closed."""
        ...


@dataclass(frozen=True)
class Admission:
    credential_id: str
    tenant_id: str


class EventCredentials:
    def __init__(self, store: Store, clock: Clock, kicker: ConnectionKicker | None = None) -> None:
        self._store = store
        self._clock = clock
        self._kicker = kicker

    async def create(self, principal: Principal, name: str) -> tuple[EventCredentialRow, str]:
        require(principal, Permission.MANAGE_KEYS)
        secret = new_event_secret()
        now = self._clock.now()
        row = EventCredentialRow(new_id("evc"), principal.tenant_id, name.strip(), secret.secret_hash, secret.hint,
                                 now, None)
        async with self._store() as uow:
            await uow.event_credentials.add(row)
            await uow.emit(EventCredentialCreated(credential_id=row.id, name=row.name), tenant_id=row.tenant_id)
        return row, secret.secret

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> list[EventCredentialRow]:
        require(principal, Permission.MANAGE_KEYS)
        async with self._store.reading() as repos:
            return await repos.event_credentials.active(principal.tenant_id, limit, cursor)

    async def revoke(self, principal: Principal, credential_id: str) -> None:
        """Refused from now on (the callout reads the store on every connection), and cut off at once where
        a connection is open: kicked through the system account, else at its user JWT's expiry."""
        require(principal, Permission.MANAGE_KEYS)
        async with self._store() as uow:
            row = await uow.event_credentials.revoke(principal.tenant_id, credential_id, self._clock.now())
            if row is None:
                raise NotFound(f"event credential {credential_id} not found")
            await uow.emit(EventCredentialRevoked(credential_id=credential_id), tenant_id=principal.tenant_id)
        if self._kicker is not None:
            try:
                closed = await self._kicker.kick(credential_id)
                log.info("revoked %s: closed %d NATS connection(s)", credential_id, closed)
            except Exception:
                log.warning("could not kick the connections of %s; they end when their JWT expires",
                            credential_id, exc_info=True)

    async def admit(self, credential_id: str, secret: str) -> Admission | None:
        """The auth callout's question: is this a live credential, and of which tenant?"""
        if not looks_like_event_secret(secret):
            return None
        async with self._store.reading() as repos:
            row = await repos.event_credentials.by_hash(hash_secret(secret))
        if row is None or row.revoked_at is not None or row.id != credential_id:
            return None
        return Admission(row.id, row.tenant_id)
