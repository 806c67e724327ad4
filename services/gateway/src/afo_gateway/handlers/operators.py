"""The platform's operators: the users of the operations tenant (``PLATFORM_TENANT_ID``, made with the first
operator), all with the ``operator`` role, added, listed and removed by the people who run the platform
(``afo operator``, over the gateway's RPC: ``entrypoints/rpc.py``). No tenant can make one
(``accounts.check_grantable``), and an operator's principal holds the platform's permissions only
(``ROLE_PERMISSIONS["operator"]``): what it sees of tenants, it sees through the admin area.

An operator's first password is generated and answered once (stored hashed like any). Removing an operator
deletes their sessions, and every replica drops them at once (``user.session_ended``, one per session)."""

from __future__ import annotations

import secrets

from afo_common.clock import Clock
from afo_common.events.tenant import UserAdded, UserSessionEnded
from afo_common.ids import new_id
from afo_gateway.adapters.accounts_repository import TenantRow, UserRow
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import OPERATOR, PLATFORM_TENANT_ID, PLATFORM_TENANT_NAME
from afo_gateway.domain.errors import Conflict, NotFound
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import check_email
from afo_gateway.handlers.unit_of_work import Store

# Who the audit log names for what the platform's own people did from the command line.
PLATFORM_ACTOR = "afo-cli"


def first_password() -> str:
    """Twenty URL-safe characters (120 random bits): past the accounts' ten-character minimum."""
    return secrets.token_urlsafe(15)


class Operators:
    def __init__(self, store: Store, passwords: Passwords, access: AccessChanges, clock: Clock) -> None:
        self._store = store
        self._passwords = passwords
        self._access = access
        self._clock = clock

    async def add(self, email: str) -> tuple[UserRow, str]:
        """The new operator and their first password."""
        email = check_email(email)
        password = first_password()
        password_hash = await self._passwords.hash(password)
        now = self._clock.now()
        user = UserRow(new_id("usr"), PLATFORM_TENANT_ID, email, password_hash, OPERATOR, now)
        async with self._store() as uow:
            if await uow.accounts.user_by_email(email) is not None:
                raise Conflict(f"an account with the email {email} exists already")
            if await uow.accounts.tenant(PLATFORM_TENANT_ID) is None:
                await uow.accounts.add_tenant(TenantRow(PLATFORM_TENANT_ID, PLATFORM_TENANT_NAME, "UTC", now))
            await uow.accounts.add_user(user)
            await uow.audit.record(PLATFORM_TENANT_ID, PLATFORM_ACTOR, "operator.add", user.id, now)
            await uow.emit(UserAdded(user_id=user.id, role=OPERATOR), tenant_id=PLATFORM_TENANT_ID)
        return user, password

    async def list(self, limit: int, cursor: str | None) -> list[UserRow]:
        async with self._store.reading() as repos:
            return await repos.accounts.users(PLATFORM_TENANT_ID, limit, cursor)

    async def remove(self, email: str) -> UserRow:
        email = email.strip().lower()
        now = self._clock.now()
        async with self._store() as uow:
            user = await uow.accounts.user_by_email(email)
            if user is None or user.tenant_id != PLATFORM_TENANT_ID:
                raise NotFound(f"no operator has the email {email}")
            ended = await uow.sessions.end_all(PLATFORM_TENANT_ID, user.id)
            await uow.accounts.remove_user(PLATFORM_TENANT_ID, user.id)
            await uow.audit.record(PLATFORM_TENANT_ID, PLATFORM_ACTOR, "operator.remove", user.id, now)
            for digest in ended:
                await uow.emit(UserSessionEnded(user_id=user.id, session_digest=digest), tenant_id=PLATFORM_TENANT_ID)
        for digest in ended:
            self._access.session_ended(user.id, digest)
        return user
