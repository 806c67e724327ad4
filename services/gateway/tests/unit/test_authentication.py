"""Bearer keys and session cookies become principals; revoked keys and expired sessions do not. On every
backend (``conftest.py``): in memory, SQLite, PostgreSQL."""

import asyncio
from datetime import timedelta

from afo_common.ids import new_id
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_gateway.adapters.accounts_repository import ApiKeyRow
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Principal, hash_secret, new_key
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.authentication import CACHE_TTL_S, Authenticator, user_principal
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import SteppingClock
from afo_testkit.passwords import CHEAP_HASHER

PASSWORD = "correct horse battery"


def accounts_of(store: Store, clock: SteppingClock, auth: Authenticator | None = None) -> Accounts:
    """Accounts as the composition root builds them, on the given principal cache."""
    access = AccessChanges(auth or Authenticator(store, clock), LiveStreams(asyncio.Event()))
    return Accounts(store, Passwords(2, CHEAP_HASHER), access, clock)


async def sign_up(store: Store, clock: SteppingClock) -> SignedUp:
    return await accounts_of(store, clock).signup("owner@example.com", PASSWORD, "Acme", "UTC")


def keys(store: Store, clock: SteppingClock, auth: Authenticator) -> Keys:
    # Revoking a key never asks agent-runtime anything, so the RPC client is never connected.
    return Keys(store, Owners(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused"))),
                AccessChanges(auth, LiveStreams(asyncio.Event())), clock)


async def test_a_secret_key_is_its_tenants_principal(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)

    principal = await Authenticator(store, clock).by_key(signed.secret)

    assert principal == Principal(signed.tenant.id, "secret_key", signed.key.id, SECRET_KEY_PERMISSIONS)


async def test_a_publishable_key_carries_its_agent_and_origins(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    key = new_key("publishable")
    row = ApiKeyRow(new_id("key"), signed.tenant.id, "publishable", "widget", key.secret_hash, key.hint, "agt_1",
                    ["https://app.example.com"], clock.now(), None)
    async with store() as work:
        await work.keys.add(row)

    principal = await Authenticator(store, clock).by_key(key.secret)

    assert principal is not None
    assert principal.is_publishable
    assert (principal.tenant_id, principal.subject_id, principal.agent_id) == (signed.tenant.id, row.id, "agt_1")
    assert principal.permissions == frozenset()
    assert principal.may_use_origin("https://app.example.com")


async def test_unknown_and_malformed_keys_are_nobody(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    auth = Authenticator(store, clock)

    assert await auth.by_key(new_key("secret").secret) is None
    assert await auth.by_key(signed.secret[:-1]) is None
    assert await auth.by_key("Bearer " + signed.secret) is None
    assert await auth.by_key("") is None


async def test_a_revoked_key_is_nobody_at_once_even_when_cached(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    auth = Authenticator(store, clock)
    assert await auth.by_key(signed.secret) is not None

    await keys(store, clock, auth).revoke(user_principal(signed.user), signed.key.id)

    assert await auth.by_key(signed.secret) is None
    assert await Authenticator(store, clock).by_key(signed.secret) is None


async def test_a_session_token_is_its_users_principal(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    accounts = accounts_of(store, clock)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "member")
    _user, token = await accounts.login("member@example.com", PASSWORD)

    principal = await Authenticator(store, clock).by_session(token)

    assert principal == Principal(signed.tenant.id, "user", member.id, ROLE_PERMISSIONS["member"])


async def test_an_expired_session_is_nobody(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    now = clock.now()
    async with store() as work:
        await work.sessions.add(hash_secret("live-token"), signed.user, now + timedelta(hours=1))
        await work.sessions.add(hash_secret("expired-token"), signed.user, now - timedelta(seconds=1))
    auth = Authenticator(store, clock)

    assert await auth.by_session("live-token") == user_principal(signed.user)
    assert await auth.by_session("expired-token") is None


async def test_an_unknown_session_token_is_nobody(store: Store, clock: SteppingClock) -> None:
    await sign_up(store, clock)

    assert await Authenticator(store, clock).by_session("no-such-token") is None


async def test_logging_out_ends_the_session_at_once_even_when_cached(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    auth = Authenticator(store, clock)
    accounts = accounts_of(store, clock, auth)
    _user, token = await accounts.login("owner@example.com", PASSWORD)
    assert await auth.by_session(token) == user_principal(signed.user)

    await accounts.logout(token)

    assert await auth.by_session(token) is None


async def test_a_role_change_applies_at_once_to_cached_sessions(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    auth = Authenticator(store, clock)
    accounts = accounts_of(store, clock, auth)
    member = await accounts.add_user(user_principal(signed.user), "member@example.com", PASSWORD, "admin")
    _user, token = await accounts.login("member@example.com", PASSWORD)
    assert (await auth.by_session(token)) == Principal(signed.tenant.id, "user", member.id, ROLE_PERMISSIONS["admin"])

    await accounts.change_role(user_principal(signed.user), member.id, "member")

    assert (await auth.by_session(token)) == Principal(signed.tenant.id, "user", member.id,
                                                       ROLE_PERMISSIONS["member"])


async def test_a_change_another_replica_missed_shows_when_the_cached_principal_expires(
    store: Store, clock: SteppingClock
) -> None:
    signed = await sign_up(store, clock)
    now = [0.0]
    auth = Authenticator(store, clock, timer=lambda: now[0])
    assert await auth.by_key(signed.secret) is not None
    async with store() as work:  # revoked elsewhere, its notice lost: nothing told this cache
        await work.keys.revoke(signed.tenant.id, signed.key.id, clock.now())

    now[0] = CACHE_TTL_S - 0.01
    assert await auth.by_key(signed.secret) is not None
    now[0] = CACHE_TTL_S
    assert await auth.by_key(signed.secret) is None


async def test_nobody_is_cached_too_and_forgotten_with_the_rest(store: Store, clock: SteppingClock) -> None:
    signed = await sign_up(store, clock)
    key = new_key("secret")
    auth = Authenticator(store, clock, timer=lambda: 0.0)
    assert await auth.by_key(key.secret) is None
    row = ApiKeyRow(new_id("key"), signed.tenant.id, "secret", "late", key.secret_hash, key.hint, None, [],
                    clock.now(), None)
    async with store() as work:
        await work.keys.add(row)

    assert await auth.by_key(key.secret) is None  # the cached answer still stands
    auth.forget(key.secret_hash)
    assert await auth.by_key(key.secret) is not None
