"""The session cookie is Secure when the client reached a TLS-terminating proxy over HTTPS: uvicorn's
ProxyHeadersMiddleware (what ``Service.run`` turns on with ``forwarded_allow_ips``) makes the forwarded
scheme the request's, and only for proxies it trusts."""

from typing import Any

import httpx
import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

PROXY = "10.1.2.3"


async def login_through(gateways: Any, peer: str) -> httpx.Response:
    gateway = await gateways.start()
    owner = await gateways.sign_up(await gateways.client(gateway))
    behind_proxy = ProxyHeadersMiddleware(gateway.http, trusted_hosts=PROXY)
    transport = httpx.ASGITransport(app=behind_proxy, client=(peer, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.internal") as client:
        return await client.post("/v1/login", json={"email": owner.email, "password": gateways.password},
                                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.44"})


def cookie_attributes(response: httpx.Response) -> list[str]:
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("afo_session=")
    return [part.strip().lower() for part in set_cookie.split(";")]


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(gateways: Any) -> None:
    response = await login_through(gateways, PROXY)

    assert response.status_code == 200
    assert "secure" in cookie_attributes(response)
    assert "httponly" in cookie_attributes(response)


@pytest.mark.parametrize("peer", ["10.1.2.4", "192.0.2.44"])
async def test_a_forwarded_scheme_from_an_untrusted_address_is_ignored(gateways: Any, peer: str) -> None:
    response = await login_through(gateways, peer)

    assert response.status_code == 200
    assert "secure" not in cookie_attributes(response)
