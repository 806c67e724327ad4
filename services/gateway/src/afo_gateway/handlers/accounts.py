"""Sign-up, login and logout, the tenant, and its users."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email

from afo_common.clock import Clock
from afo_common.events.tenant import ApiKeyCreated, TenantCreated, UserAdded, UserRoleChanged, UserSessionEnded
from afo_common.ids import new_id
from afo_common.time_zones import UnknownTimeZone, zone_named
from afo_gateway.adapters.accounts_repository import ApiKeyRow, TenantRow, UserRow
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import (
    TENANT_ROLES,
    Permission,
    Principal,
    Role,
    hash_secret,
    new_key,
    new_session_token,
    require,
)
from afo_gateway.domain.errors import Conflict, Forbidden, Invalid, NotFound, RoleReserved, Unauthorized
from afo_gateway.domain.plans import DEFAULT_PLAN, PlanName
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.plans import put_on_plan
from afo_gateway.handlers.unit_of_work import Store

log = logging.getLogger(__name__)
SESSION_DAYS = 14


@dataclass(frozen=True)
class SignedUp:
    tenant: TenantRow
    user: UserRow
    key: ApiKeyRow
    secret: str


def check_email(email: str) -> str:
    """The address as stored: lowercase, so one mailbox is one account whatever the case it is typed in.
    Syntax only; whether the domain receives mail would need DNS, and the platform runs offline."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("not a valid email address", [{"loc": ["body", "email"], "msg": str(exc)}]) from None
    return checked.normalized.lower()


def check_password(password: str) -> None:
    if len(password) < 10 or len(password) > 256:
        raise Invalid("a password has 10 to 256 characters",
                      [{"loc": ["body", "password"], "msg": "10 to 256 characters"}])


def check_grantable(role: Role) -> None:
    """A tenant's people make one another owners, admins or members; operators are the platform's."""
    if role not in TENANT_ROLES:
        raise RoleReserved(f"the {role} role is the platform's: operators are added with `afo operator add`, "
                           f"not by a tenant")


def check_timezone(timezone: str) -> str:
    try:
        zone_named(timezone)
    except UnknownTimeZone as exc:
        raise Invalid(str(exc), [{"loc": ["body", "timezone"], "msg": "an IANA time zone such as Europe/Paris"}]
                      ) from None
    return timezone


