"""What the SSE route takes in its query string: a publishable key or a short-lived stream token, never a
secret key or a session token (URLs end up in logs, browser history and Referer headers)."""

from typing import Any


async def test_a_secret_key_in_the_query_string_is_refused(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)
    owner = await gateways.sign_up(client)

    response = await client.get("/v1/conversations/conv_1/stream", params={"access_token": owner.secret})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "stream token" in response.json()["detail"]
    assert owner.secret not in response.text


async def test_a_session_token_in_the_query_string_is_refused(gateways: Any) -> None:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    console = await gateways.login(gateway, owner.email)
    session = console.cookies["afo_session"]

    response = await console.get("/v1/conversations/conv_1/stream", params={"access_token": session})

    assert response.status_code == 401
    assert "stream token" in response.json()["detail"]


async def test_an_unknown_stream_token_is_refused(gateways: Any) -> None:
    gateway = await gateways.start()
    client = await gateways.client(gateway)

    response = await client.get("/v1/conversations/conv_1/stream", params={"access_token": "st_" + "x" * 40})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
