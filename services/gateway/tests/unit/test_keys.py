"""API keys, on every backend (``conftest.py``): in memory, SQLite, PostgreSQL. agent-runtime's answer about
a publishable key's agent is a stand-in (``KnownAgents``)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from afo_common.events import Envelope
from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, RpcOperation
from afo_common.rpcs.agent_runtime import GET_AGENT, AgentRef
from afo_gateway.adapters.passwords import Passwords
from afo_gateway.domain.access import hash_secret, key_kind_of
from afo_gateway.domain.errors import Forbidden, Invalid, NotFound
from afo_gateway.handlers.access_changes import AccessChanges
from afo_gateway.handlers.accounts import Accounts, SignedUp
from afo_gateway.handlers.authentication import Authenticator, key_principal, user_principal
from afo_gateway.handlers.keys import Keys
from afo_gateway.handlers.live_streams import LiveStreams
from afo_gateway.handlers.owners import Owners
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.clock import T0, SteppingClock
from afo_testkit.passwords import CHEAP_HASHER

Committed = Callable[[], Awaitable[list[Envelope]]]
PASSWORD = "correct horse battery"


class KnownAgents(Owners):
    """agent-runtime as far as keys ask it: agt_1 exists for every tenant, nothing else does."""

    def __init__(self) -> None:
        super().__init__(RpcClient(NatsConnection("nats://127.0.0.1:1", "unused")))
        self.asked: list[Any] = []

    async def call(self, op: RpcOperation[Any, Any], request: Any) -> Any:
        assert op is GET_AGENT and isinstance(request, AgentRef)
        self.asked.append(request)
        if request.agent_id != "agt_1":
            raise NotFound(f"agent {request.agent_id} not found")
        return None


class World:
    def __init__(self, store: Store, clock: SteppingClock) -> None:
        self.auth = Authenticator(store, clock)
        access = AccessChanges(self.auth, LiveStreams(asyncio.Event()))
        self.accounts = Accounts(store, Passwords(2, CHEAP_HASHER), access, clock)
        self.agents = KnownAgents()
        self.keys = Keys(store, self.agents, access, clock)

    async def owner(self, email: str = "owner@example.com") -> SignedUp:
        return await self.accounts.signup(email, PASSWORD, "Acme", "UTC")


async def test_a_secret_key_is_made_shown_once_stored_as_a_digest_and_announced(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    world = World(store, clock)
    owner = await world.owner()

    row, secret = await world.keys.create(user_principal(owner.user), "secret", "ci", "agt_1", ["https://x.example"])

    assert key_kind_of(secret) == "secret" and row.secret_hash == hash_secret(secret)
    assert (row.tenant_id, row.name, row.agent_id, row.allowed_origins) == (owner.tenant.id, "ci", None, [])
    assert row.created_at == T0 + timedelta(seconds=1)
    assert await world.auth.by_key(secret) == key_principal(row)
    event = (await committed())[-1]
    assert (event.type, event.data) == ("afo.apikey.created.v1", {"key_id": row.id, "kind": "secret",
                                                                  "agent_id": None})
    async with store.reading() as repos:
        audit = await repos.audit.entries(owner.tenant.id)
    assert [(a.action, a.actor, a.target) for a in audit][-1] == ("apikey.create", owner.user.id, row.id)


async def test_a_publishable_key_names_a_known_agent_and_its_origins(store: Store, clock: SteppingClock) -> None:
    world = World(store, clock)
    owner = await world.owner()
    principal = user_principal(owner.user)

    row, secret = await world.keys.create(principal, "publishable", "widget", "agt_1",
                                          [" https://Shop.Example/ ", "", "https://shop.example"])

    assert (row.kind, row.agent_id, row.allowed_origins) == ("publishable", "agt_1", ["https://shop.example"])
    found = await world.auth.by_key(secret)
    assert found is not None and found.is_publishable and found.may_use_origin("https://shop.example")
    assert [r.agent_id for r in world.agents.asked] == ["agt_1"]
    for agent_id, origins in ((None, ["https://shop.example"]), ("agt_1", [" "])):
        with pytest.raises(Invalid):
            await world.keys.create(principal, "publishable", "widget", agent_id, origins)
    with pytest.raises(NotFound):
        await world.keys.create(principal, "publishable", "widget", "agt_other", ["https://shop.example"])
    assert [k.id for k in await world.keys.list(principal, 10, None)] == sorted([row.id, owner.key.id], reverse=True)


async def test_keys_are_listed_newest_first_per_tenant_without_revoked_ones(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    world = World(store, clock)
    owner, other = await world.owner(), await world.owner("other@example.com")
    principal = user_principal(owner.user)
    made = [(await world.keys.create(principal, "secret", f"k{n}", None, []))[0] for n in range(3)]
    await world.keys.revoke(principal, made[1].id)

    listed = await world.keys.list(principal, 2, None)
    rest = await world.keys.list(principal, 2, listed[-1].id)

    expected = sorted([owner.key.id, made[0].id, made[2].id], reverse=True)
    assert [k.id for k in listed + rest] == expected
    assert [k.id for k in await world.keys.list(user_principal(other.user), 10, None)] == [other.key.id]
    event = (await committed())[-1]
    assert (event.type, event.data) == ("afo.apikey.revoked.v1", {"key_id": made[1].id})


async def test_an_agents_publishable_keys_are_its_live_ones_of_its_tenant_by_id_newest_first(
    store: Store, clock: SteppingClock
) -> None:
    world = World(store, clock)
    owner, other = await world.owner(), await world.owner("other@example.com")
    principal, stranger = user_principal(owner.user), user_principal(other.user)
    site = ["https://shop.example"]
    made = [(await world.keys.create(principal, "publishable", f"site {n}", "agt_1", site))[0] for n in range(3)]
    await world.keys.revoke(principal, made[1].id)
    await world.keys.create(principal, "secret", "server", None, [])
    await world.keys.create(stranger, "publishable", "theirs", "agt_1", site)

    async with store.reading() as repos:
        mine = await repos.keys.publishable_for(owner.tenant.id, "agt_1")
        none = await repos.keys.publishable_for(owner.tenant.id, "agt_2")

    assert [k.id for k in mine] == sorted([made[0].id, made[2].id], reverse=True) and none == []


async def test_a_revoked_key_cannot_be_revoked_again_nor_another_tenants(
    store: Store, clock: SteppingClock, committed: Committed
) -> None:
    world = World(store, clock)
    owner, other = await world.owner(), await world.owner("other@example.com")
    await world.keys.revoke(user_principal(owner.user), owner.key.id)
    before = await committed()

    with pytest.raises(NotFound):
        await world.keys.revoke(user_principal(owner.user), owner.key.id)
    with pytest.raises(NotFound):
        await world.keys.revoke(user_principal(owner.user), other.key.id)

    assert await committed() == before
    assert await world.auth.by_key(other.secret) is not None


async def test_only_a_principal_that_manages_keys_touches_them(store: Store, clock: SteppingClock) -> None:
    world = World(store, clock)
    owner = await world.owner()
    member = await world.accounts.add_user(user_principal(owner.user), "member@example.com", PASSWORD, "member")

    for attempt in (world.keys.create(user_principal(member), "secret", "k", None, []),
                    world.keys.list(user_principal(member), 10, None),
                    world.keys.revoke(user_principal(member), owner.key.id)):
        with pytest.raises(Forbidden):
            await attempt
    assert [k.id for k in await world.keys.list(key_principal(owner.key), 10, None)] == [owner.key.id]