class Accounts:
    def __init__(self, store: Store, passwords: Passwords, access: AccessChanges, clock: Clock,
                 default_plan: PlanName = DEFAULT_PLAN) -> None:
        self._default_plan = default_plan
        self._store = store
        self._passwords = passwords
        self._access = access
        self._clock = clock

    async def signup(self, email: str, password: str, company: str, timezone: str) -> SignedUp:
        email = check_email(email)
        check_password(password)
        check_timezone(timezone)
        password_hash = await self._passwords.hash(password)
        now = self._clock.now()
        tenant = TenantRow(new_id("ten"), company.strip(), timezone, now)
        user = UserRow(new_id("usr"), tenant.id, email, password_hash, "owner", now)
        key = new_key("secret")
        key_row = ApiKeyRow(new_id("key"), tenant.id, "secret", "default", key.secret_hash, key.hint, None, [],
                            now, None)
        async with self._store() as uow:
            if await uow.accounts.user_by_email(email) is not None:
                raise Conflict("an account with this email already exists")
            await uow.accounts.add_tenant(tenant)
            await uow.accounts.add_user(user)
            await uow.keys.add(key_row)
            await uow.audit.record(tenant.id, user.id, "tenant.signup", tenant.id, now)
            await uow.emit(TenantCreated(name=tenant.name, timezone=timezone), tenant_id=tenant.id)
            await uow.emit(UserAdded(user_id=user.id, role="owner"), tenant_id=tenant.id)
            await uow.emit(ApiKeyCreated(key_id=key_row.id, kind="secret", agent_id=None), tenant_id=tenant.id)
            await put_on_plan(uow, tenant.id, self._default_plan, now)
        return SignedUp(tenant, user, key_row, key.secret)

    async def login(self, email: str, password: str) -> tuple[UserRow, str]:
        async with self._store.reading() as repos:
            user = await repos.accounts.user_by_email(email.strip().lower())
        # An unknown email is checked against a dummy hash too: the answer takes as long either way.
        matches = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not matches:
            raise Unauthorized("email or password is wrong")
        token = new_session_token()
        async with self._store() as uow:
            await uow.sessions.add(hash_secret(token), user, self._clock.now() + timedelta(days=SESSION_DAYS))
        return user, token

    async def logout(self, token: str) -> None:
        digest = hash_secret(token)
        async with self._store() as uow:
            ended = await uow.sessions.end(digest)
            if ended is None:
                return
            tenant_id, user_id = ended
            await uow.emit(UserSessionEnded(user_id=user_id, session_digest=digest), tenant_id=tenant_id)
        self._access.session_ended(user_id, digest)

    async def purge_sessions(self) -> None:
        async with self._store() as uow:
            purged = await uow.sessions.purge(self._clock.now())
        log.info("purged %d expired sessions", purged)

    async def tenant(self, principal: Principal) -> TenantRow:
        async with self._store.reading() as repos:
            tenant = await repos.accounts.tenant(principal.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        return tenant

    async def me(self, principal: Principal) -> tuple[UserRow, TenantRow]:
        """The user a session belongs to, and their tenant (what the console shows in its header)."""
        if principal.kind != "user":
            raise Forbidden("only a person's session has a user")
        async with self._store.reading() as repos:
            user = await repos.accounts.user(principal.tenant_id, principal.subject_id)
            tenant = await repos.accounts.tenant(principal.tenant_id)
        if user is None or tenant is None:
            raise NotFound("user not found")
        return user, tenant

    async def update_tenant(self, principal: Principal, name: str | None, timezone: str | None) -> TenantRow:
        require(principal, Permission.MANAGE_TENANT)
        values: dict[str, str] = {}
        if name is not None:
            values["name"] = name.strip()
        if timezone is not None:
            values["timezone"] = check_timezone(timezone)
        async with self._store() as uow:
            if values:
                await uow.accounts.update_tenant(principal.tenant_id, values)
                await uow.audit.record(principal.tenant_id, principal.subject_id, "tenant.update", None,
                                       self._clock.now())
            tenant = await uow.accounts.tenant(principal.tenant_id)
        assert tenant is not None
        return tenant

    async def add_user(self, principal: Principal, email: str, password: str, role: Role) -> UserRow:
        require(principal, Permission.MANAGE_USERS)
        check_grantable(role)
        email = check_email(email)
        check_password(password)
        now = self._clock.now()
        user = UserRow(new_id("usr"), principal.tenant_id, email, await self._passwords.hash(password), role, now)
        async with self._store() as uow:
            if await uow.accounts.user_by_email(email) is not None:
                raise Conflict("an account with this email already exists")
            await uow.accounts.add_user(user)
            await uow.audit.record(principal.tenant_id, principal.subject_id, "user.add", user.id, now)
            await uow.emit(UserAdded(user_id=user.id, role=role), tenant_id=principal.tenant_id)
        return user

    async def users(self, principal: Principal, limit: int, cursor: str | None) -> list[UserRow]:
        require(principal, Permission.READ)
        async with self._store.reading() as repos:
            return await repos.accounts.users(principal.tenant_id, limit, cursor)

    async def change_role(self, principal: Principal, user_id: str, role: Role) -> UserRow:
        require(principal, Permission.MANAGE_USERS)
        check_grantable(role)
        async with self._store() as uow:
            # Two owners demoting each other at once must not both see "another owner is left".
            await uow.accounts.lock_tenant(principal.tenant_id)
            user = await uow.accounts.user(principal.tenant_id, user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found")
            if (user.role == "owner" and role != "owner"
                    and await uow.accounts.count_owners(principal.tenant_id) == 1):
                raise Conflict("a tenant keeps at least one owner")
            await uow.accounts.set_role(principal.tenant_id, user_id, role)
            await uow.audit.record(principal.tenant_id, principal.subject_id, f"user.role.{role}", user_id,
                                   self._clock.now())
            if role != user.role:
                await uow.emit(UserRoleChanged(user_id=user_id, role=role, previous_role=user.role),
                               tenant_id=principal.tenant_id)
        self._access.role_changed(user_id, role)
        return UserRow(user.id, user.tenant_id, user.email, user.password_hash, role, user.created_at)
