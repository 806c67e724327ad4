"""API keys: secret keys for servers, publishable keys bound to one agent and an origin allow-list."""

from __future__ import annotations

from afo_common.clock import Clock
from afo_common.events.tenant import ApiKeyCreated, ApiKeyRevoked
from afo_common.ids import new_id
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef
from afo_gateway.adapters.accounts_repository import ApiKeyRow
from afo_gateway.domain.access import KeyKind, Permission, Principal, new_key, normalise_origin, require
from afo_gateway.domain.errors import Invalid, NotFound
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store


class Keys:
    def __init__(self, store: Store, owners: Owners, access: AccessChanges, clock: Clock) -> None:
        self._store = store
        self._owners = owners
        self._access = access
        self._clock = clock

    async def create(self, principal: Principal, kind: KeyKind, name: str, agent_id: str | None,
                     allowed_origins: list[str]) -> tuple[ApiKeyRow, str]:
        require(principal, Permission.MANAGE_KEYS)
        origins = sorted({normalise_origin(o) for o in allowed_origins if o.strip()})
        if kind == "publishable":
            if not agent_id or not origins:
                raise Invalid("a publishable key needs agent_id and at least one allowed origin",
                              [{"loc": ["body", "agent_id" if not agent_id else "allowed_origins"],
                                "msg": "required for a publishable key"}])
            await self._owners.call(GET_AGENT, AgentRef(tenant_id=principal.tenant_id, agent_id=agent_id))
        else:
            agent_id, origins = None, []
        key = new_key(kind)
        now = self._clock.now()
        row = ApiKeyRow(new_id("key"), principal.tenant_id, kind, name, key.secret_hash, key.hint, agent_id,
                        origins, now, None)
        async with self._store() as uow:
            await uow.keys.add(row)
            await uow.audit.record(principal.tenant_id, principal.subject_id, "apikey.create", row.id, now)
            await uow.emit(ApiKeyCreated(key_id=row.id, kind=kind, agent_id=agent_id), tenant_id=row.tenant_id)
        return row, key.secret

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> list[ApiKeyRow]:
        require(principal, Permission.MANAGE_KEYS)
        async with self._store.reading() as repos:
            return await repos.keys.active(principal.tenant_id, limit, cursor)

    async def revoke(self, principal: Principal, key_id: str) -> None:
        require(principal, Permission.MANAGE_KEYS)
        now = self._clock.now()
        async with self._store() as uow:
            row = await uow.keys.revoke(principal.tenant_id, key_id, now)
            if row is None:
                raise NotFound(f"API key {key_id} not found")
            await uow.audit.record(principal.tenant_id, principal.subject_id, "apikey.revoke", key_id, now)
            await uow.emit(ApiKeyRevoked(key_id=key_id), tenant_id=principal.tenant_id)
        self._access.key_revoked(row.id)
