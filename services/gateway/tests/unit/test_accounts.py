"""Sign-up, login and roles on a real migrated gateway database (both backends)."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from afo_common.db import Database
from afo_common.events import parse_envelope
from afo_common.events.tenant import ApiKeyCreated, TenantCreated, UserAdded, UserRoleChanged, UserSessionEnded
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.adapters.tables import api_keys, audit_log, messaging, tenants, users
from afo_gateway.domain.access import ROLE_PERMISSIONS, Principal, hash_secret, key_kind_of
from afo_gateway.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.authentication import Authenticator, key_principal, user_principal
from afo_gateway.handlers.live_streams import LiveStreams

PASSWORD = "correct horse battery"


def accounts_of(uow: UnitOfWorkFactory, auth: Authenticator | None = None) -> Accounts:
    """Accounts as the composition root builds them, on the given principal cache."""
    return Accounts(uow, Passwords(2), AccessChanges(auth or Authenticator(uow.db), LiveStreams(asyncio.Event())))


async def count(db: Database, table: Table) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def outbox(db: Database) -> list[tuple[str, Any]]:
    async with db.session() as session:
        rows = (await session.execute(select(messaging.outbox).order_by(messaging.outbox.c.seq))).all()
    return [(row.subject, parse_envelope(row.payload)) for row in rows]


async def sign_up(uow: UnitOfWorkFactory, email: str = "owner@example.com") -> SignedUp:
    return await accounts_of(uow).signup(email, PASSWORD, "  Acme Corp ", "Europe/Paris")


async def test_signup_writes_the_tenant_its_owner_and_a_first_secret_key(db: Database,
                                                                         uow: UnitOfWorkFactory) -> None:
    accounts = accounts_of(uow)
    signed = await accounts.signup(" Owner@Example.COM ", PASSWORD, "  Acme Corp ", "Europe/Paris")

    assert signed.tenant.name == "Acme Corp"
    assert signed.tenant.timezone == "Europe/Paris"
    assert signed.user.email == "owner@example.com"
    assert signed.user.role == "owner"
    assert signed.user.tenant_id == signed.tenant.id
    assert key_kind_of(signed.secret) == "secret"
    assert signed.key.secret_hash == hash_secret(signed.secret)
    assert signed.key.tenant_id == signed.tenant.id
    async with db.session() as session:
        tenant = (await session.execute(select(tenants))).one()
        user = (await session.execute(select(users))).one()
        key = (await session.execute(select(api_keys))).one()
        actions = (await session.execute(select(audit_log.c.action, audit_log.c.tenant_id))).all()
    assert (tenant.id, tenant.name) == (signed.tenant.id, "Acme Corp")
    assert (user.id, user.email, user.role) == (signed.user.id, "owner@example.com", "owner")
    assert user.password_hash != PASSWORD
    assert await Passwords(1).verify(user.password_hash, PASSWORD)
    assert (key.id, key.kind, key.secret_hash, key.revoked_at) == (signed.key.id, "secret", signed.key.secret_hash,
                                                                   None)
    assert signed.secret not in (key.secret_hash, key.hint)
    assert [tuple(a) for a in actions] == [("tenant.signup", signed.tenant.id)]


async def test_signup_emits_tenant_user_and_key_events_through_the_outbox(db: Database,
                                                                          uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)

    events = await outbox(db)
    tenant_id = signed.tenant.id
    assert [subject for subject, _ in events] == [
        f"afo.{tenant_id}.tenant.created", f"afo.{tenant_id}.user.added", f"afo.{tenant_id}.apikey.created",
    ]
    payloads = [payload for _, (_envelope, payload) in events]
    assert payloads == [
        TenantCreated(name="Acme Corp", timezone="Europe/Paris"),
        UserAdded(user_id=signed.user.id, role="owner"),
        ApiKeyCreated(key_id=signed.key.id, kind="secret", agent_id=None),
    ]
    envelopes = [envelope for _, (envelope, _payload) in events]
    assert {e.tenantid for e in envelopes} == {tenant_id}
    assert {e.source for e in envelopes} == {"afo/gateway"}
    assert len({e.id for e in envelopes}) == 3
    # The secret itself never travels.
    assert all(signed.secret.encode() not in e.to_bytes() for e in envelopes)


async def test_signing_up_twice_with_one_email_is_a_conflict_and_writes_nothing(db: Database,
                                                                                uow: UnitOfWorkFactory) -> None:
    await sign_up(uow, "owner@example.com")

    with pytest.raises(Conflict):
        await sign_up(uow, "OWNER@example.com")

    assert await count(db, tenants) == 1
    assert await count(db, users) == 1
    assert await count(db, api_keys) == 1
    assert len(await outbox(db)) == 3


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
async def test_signup_refuses_bad_input_and_writes_nothing(db: Database, uow: UnitOfWorkFactory, email: str,
                                                           password: str, timezone: str, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        await accounts_of(uow).signup(email, password, "Acme", timezone)

    assert [error["loc"] for error in raised.value.errors] == [["body", field]]
    assert await count(db, tenants) == 0
    assert await count(db, users) == 0
    assert await outbox(db) == []


async def test_an_invalid_email_is_refused_saying_what_is_wrong(uow: UnitOfWorkFactory) -> None:
    with pytest.raises(Invalid) as raised:
        await accounts_of(uow).signup("dana smith@example.com", PASSWORD, "Acme", "UTC")

    assert raised.value.errors == [{"loc": ["body", "email"], "msg": (
        "The email address contains invalid characters before the @-sign: SPACE.")}]


async def test_an_address_is_stored_in_one_form_whatever_its_case_and_spacing(uow: UnitOfWorkFactory) -> None:
    signed = await accounts_of(uow).signup("  Dana.Smith+Leads@Mail.ACME.example ", PASSWORD, "Acme", "UTC")

    assert signed.user.email == "dana.smith+leads@mail.acme.example"
    with pytest.raises(Conflict):
        await accounts_of(uow).signup("dana.smith+leads@mail.acme.example", PASSWORD, "Acme", "UTC")


async def test_login_with_the_right_password_opens_a_session(db: Database, uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)

    user, token = await accounts_of(uow).login("  OWNER@example.com", PASSWORD)

    assert user.id == signed.user.id
    principal = await Authenticator(db).by_session(token)
    assert principal == Principal(signed.tenant.id, "user", signed.user.id, ROLE_PERMISSIONS["owner"])


@pytest.mark.parametrize(("email", "password"), [("owner@example.com", "wrong horse battery"),
                                                 ("owner@example.com", ""),
                                                 ("nobody@example.com", PASSWORD)])
async def test_login_with_a_wrong_password_or_email_is_unauthorized(uow: UnitOfWorkFactory, email: str,
                                                                    password: str) -> None:
    await sign_up(uow)

    with pytest.raises(Unauthorized):
        await accounts_of(uow).login(email, password)


async def test_logout_ends_the_session(db: Database, uow: UnitOfWorkFactory) -> None:
    await sign_up(uow)
    accounts = accounts_of(uow)
    _user, token = await accounts.login("owner@example.com", PASSWORD)

    await accounts.logout(token)

    assert await Authenticator(db).by_session(token) is None


async def test_the_last_owner_cannot_be_demoted(db: Database, uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)
    owner = user_principal(signed.user)

    with pytest.raises(Conflict):
        await accounts_of(uow).change_role(owner, signed.user.id, "admin")

    async with db.session() as session:
        assert (await session.execute(select(users.c.role))).scalar_one() == "owner"


async def test_an_owner_can_be_demoted_once_there_is_another(db: Database, uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)
    owner = user_principal(signed.user)
    accounts = accounts_of(uow)
    second = await accounts.add_user(owner, "second@example.com", PASSWORD, "owner")

    demoted = await accounts.change_role(owner, signed.user.id, "member")

    assert demoted.role == "member"
    with pytest.raises(Conflict):
        await accounts.change_role(owner, second.id, "operator")
    async with db.session() as session:
        roles = {row.id: row.role for row in await session.execute(select(users.c.id, users.c.role))}
    assert roles == {signed.user.id: "member", second.id: "owner"}


async def test_an_owner_may_be_kept_an_owner(uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)

    same = await accounts_of(uow).change_role(user_principal(signed.user), signed.user.id, "owner")

    assert same.role == "owner"


async def test_only_a_principal_that_manages_users_changes_roles(uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)
    accounts = accounts_of(uow)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "member")

    with pytest.raises(Forbidden):
        await accounts.change_role(user_principal(member), member.id, "owner")
    with pytest.raises(Forbidden):
        await accounts.change_role(key_principal(signed.key), member.id, "owner")


async def test_roles_of_another_tenant_are_out_of_reach(uow: UnitOfWorkFactory) -> None:
    first = await sign_up(uow, "first@example.com")
    second = await sign_up(uow, "second@example.com")

    with pytest.raises(NotFound):
        await accounts_of(uow).change_role(user_principal(first.user), second.user.id, "member")


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(db: Database, uow: UnitOfWorkFactory) -> None:
    accounts = accounts_of(uow)
    tenants_ids = []
    for n in range(5):
        signed = await sign_up(uow, f"first{n}@example.com")
        owner = user_principal(signed.user)
        second = await accounts.add_user(owner, f"second{n}@example.com", PASSWORD, "owner")
        await asyncio.gather(accounts.change_role(owner, signed.user.id, "admin"),
                             accounts.change_role(owner, second.id, "admin"), return_exceptions=True)
        tenants_ids.append(signed.tenant.id)

    async with db.session() as session:
        query = select(users.c.tenant_id).where(users.c.role == "owner")
        with_owner = {row.tenant_id for row in await session.execute(query)}
    assert with_owner == set(tenants_ids)


async def test_the_same_email_signing_up_at_once_is_one_account_and_conflicts(
    db: Database, uow: UnitOfWorkFactory
) -> None:
    accounts = accounts_of(uow)
    outcomes = await asyncio.gather(
        *(accounts.signup("race@example.com", PASSWORD, f"Co {n}", "UTC") for n in range(6)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Conflict) for o in outcomes) == 5, outcomes
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1


async def test_a_logout_emits_session_ended_naming_the_session_by_its_digest(db: Database,
                                                                            uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)
    accounts = accounts_of(uow)
    _user, token = await accounts.login("owner@example.com", PASSWORD)

    await accounts.logout(token)
    await accounts.logout(token)  # a second logout of the same session changes nothing

    ended = [(subject, payload) for subject, (_envelope, payload) in await outbox(db)
             if subject.endswith(".user.session_ended")]
    assert ended == [(f"afo.{signed.tenant.id}.user.session_ended",
                      UserSessionEnded(user_id=signed.user.id, session_digest=hash_secret(token)))]
    assert all(token.encode() not in envelope.to_bytes() for _subject, (envelope, _payload) in await outbox(db))


async def test_a_role_change_emits_role_changed_in_its_transaction(db: Database, uow: UnitOfWorkFactory) -> None:
    signed = await sign_up(uow)
    accounts = accounts_of(uow)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "member")

    await accounts.change_role(user_principal(signed.user), member.id, "operator")
    await accounts.change_role(user_principal(signed.user), member.id, "operator")  # no change, no event

    changed = [payload for subject, (_envelope, payload) in await outbox(db) if subject.endswith(".role_changed")]
    assert changed == [UserRoleChanged(user_id=member.id, role="operator", previous_role="member")]
