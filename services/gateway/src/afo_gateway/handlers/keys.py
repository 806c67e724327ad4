"""API keys: secret keys for servers, publishable keys bound to one agent and an origin allow-list."""

from __future__ import annotations

from datetime import UTC, datetime

from afo_common.events.tenant import ApiKeyCreated, ApiKeyRevoked
from afo_common.ids import new_id
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef
from afo_gateway.adapters.accounts_repository import AccountsRepository, ApiKeyRow
from afo_gateway.domain.access import KeyKind, Permission, Principal, new_key, normalise_origin, require
from afo_gateway.domain.errors import Invalid, NotFound
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.owners import Owners


class Keys:
    def __init__(self, unit_of_work: UnitOfWorkFactory, owners: Owners, access: AccessChanges) -> None:
        self._uow = unit_of_work
        self._owners = owners
        self._access = access

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
        now = datetime.now(UTC)
        row = ApiKeyRow(new_id("key"), principal.tenant_id, kind, name, key.secret_hash, key.hint, agent_id,
                        origins, now, None)
        async with self._uow() as uow:
            repo = AccountsRepository(uow.session)
            await repo.add_key(row)
            await repo.audit(principal.tenant_id, principal.subject_id, "apikey.create", row.id, now)
            await uow.emit(ApiKeyCreated(key_id=row.id, kind=kind, agent_id=agent_id), tenant_id=row.tenant_id)
        return row, key.secret

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> list[ApiKeyRow]:
        require(principal, Permission.MANAGE_KEYS)
        async with self._uow.db.session() as session:
            return await AccountsRepository(session).keys(principal.tenant_id, limit, cursor)

    async def revoke(self, principal: Principal, key_id: str) -> None:
        require(principal, Permission.MANAGE_KEYS)
        now = datetime.now(UTC)
        async with self._uow() as uow:
            repo = AccountsRepository(uow.session)
            row = await repo.revoke_key(principal.tenant_id, key_id, now)
            if row is None:
                raise NotFound(f"API key {key_id} not found")
            await repo.audit(principal.tenant_id, principal.subject_id, "apikey.revoke", key_id, now)
            await uow.emit(ApiKeyRevoked(key_id=key_id), tenant_id=principal.tenant_id)
        self._access.key_revoked(row.id)
