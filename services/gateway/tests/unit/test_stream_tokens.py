"""Stream tokens, on every backend (``conftest.py``): one conversation, a few minutes, and only while the key
or session they were issued to is valid; stored as digests (on the databases); expired ones purged."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from afo_common.clock import Clock, SystemClock
from afo_common.db import Database
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient
from afo_common.messaging.unit_of_work import UnitOfWorkFactory
from afo_common.rpcs.agent_runtime import ConversationView
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.adapters.store import sql_store
from afo_gateway.adapters.tables import sessions, stream_tokens
from afo_gateway.domain.access import STREAM_TOKEN_PREFIX, Principal, hash_secret
from afo_gateway.domain.errors import Forbidden, NotFound
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.authentication import Authenticator, key_principal
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.stream_tokens import StreamTokens
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.passwords import CHEAP_HASHER

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)


class KnownConversations(Owners):
    """agent-runtime's answer to "may this principal use this conversation", for conv_1 of the tenant."""

    def __init__(self) -> None:
        super().__init__(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused")))

    async def conversation(self, principal: Principal, conversation_id: str) -> ConversationView:
        if conversation_id != "conv_1":
            raise NotFound(f"conversation {conversation_id} not found")
        return ConversationView(id="conv_1", agent_id="agt_1", agent_version=1, channel="web", contact={},
                                status="open", lead_id=None, created_at=NOW, updated_at=NOW)


class World:
    def __init__(self, store: Store, ttl_s: float = 300.0, clock: Clock | None = None) -> None:
        clock = clock or SystemClock()
        self.auth = Authenticator(store, clock)
        self.access = AccessChanges(self.auth, LiveStreams(asyncio.Event()))
        self.accounts = Accounts(store, Passwords(2, CHEAP_HASHER), self.access, clock)
        self.keys = Keys(store, KnownConversations(), self.access, clock)
        self.tokens = StreamTokens(store, KnownConversations(), self.auth, ttl_s, clock)


async def owner_key(world: World) -> tuple[SignedUp, Principal]:
    signed = await world.accounts.signup("owner@example.com", PASSWORD, "Acme", "UTC")
    return signed, key_principal(signed.key)


async def test_a_token_opens_its_conversation_as_the_principal_it_was_issued_to(store: Store) -> None:
    world = World(store)
    _signed, principal = await owner_key(world)

    token, expires_at = await world.tokens.issue(principal, "conv_1")

    assert token.startswith(STREAM_TOKEN_PREFIX) and len(token) > 40
    assert 290 <= (expires_at - datetime.now(UTC)).total_seconds() <= 300
    assert await world.tokens.redeem(token, "conv_1") == principal
    assert await world.tokens.redeem(token, "conv_2") is None
    assert await world.tokens.redeem(token + "x", "conv_1") is None


async def test_a_token_is_stored_as_a_digest(db: Database, uow: UnitOfWorkFactory) -> None:
    world = World(sql_store(uow))
    _signed, principal = await owner_key(world)

    token, _ = await world.tokens.issue(principal, "conv_1")

    async with db.session() as session:
        row = (await session.execute(select(stream_tokens))).one()
    assert row.token_hash == hash_secret(token)
    assert token not in str(tuple(row))


async def test_a_token_is_only_for_a_conversation_the_principal_may_use(store: Store) -> None:
    world = World(store)
    _signed, principal = await owner_key(world)
    no_permissions = Principal(principal.tenant_id, "user", "usr_x", frozenset(), credential="d")

    with pytest.raises(NotFound):
        await world.tokens.issue(principal, "conv_2")
    with pytest.raises(Forbidden):
        await world.tokens.issue(no_permissions, "conv_1")


async def test_an_expired_token_opens_nothing(store: Store) -> None:
    world = World(store, ttl_s=0.0)
    _signed, principal = await owner_key(world)

    token, _ = await world.tokens.issue(principal, "conv_1")

    assert await world.tokens.redeem(token, "conv_1") is None


async def test_a_token_dies_with_the_key_it_was_issued_to(store: Store) -> None:
    world = World(store)
    signed, principal = await owner_key(world)
    token, _ = await world.tokens.issue(principal, "conv_1")

    await world.keys.revoke(principal, signed.key.id)

    assert await world.tokens.redeem(token, "conv_1") is None


async def test_a_token_dies_with_the_session_it_was_issued_to(store: Store) -> None:
    world = World(store)
    await owner_key(world)
    _user, session_token = await world.accounts.login("owner@example.com", PASSWORD)
    principal = await world.auth.by_session(session_token)
    assert principal is not None
    token, _ = await world.tokens.issue(principal, "conv_1")
    assert await world.tokens.redeem(token, "conv_1") == principal

    await world.accounts.logout(session_token)

    assert await world.tokens.redeem(token, "conv_1") is None


async def test_purges_remove_expired_tokens_and_sessions_only(db: Database, uow: UnitOfWorkFactory) -> None:
    world, expired = World(sql_store(uow)), World(sql_store(uow), ttl_s=0.0)
    _signed, principal = await owner_key(world)
    live, _ = await world.tokens.issue(principal, "conv_1")
    await expired.tokens.issue(principal, "conv_1")
    _user, session_token = await world.accounts.login("owner@example.com", PASSWORD)
    async with db.session() as session, session.begin():
        await session.execute(sessions.insert().values(token_hash="old", user_id="usr_1", tenant_id="ten_1",
                                                       expires_at=NOW))

    await world.tokens.purge()
    await world.accounts.purge_sessions()

    async with db.session() as session:
        tokens_left = (await session.execute(select(stream_tokens.c.token_hash))).scalars().all()
        sessions_left = (await session.execute(select(sessions.c.token_hash))).scalars().all()
    assert tokens_left == [hash_secret(live)]
    assert sessions_left == [hash_secret(session_token)]
