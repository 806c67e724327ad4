"""Sign-up, login and roles, on every backend (``conftest.py``): in memory, SQLite, PostgreSQL."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from afo_common.events import Envelope, parse_envelope
from afo_common.events.tenant import (
    ApiKeyCreated,
    TenantCreated,
    TenantPlanChanged,
    UserAdded,
    UserRoleChanged,
    UserSessionEnded,
)
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import ROLE_PERMISSIONS, Principal, hash_secret, key_kind_of
from afo_gateway.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from afo_gateway.domain.plans import DEFAULT_LIMITS
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import SESSION_DAYS, Accounts, SignedUp
from afo_gateway.handlers.authentication import Authenticator, key_principal, user_principal
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock
from afo_testkit.passwords import CHEAP_HASHER

PASSWORD = "correct horse battery"
Committed = Callable[[], Awaitable[list[Envelope]]]


def accounts_of(store: Store, clock: SteppingClock, auth: Authenticator | None = None) -> Accounts:
    """Accounts as the composition root builds them, on the given principal cache."""
    access = AccessChanges(auth or Authenticator(store, clock), LiveStreams(asyncio.Event()))
    return Accounts(store, Passwords(2, CHEAP_HASHER), access, clock)


async def outbox(committed: Committed) -> list[tuple[str, Any]]:
    return [(envelope.nats_subject, parse_envelope(envelope.to_bytes())) for envelope in await committed()]


async def sign_up(store: Store, clock: SteppingClock, email: str = "owner@example.com") -> SignedUp:
    return await accounts_of(store, clock).signup(email, PASSWORD, "  Acme Corp ", "Europe/Paris")


async def role_of(store: Store, tenant_id: str, user_id: str) -> str | None:
    async with store.reading() as repos:
        user = await repos.accounts.user(tenant_id, user_id)
    return user.role if user else None


async def test_signup_writes_the_tenant_its_owner_and_a_first_secret_key(store: Store,
                                                                         clock: SteppingClock) -> None:
    accounts = accounts_of(store, clock)
    signed = await accounts.signup(" Owner@Example.COM ", PASSWORD, "  Acme Corp ", "Europe/Paris")

    assert signed.tenant.name == "Acme Corp"
    assert signed.tenant.timezone == "Europe/Paris"
    assert signed.user.email == "owner@example.com"
    assert signed.user.role == "owner"
    assert signed.user.tenant_id == signed.tenant.id
    assert key_kind_of(signed.secret) == "secret"
    assert signed.key.secret_hash == hash_secret(signed.secret)
    assert signed.key.tenant_id == signed.tenant.id
    assert signed.tenant.created_at == signed.user.created_at == signed.key.created_at == T0
    async with store.reading() as repos:
        tenant = await repos.accounts.tenant(signed.tenant.id)
        user = await repos.accounts.user_by_email("owner@example.com")
        key = await repos.keys.by_hash(hash_secret(signed.secret))
        keys = await repos.keys.active(signed.tenant.id, 10, None)
        actions = await repos.audit.entries(signed.tenant.id)
    assert tenant == signed.tenant
    assert user == signed.user and user.password_hash != PASSWORD
    assert await Passwords(1, CHEAP_HASHER).verify(user.password_hash, PASSWORD)
    assert key == signed.key and keys == [signed.key]
    assert (key.kind, key.revoked_at) == ("secret", None)
    assert signed.secret not in (key.secret_hash, key.hint)
    assert [(a.action, a.actor, a.target, a.at) for a in actions] == [("tenant.signup", user.id, tenant.id, T0)]


async def test_signup_emits_tenant_user_key_and_plan_events_through_the_outbox(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    signed = await sign_up(store, clock)

    events = await outbox(committed)
    tenant_id = signed.tenant.id
    assert [subject for subject, _ in events] == [
        f"afo.{tenant_id}.tenant.created", f"afo.{tenant_id}.user.added", f"afo.{tenant_id}.apikey.created",
        f"afo.{tenant_id}.tenant.plan_changed",
    ]
    payloads = [payload for _, (_envelope, payload) in events]
    assert payloads == [
        TenantCreated(name="Acme Corp", timezone="Europe/Paris"),
        UserAdded(user_id=signed.user.id, role="owner"),
        ApiKeyCreated(key_id=signed.key.id, kind="secret", agent_id=None),
        TenantPlanChanged(plan="free", limits=DEFAULT_LIMITS["free"], revision=1),
    ]
    envelopes = [envelope for _, (envelope, _payload) in events]
    assert {e.tenantid for e in envelopes} == {tenant_id}
    assert {e.source for e in envelopes} == {"afo/gateway"}
    assert len({e.id for e in envelopes}) == 4
    # The secret itself never travels.
    assert all(signed.secret.encode() not in e.to_bytes() for e in envelopes)


async def test_signing_up_twice_with_one_email_is_a_conflict_and_writes_nothing(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    first = await sign_up(store, clock, "owner@example.com")

    with pytest.raises(Conflict):
        await sign_up(store, clock, "OWNER@example.com")

    async with store.reading() as repos:
        assert await repos.accounts.user_by_email("owner@example.com") == first.user
    assert len(await outbox(committed)) == 4  # the first sign-up's


@pytest.mark.parametrize(
    ("email", "password", "timezone", "field"),
    [
        ("owner@example.com", "short", "UTC", "password"),
        ("owner@example.com", "", "UTC", "password"),
        ("owner@example.com", "x" * 257, "UTC", "password"),
        ("not-an-email", PASSWORD, "UTC", "email"),
        ("owner@example", PASSWORD, "UTC", "email"),
        ("two words@example.com", PASSWORD, "UTC", "email"),
        ("da..na@example.com", PASSWORD, "UTC", "email"),
        ("dana@-acme.example", PASSWORD, "UTC", "email"),
        ("dana@acme..example", PASSWORD, "UTC", "email"),
        ("<script>@example.com", PASSWORD, "UTC", "email"),
        ("dana@[127.0.0.1]", PASSWORD, "UTC", "email"),
        ("owner@example.com", PASSWORD, "Mars/Olympus_Mons", "timezone"),
        ("owner@example.com", PASSWORD, "", "timezone"),
        ("owner@example.com", PASSWORD, "../../etc/passwd", "timezone"),
    ],
)
async def test_signup_refuses_bad_input_and_writes_nothing(store: Store, clock: SteppingClock, committed: Committed,
                                                           email: str, password: str, timezone: str,
                                                           field: str) -> None:
    with pytest.raises(Invalid) as raised:
        await accounts_of(store, clock).signup(email, password, "Acme", timezone)

    assert [error["loc"] for error in raised.value.errors] == [["body", field]]
    async with store.reading() as repos:
        assert await repos.accounts.user_by_email(email.strip().lower()) is None
    assert await outbox(committed) == []


async def test_an_invalid_email_is_refused_saying_what_is_wrong(store: Store, clock: SteppingClock) -> None:
    with pytest.raises(Invalid) as raised:
        await accounts_of(store, clock).signup("dana smith@example.com", PASSWORD, "Acme", "UTC")

    assert raised.value.errors == [{"loc": ["body", "email"], "msg": (
        "The email address contains invalid characters before the @-sign: SPACE.")}]


async def test_an_address_is_stored_in_one_form_whatever_its_case_and_spacing(store: Store,
                                                                              clock: SteppingClock) -> None:
    signed = await accounts_of(store, clock).signup("  Dana.Smith+Leads@Mail.ACME.example ", PASSWORD, "Acme", "UTC")

    assert signed.user.email == "dana.smith+leads@mail.acme.example"
    with pytest.raises(Conflict):
        await accounts_of(store, clock).signup("dana.smith+leads@mail.acme.example", PASSWORD, "Acme", "UTC")


async def test_login_with_the_right_password_opens_a_session(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)

    user, token = await accounts_of(store, clock).login("  OWNER@example.com", PASSWORD)

    assert user.id == signed.user.id
    principal = await Authenticator(store, clock).by_session(token)
    assert principal == Principal(signed.tenant.id, "user", signed.user.id, ROLE_PERMISSIONS["owner"])


async def test_a_session_lasts_its_days_by_the_clock_and_is_purged_after(store: Store, clock: SteppingClock) -> None:
    await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    opened = clock.next
    _user, token = await accounts.login("owner@example.com", PASSWORD)
    await accounts.purge_sessions()
    assert await Authenticator(store, clock).by_session(token) is not None

    clock.next = opened + timedelta(days=SESSION_DAYS)
    assert await Authenticator(store, clock).by_session(token) is None
    await accounts.purge_sessions()
    async with store() as uow:
        assert await uow.sessions.end(hash_secret(token)) is None  # purged: nothing left to end


@pytest.mark.parametrize(("email", "password"), [("owner@example.com", "wrong horse battery"),
                                                 ("owner@example.com", ""),
                                                 ("nobody@example.com", PASSWORD)])
async def test_login_with_a_wrong_password_or_email_is_unauthorized(store: Store, clock: SteppingClock, email: str,
                                                                    password: str) -> None:
    await sign_up(store, clock)

    with pytest.raises(Unauthorized):
        await accounts_of(store, clock).login(email, password)


async def test_logout_ends_the_session(store: Store, clock: SteppingClock) -> None:
    await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    _user, token = await accounts.login("owner@example.com", PASSWORD)

    await accounts.logout(token)

    assert await Authenticator(store, clock).by_session(token) is None


async def test_the_last_owner_cannot_be_demoted(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    owner = user_principal(signed.user)

    with pytest.raises(Conflict):
        await accounts_of(store, clock).change_role(owner, signed.user.id, "admin")

    assert await role_of(store, signed.tenant.id, signed.user.id) == "owner"


async def test_an_owner_can_be_demoted_once_there_is_another(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    owner = user_principal(signed.user)
    accounts = accounts_of(store, clock)
    second = await accounts.add_user(owner, "second@example.com", PASSWORD, "owner")

    demoted = await accounts.change_role(owner, signed.user.id, "member")

    assert demoted.role == "member"
    with pytest.raises(Conflict):
        await accounts.change_role(owner, second.id, "member")
    users = await accounts.users(owner, 10, None)
    assert {user.id: user.role for user in users} == {signed.user.id: "member", second.id: "owner"}


async def test_an_owner_may_be_kept_an_owner(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)

    same = await accounts_of(store, clock).change_role(user_principal(signed.user), signed.user.id, "owner")

    assert same.role == "owner"


async def test_only_a_principal_that_manages_users_changes_roles(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "member")

    with pytest.raises(Forbidden):
        await accounts.change_role(user_principal(member), member.id, "owner")
    with pytest.raises(Forbidden):
        await accounts.change_role(key_principal(signed.key), member.id, "owner")


async def test_roles_of_another_tenant_are_out_of_reach(store: Store, clock: SteppingClock) -> None:
    first = await sign_up(store, clock, "first@example.com")
    second = await sign_up(store, clock, "second@example.com")

    with pytest.raises(NotFound):
        await accounts_of(store, clock).change_role(user_principal(first.user), second.user.id, "member")
    assert await role_of(store, second.tenant.id, second.user.id) == "owner"
    first_users = await accounts_of(store, clock).users(user_principal(first.user), 10, None)
    assert [u.id for u in first_users] == [first.user.id]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(store: Store, clock: SteppingClock) -> None:
    accounts = accounts_of(store, clock)
    owners = []
    for n in range(5):
        signed = await sign_up(store, clock, f"first{n}@example.com")
        owner = user_principal(signed.user)
        second = await accounts.add_user(owner, f"second{n}@example.com", PASSWORD, "owner")
        await asyncio.gather(accounts.change_role(owner, signed.user.id, "admin"),
                             accounts.change_role(owner, second.id, "admin"), return_exceptions=True)
        owners.append(owner)

    for owner in owners:
        roles = [user.role for user in await accounts.users(owner, 10, None)]
        assert sorted(roles) == ["admin", "owner"]


async def test_the_same_email_signing_up_at_once_is_one_account_and_conflicts(
    store: Store, clock: SteppingClock
) -> None:
    accounts = accounts_of(store, clock)
    outcomes = await asyncio.gather(
        *(accounts.signup("race@example.com", PASSWORD, f"Co {n}", "UTC") for n in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Conflict) for o in outcomes) == 5, outcomes
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1


async def test_a_logout_emits_session_ended_naming_the_session_by_its_digest(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    signed = await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    _user, token = await accounts.login("owner@example.com", PASSWORD)

    await accounts.logout(token)
    await accounts.logout(token)  # a second logout of the same session changes nothing

    ended = [(subject, payload) for subject, (_envelope, payload) in await outbox(committed)
             if subject.endswith(".user.session_ended")]
    assert ended == [(f"afo.{signed.tenant.id}.user.session_ended",
                      UserSessionEnded(user_id=signed.user.id, session_digest=hash_secret(token)))]
    assert all(token.encode() not in envelope.to_bytes() for envelope in await committed())


async def test_a_role_change_emits_role_changed_in_its_transaction(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    signed = await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "member")

    await accounts.change_role(user_principal(signed.user), member.id, "admin")
    await accounts.change_role(user_principal(signed.user), member.id, "admin")  # no change, no event

    changed = [payload for subject, (_envelope, payload) in await outbox(committed)
               if subject.endswith(".role_changed")]
    assert changed == [UserRoleChanged(user_id=member.id, role="admin", previous_role="member")]
