"""Idempotency-Key over HTTP on a running gateway: a replay is authorized first and only ever answers the
principal that made the record, a secret shown once is never kept, and one key runs its write once."""

import asyncio
from typing import Any

from sqlalchemy import select

from afo_common.ids import new_id
from afo_common.service import Service
from afo_gateway.adapters.accounts_repository import ApiKeyRow, KeysRepository
from afo_gateway.adapters.tables import idempotency_records
from afo_gateway.domain.access import new_key

KEY_BODY = {"kind": "secret", "name": "ci"}


async def stored_bodies(service: Service) -> list[bytes]:
    async with service.db.session() as session:
        return [row.body or b"" for row in await session.execute(select(idempotency_records))]


async def test_a_member_cannot_replay_an_admins_key_creation(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    admin = await gateways.login(gateway, owner.email)
    added = await admin.post("/v1/users", json={"email": "member@example.com", "password": gateways.password,
                                                "role": "member"})
    assert added.status_code == 201, added.text
    member = await gateways.login(gateway, "member@example.com")
    headers = {"Idempotency-Key": "mint-1"}
    minted = await admin.post("/v1/api-keys", json=KEY_BODY, headers=headers)
    assert minted.status_code == 201 and minted.json()["secret"]

    replayed = await member.post("/v1/api-keys", json=KEY_BODY, headers=headers)

    assert replayed.status_code == 403, replayed.text
    assert replayed.headers["content-type"] == "application/problem+json"
    assert minted.json()["secret"] not in replayed.text


async def test_a_publishable_key_cannot_replay_a_key_creation(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    widget = new_key("publishable")
    async with gateway.unit_of_work() as work:
        await KeysRepository(work.session).add(ApiKeyRow(
            new_id("key"), owner.tenant_id, "publishable", "widget", widget.secret_hash, widget.hint, "agt_1",
            ["https://shop.example"], owner.signed_at, None))
    minted = await client.post("/v1/api-keys", json=KEY_BODY,
                               headers={**owner.auth, "Idempotency-Key": "mint-2"})
    assert minted.status_code == 201

    replayed = await client.post("/v1/api-keys", json=KEY_BODY, headers={
        "Authorization": f"Bearer {widget.secret}", "Origin": "https://shop.example", "Idempotency-Key": "mint-2"})

    assert replayed.status_code == 403, replayed.text
    assert minted.json()["secret"] not in replayed.text


async def test_a_replayed_key_creation_withholds_the_secret_and_none_is_stored(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    headers = {**owner.auth, "Idempotency-Key": "mint-3"}

    first = await client.post("/v1/api-keys", json=KEY_BODY, headers=headers)
    again = await client.post("/v1/api-keys", json=KEY_BODY, headers=headers)

    assert first.status_code == again.status_code == 201
    secret = first.json()["secret"]
    assert secret.startswith("sk_") and first.json()["secret_withheld"] is False
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first.json(), "secret": None, "secret_withheld": True}
    assert all(secret.encode() not in body for body in await stored_bodies(gateway))


async def test_a_replayed_signup_withholds_the_first_key(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    body = {"email": "first@example.com", "password": gateways.password, "company": "Acme"}
    headers = {"Idempotency-Key": "signup-1"}

    first = await client.post("/v1/signup", json=body, headers=headers)
    again = await client.post("/v1/signup", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    secret = first.json()["api_key"]["secret"]
    assert secret.startswith("sk_")
    assert again.json()["tenant"] == first.json()["tenant"]
    assert again.json()["api_key"]["secret"] is None
    assert again.json()["api_key"]["secret_withheld"] is True
    assert all(secret.encode() not in stored for stored in await stored_bodies(gateway))


async def test_concurrent_requests_with_one_key_run_the_write_once(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    headers = {**owner.auth, "Idempotency-Key": "mint-4"}

    answers = await asyncio.gather(*(client.post("/v1/api-keys", json=KEY_BODY, headers=headers)
                                     for _ in range(4)))

    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.json()["secret"] is not None for a in answers) == 1
    listed = (await client.get("/v1/api-keys", headers=owner.auth)).json()["data"]
    assert len(listed) == 2  # the sign-up's key and one more


async def test_keys_of_one_principal_do_not_replay_for_another_of_its_tenant(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)
    second = (await client.post("/v1/api-keys", json=KEY_BODY, headers=owner.auth)).json()["secret"]
    headers = {"Idempotency-Key": "mint-5"}

    first = await client.post("/v1/api-keys", json=KEY_BODY, headers={**owner.auth, **headers})
    other = await client.post("/v1/api-keys", json=KEY_BODY,
                              headers={"Authorization": f"Bearer {second}", **headers})

    assert first.status_code == other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["secret"] is not None
