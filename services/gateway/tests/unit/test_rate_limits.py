"""Rate limits on a running gateway: login and sign-up per client address and per email, every API call
per principal; a refusal is 429 problem+json with Retry-After in seconds."""

from typing import Any

import httpx
import pytest


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://afo.dev/problems/rate-limited"
    assert 1 <= int(response.headers["retry-after"]) <= 3600


async def test_logins_from_one_address_are_limited(gateways: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_RATE_LIMIT_LOGIN_PER_IP", "3/minute")
    gateway = await gateways.start()
    attacker = await gateways.client(gateway, "198.51.100.7")

    tries = [await attacker.post("/v1/login", json={"email": f"user{n}@example.com", "password": "guess-1234"})
             for n in range(4)]

    assert [t.status_code for t in tries[:3]] == [401, 401, 401]
    assert_limited(tries[3])
    # Another address is not held back by the first one's attempts.
    other = await gateways.client(gateway, "198.51.100.8")
    assert (await other.post("/v1/login", json={"email": "user0@example.com", "password": "x"})).status_code == 401


async def test_logins_to_one_email_are_limited_whatever_the_address(gateways: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_RATE_LIMIT_LOGIN_PER_EMAIL", "2/minute")
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))

    tries = [await (await gateways.client(gateway, f"198.51.100.{n}")).post(
        "/v1/login", json={"email": owner.email.upper(), "password": "wrong password"}) for n in range(3)]

    assert [t.status_code for t in tries[:2]] == [401, 401]
    assert_limited(tries[2])


async def test_signups_from_one_address_are_limited(gateways: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_RATE_LIMIT_SIGNUP_PER_IP", "2/hour")
    gateway = await gateways.start()
    client = await gateways.client(gateway, "198.51.100.20")

    await gateways.sign_up(client)
    await gateways.sign_up(client)
    third = await client.post("/v1/signup", json={"email": "third@example.com", "password": gateways.password,
                                                  "company": "Acme"})

    assert_limited(third)


async def test_api_calls_are_limited_per_principal(gateways: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFO_RATE_LIMIT_API_PER_PRINCIPAL", "5/minute")
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    busy = await gateways.sign_up(client)
    quiet = await gateways.sign_up(client)

    answers = [await client.get("/v1/tenant", headers=busy.auth) for _ in range(6)]

    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert_limited(answers[5])
    assert (await client.get("/v1/tenant", headers=quiet.auth)).status_code == 200


async def test_the_default_per_principal_limit_lets_a_busy_integration_through(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)

    answers = [await client.get("/v1/tenant", headers=owner.auth) for _ in range(600)]

    assert {a.status_code for a in answers} == {200}
