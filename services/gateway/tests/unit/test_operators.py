"""The platform's operators (``handlers/operators.py``) on each store: added to the operations tenant, made on the
first one; a first password that logs in; no email twice across tenants and operators; removal ends every session
at once and on every replica (one ``user.session_ended`` each); tenants can neither grant the role nor reach an
operator; the operators' list holds no tenant's people."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from afo_common.events import Envelope, parse_envelope
from afo_common.events.tenant import UserAdded, UserSessionEnded
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import (
    PLATFORM_TENANT_ID,
    PLATFORM_TENANT_NAME,
    ROLE_PERMISSIONS,
    Permission,
    hash_secret,
)
from afo_gateway.domain.errors import Conflict, Invalid, NotFound, RoleReserved
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.authentication import Authenticator, user_principal
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.operators import Operators
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock
from afo_testkit.passwords import CHEAP_HASHER

PASSWORD = "correct horse battery"
Committed = Callable[[], Awaitable[list[Envelope]]]


class Platform:
    def __init__(self, store: Store, clock: SteppingClock) -> None:
        self.auth = Authenticator(store, clock)
        access = AccessChanges(self.auth, LiveStreams(asyncio.Event()))
        passwords = Passwords(2, CHEAP_HASHER)
        self.operators = Operators(store, passwords, access, clock)
        self.accounts = Accounts(store, passwords, access, clock)


@pytest.fixture
def platform(store: Store, clock: SteppingClock) -> Platform:
    return Platform(store, clock)


async def sign_up(platform: Platform, email: str = "owner@example.com") -> SignedUp:
    return await platform.accounts.signup(email, PASSWORD, "Acme", "UTC")


async def test_the_first_operator_makes_the_operations_tenant_and_logs_in_with_the_password_given(
        platform: Platform, store: Store) -> None:
    first, password = await platform.operators.add(" Ops@Example.COM ")
    second, _ = await platform.operators.add("oncall@example.com")

    assert (first.email, first.role, first.tenant_id, first.created_at) == ("ops@example.com", "operator",
                                                                               PLATFORM_TENANT_ID, T0)
    assert len(password) >= 20 and first.password_hash != password
    async with store.reading() as repos:
        tenant = await repos.accounts.tenant(PLATFORM_TENANT_ID)
        audit = await repos.audit.entries(PLATFORM_TENANT_ID)
    assert tenant is not None and tenant.name == PLATFORM_TENANT_NAME
    assert [(e.action, e.target) for e in audit] == [("operator.add", first.id), ("operator.add", second.id)]
    user, token = await platform.accounts.login("ops@example.com", password)
    principal = await platform.auth.by_session(token)
    assert user.id == first.id and principal is not None
    assert principal.permissions == ROLE_PERMISSIONS["operator"] and not principal.can(Permission.READ)
    assert [o.email for o in await platform.operators.list(10, None)] == ["oncall@example.com", "ops@example.com"]


async def test_an_email_is_one_account_whether_operator_or_tenant_user(platform: Platform, store: Store,
                                                                       clock: SteppingClock) -> None:
    await sign_up(platform)
    await platform.operators.add("ops@example.com")

    with pytest.raises(Conflict):
        await platform.operators.add("owner@example.com")
    with pytest.raises(Conflict):
        await platform.operators.add("OPS@example.com")
    with pytest.raises(Invalid):
        await platform.operators.add("not an email")
    assert [o.email for o in await platform.operators.list(10, None)] == ["ops@example.com"]


async def test_a_tenant_can_neither_grant_the_operator_role_nor_remove_an_operator(
        platform: Platform, store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(platform)
    owner = user_principal(signed.user)
    member = await platform.accounts.add_user(owner, "member@example.com", PASSWORD, "member")

    with pytest.raises(RoleReserved) as granted:
        await platform.accounts.add_user(owner, "sneaky@example.com", PASSWORD, "operator")
    with pytest.raises(RoleReserved):
        await platform.accounts.change_role(owner, member.id, "operator")
    with pytest.raises(NotFound):
        await platform.operators.remove("member@example.com")  # a tenant's person is no operator

    assert granted.value.status == 403 and granted.value.slug == "role-reserved"
    async with store.reading() as repos:
        assert await repos.accounts.user_by_email("sneaky@example.com") is None
        kept = await repos.accounts.user(signed.tenant.id, member.id)
    assert kept is not None and kept.role == "member"


async def test_removing_an_operator_ends_every_session_of_theirs_on_every_replica(
        platform: Platform, store: Store, committed: Committed) -> None:
    operator, password = await platform.operators.add("ops@example.com")
    _, laptop = await platform.accounts.login("ops@example.com", password)
    _, phone = await platform.accounts.login("ops@example.com", password)
    assert await platform.auth.by_session(laptop) is not None  # cached now

    removed = await platform.operators.remove("ops@example.com")

    assert removed.id == operator.id
    assert await platform.auth.by_session(laptop) is None and await platform.auth.by_session(phone) is None
    events = [parse_envelope(e.to_bytes()) for e in await committed()]
    payloads: list[Any] = [payload for _, payload in events]
    assert UserAdded(user_id=operator.id, role="operator") in payloads
    assert sorted(p.session_digest for p in payloads if isinstance(p, UserSessionEnded)) == sorted(
        [hash_secret(laptop), hash_secret(phone)])
    assert all(envelope.tenantid == PLATFORM_TENANT_ID for envelope, _ in events)
    with pytest.raises(NotFound):
        await platform.operators.remove("ops@example.com")
    assert await platform.operators.list(10, None) == []


async def test_the_operators_list_pages_newest_first(platform: Platform, clock: SteppingClock) -> None:
    for n in range(3):
        await platform.operators.add(f"ops{n}@example.com")

    first = await platform.operators.list(2, None)
    rest = await platform.operators.list(2, first[-1].id)

    assert [o.email for o in first + rest] == ["ops2@example.com", "ops1@example.com", "ops0@example.com"]


