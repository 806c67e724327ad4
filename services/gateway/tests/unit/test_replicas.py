"""Two gateway replicas on one NATS and one database: a revocation, a logout or a demotion on one is obeyed
by the other at once, not when its 10-second principal cache expires."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

KEY_BODY = {"kind": "secret", "name": "ci"}


async def soon(check: Callable[[], Awaitable[bool]], within_s: float = 2.0) -> float:
    """Seconds until ``check`` holds; fails after ``within_s`` (well inside the cache's 10 s)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        assert loop.time() - started < within_s, f"still not true after {within_s} s"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_at_once(gateways: Any) -> None:
    one, two = await gateways.start(), await gateways.start()
    api_one, api_two = await gateways.client(one), await gateways.client(two)
    owner = await gateways.sign_up(api_one)
    minted = (await api_one.post("/v1/api-keys", json=KEY_BODY, headers=owner.auth)).json()
    doomed = {"Authorization": f"Bearer {minted['secret']}"}
    assert (await api_two.get("/v1/tenant", headers=doomed)).status_code == 200  # now cached on two

    assert (await api_one.delete(f"/v1/api-keys/{minted['id']}", headers=owner.auth)).status_code == 204

    async def refused() -> bool:
        return (await api_two.get("/v1/tenant", headers=doomed)).status_code == 401

    assert await soon(refused) < 2.0


async def test_a_logout_on_one_replica_ends_the_session_on_the_other(gateways: Any) -> None:
    one, two = await gateways.start(), await gateways.start()
    owner = await gateways.sign_up(await gateways.client(one))
    console_one = await gateways.login(one, owner.email)
    console_two = await gateways.client(two)
    console_two.cookies.update(console_one.cookies)
    assert (await console_two.get("/v1/tenant")).status_code == 200

    assert (await console_one.post("/v1/logout")).status_code == 204

    async def refused() -> bool:
        return (await console_two.get("/v1/tenant")).status_code == 401

    await soon(refused)


async def test_a_demotion_on_one_replica_applies_on_the_other(gateways: Any) -> None:
    one, two = await gateways.start(), await gateways.start()
    owner = await gateways.sign_up(await gateways.client(one))
    admin = await gateways.login(one, owner.email)
    added = (await admin.post("/v1/users", json={"email": "second@example.com", "password": gateways.password,
                                                 "role": "admin"})).json()
    second = await gateways.login(two, "second@example.com")

    async def may_mint() -> httpx.Response:
        return await second.post("/v1/api-keys", json=KEY_BODY)

    assert (await may_mint()).status_code == 201

    demoted = await admin.patch(f"/v1/users/{added['id']}", json={"role": "member"})
    assert demoted.status_code == 200, demoted.text

    async def forbidden() -> bool:
        return (await may_mint()).status_code == 403

    await soon(forbidden)
