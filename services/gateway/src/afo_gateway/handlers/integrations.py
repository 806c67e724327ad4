"""The credential vault: a tenant's providers' credentials stored sealed (``domain/vault.py``), shown
masked, removed; resolved in the clear only for a platform service over RPC, and only for the providers
that service talks to (``afo_common.vault.PROVIDERS_OF``).

Key rotation: every write seals under the current key; ``reseal_all`` (run at start and periodically)
seals every record still under an older key again under the current one. Reads open a record with
whichever configured key sealed it and do not write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from afo_common.clock import Clock
from afo_common.events.tenant import IntegrationConnected, IntegrationRemoved
from afo_common.rpcs.gateway import PROVIDERS_OF, ResolveCredential, ResolvedCredential
from afo_gateway.adapters.integrations_repository import IntegrationRow
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.errors import Forbidden, NoConnectionTest, NotFound, VaultLocked, VaultUnavailable
from afo_gateway.domain.integrations import as_strings, masked, merged, model_of, validated
from afo_gateway.domain.vault import Keyring, Sealed, Undecryptable
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)
RESEAL_BATCH = 200


@dataclass(frozen=True)
class IntegrationView:
    """What the API shows: secrets masked, the rest as stored."""

    provider: str
    fields: dict[str, Any]
    secret_fields: list[str]
    key_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    error: str | None = None
    status: int | None = None


class Prober(Protocol):
    def can_probe(self, provider: str) -> bool: ...

    async def probe(self, provider: str, fields: dict[str, Any]) -> ProbeResult: ...


def _sealed(row: IntegrationRow) -> Sealed:
    return Sealed(row.key_id, row.nonce, row.ciphertext)


class Integrations:
    def __init__(self, store: Store, keyring: Keyring | None, clock: Clock, prober: Prober | None = None) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._prober = prober

    @property
    def keys(self) -> Keyring:
        if self._keyring is None:
            raise VaultUnavailable("the vault has no key: set AFO_VAULT_KEY (afo up makes one in $AFO_HOME)")
        return self._keyring

    def _open(self, row: IntegrationRow) -> dict[str, Any]:
        try:
            return self.keys.open(row.tenant_id, row.provider, _sealed(row))
        except Undecryptable as exc:
            log.error("vault record %s/%s: %s", row.tenant_id, row.provider, exc)
            raise VaultLocked(f"the stored {row.provider} credentials cannot be decrypted: store them again") \
                from None

    def _view(self, row: IntegrationRow) -> IntegrationView:
        fields = self._open(row)
        return IntegrationView(row.provider, masked(row.provider, fields), sorted(model_of(row.provider).SECRETS),
                               row.key_id, row.created_at, row.updated_at)

    async def put(self, principal: Principal, provider: str, body: Any) -> IntegrationView:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        return await self.write(principal.tenant_id, principal.subject_id, provider, body, "integration.put")

    async def put_form(self, principal: Principal, provider: str, sent: dict[str, str]) -> IntegrationView:
        """A console form's submission: like ``put``, except that a secret left blank keeps the stored one."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        stored = await self.fields(principal.tenant_id, provider)
        return await self.put(principal, provider, merged(provider, stored, sent))

    async def write(self, tenant_id: str, subject_id: str, provider: str, body: Any, action: str) -> IntegrationView:
        """Seals and stores the tenant's record of the provider, audited as ``action`` by ``subject_id``, and
        emits integration.connected: what a PUT does, and what an OAuth callback does with the tokens."""
        fields = validated(provider, body)
        sealed = self.keys.seal(tenant_id, provider, fields)
        now = self._clock.now()
        row = IntegrationRow(tenant_id, provider, sealed.key_id, sealed.nonce, sealed.ciphertext, now, now)
        async with self._store() as uow:
            await uow.integrations.put(row)
            await uow.audit.record(tenant_id, subject_id, action, provider, now)
            await uow.emit(IntegrationConnected(provider=provider, key_id=sealed.key_id, fields=sorted(fields)),
                           tenant_id=tenant_id)
            stored = await uow.integrations.get(tenant_id, provider)
        assert stored is not None
        return self._view(stored)

    async def fields(self, tenant_id: str, provider: str) -> dict[str, Any] | None:
        """The tenant's stored fields of the provider in the clear, for the gateway's own use (an OAuth
        connect); None when there is no record."""
        async with self._store.reading() as repos:
            row = await repos.integrations.get(tenant_id, provider)
        return None if row is None else self._open(row)

    async def get(self, principal: Principal, provider: str) -> IntegrationView:
        require(principal, Permission.READ)
        model_of(provider)
        async with self._store.reading() as repos:
            row = await repos.integrations.get(principal.tenant_id, provider)
        if row is None:
            raise NotFound(f"{provider} is not configured")
        return self._view(row)

    async def list(self, principal: Principal) -> list[IntegrationView]:
        require(principal, Permission.READ)
        async with self._store.reading() as repos:
            rows = await repos.integrations.all(principal.tenant_id)
        return [self._view(row) for row in rows]

    async def remove(self, principal: Principal, provider: str) -> None:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        model_of(provider)
        now = self._clock.now()
        async with self._store() as uow:
            if not await uow.integrations.remove(principal.tenant_id, provider):
                raise NotFound(f"{provider} is not configured")
            await uow.audit.record(principal.tenant_id, principal.subject_id, "integration.remove", provider, now)
            await uow.emit(IntegrationRemoved(provider=provider), tenant_id=principal.tenant_id)

    async def test(self, principal: Principal, provider: str) -> ProbeResult:
        """Asks the provider whether the stored credentials work (a read-only call)."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        model_of(provider)
        if self._prober is None or not self._prober.can_probe(provider):
            raise NoConnectionTest(f"there is no connection test for {provider} yet")
        async with self._store.reading() as repos:
            row = await repos.integrations.get(principal.tenant_id, provider)
        if row is None:
            raise NotFound(f"{provider} is not configured")
        return await self._prober.probe(provider, self._open(row))

    async def resolve(self, caller: str, request: ResolveCredential) -> ResolvedCredential:
        """For a platform service, identified by the subject it asked on (NATS lets it publish no other)."""
        if request.provider not in PROVIDERS_OF.get(caller, ()):
            raise Forbidden(f"{caller} may not resolve {request.provider} credentials")
        async with self._store.reading() as repos:
            row = await repos.integrations.get(request.tenant_id, request.provider)
        if row is None:
            raise NotFound(f"{request.provider} is not configured for this tenant")
        log.info("resolved %s credentials of %s for %s", request.provider, request.tenant_id, caller)
        return ResolvedCredential(provider=row.provider, fields=as_strings(self._open(row)), key_id=row.key_id)

    async def reseal(self) -> None:
        await self.reseal_all()

    async def reseal_all(self) -> int:
        """Seals every record still under an older key under the current one; how many it sealed again. A
        record no configured key opens is logged (by tenant and provider only) and left as it is."""
        if self._keyring is None:
            return 0
        current, done, skipped = self._keyring.current, 0, set[tuple[str, str]]()
        while True:
            async with self._store.reading() as repos:
                rows = [r for r in await repos.integrations.not_under(current, RESEAL_BATCH + len(skipped))
                        if (r.tenant_id, r.provider) not in skipped]
            if not rows:
                if done:
                    log.info("vault: %d record(s) sealed again under key %s", done, current)
                return done
            for row in rows:
                try:
                    fields = self._keyring.open(row.tenant_id, row.provider, _sealed(row))
                except Undecryptable as exc:
                    log.error("vault record %s/%s stays sealed under %s: %s", row.tenant_id, row.provider,
                              row.key_id, exc)
                    skipped.add((row.tenant_id, row.provider))
                    continue
                sealed = self._keyring.seal(row.tenant_id, row.provider, fields)
                async with self._store() as uow:
                    if await uow.integrations.reseal(row.tenant_id, row.provider, row.key_id, sealed.key_id,
                                                     sealed.nonce, sealed.ciphertext):
                        done += 1
