"""Connecting Google Calendar through the public API, on a gateway built by the composition root with the
Google stand-in as its token endpoint: the consent URL, the callback, and its problems as problem+json."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from afo_testkit.calendar_servers import FakeGoogle
from afo_testkit.problems import assert_problem

REFRESH = "1//0g-refresh-token-through-the-api-7777"
CALLBACK = "/v1/integrations/google/callback"


@pytest.fixture
async def google(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle(secret=REFRESH) as server:
        monkeypatch.setenv("AFO_GOOGLE_CLIENT_ID", server.client_id)
        monkeypatch.setenv("AFO_GOOGLE_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("AFO_GOOGLE_OAUTH_BASE_URL", server.base_url)
        yield server


async def consent(client: Any, auth: dict[str, str], google: FakeGoogle) -> dict[str, str]:
    """Starts a connect and agrees on Google's page: the query Google redirects back with."""
    response = await client.get("/v1/integrations/google/connect", headers=auth)
    assert response.status_code == 200, response.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.json()["url"]).query).items()}
    return {"state": query["state"], "code": google.authorize(query["redirect_uri"]),
            "redirect_uri": query["redirect_uri"]}


async def test_connect_then_callback_stores_google_masked(gateways: Any, google: FakeGoogle) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)
    back = await consent(client, owner.auth, google)
    assert back["redirect_uri"] == f"http://gateway.test{CALLBACK}"

    done = await client.get(CALLBACK, params={"state": back["state"], "code": back["code"]})

    assert done.status_code == 200, done.text
    shown = done.json()
    assert shown["provider"] == "google" and shown["fields"]["refresh_token"] == "••••7777"
    assert REFRESH not in done.text and google.client_secret not in done.text
    listed = (await client.get("/v1/integrations/google", headers=owner.auth)).json()
    assert listed["fields"]["client_id"] == google.client_id and listed["fields"]["access_token"].startswith("••••")
    replayed = await client.get(CALLBACK, params={"state": back["state"], "code": back["code"]})
    assert_problem(replayed, 400, "invalid-oauth-state")


async def test_bad_callbacks_are_problems(gateways: Any, google: FakeGoogle) -> None:
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)
    assert_problem(await client.get(CALLBACK), 400, "invalid-oauth-state")
    assert_problem(await client.get(CALLBACK, params={"state": "forged", "code": "4/0A-x"}), 400,
                   "invalid-oauth-state")
    refused = await consent(client, owner.auth, google)
    assert_problem(await client.get(CALLBACK, params={"state": refused["state"], "error": "access_denied"}), 400,
                   "oauth-refused")
    wrong_code = await consent(client, owner.auth, google)
    failed = assert_problem(await client.get(CALLBACK, params={"state": wrong_code["state"], "code": "4/0A-bogus"}),
                            502, "provider-error")
    assert google.client_secret not in str(failed)
    assert_problem(await client.get("/v1/integrations/google", headers=owner.auth), 404)


async def test_connect_needs_a_manager_and_a_client(gateways: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AFO_GOOGLE_CLIENT_ID", raising=False)
    monkeypatch.delenv("AFO_GOOGLE_CLIENT_SECRET", raising=False)
    client = await gateways.client(await gateways.start())
    owner = await gateways.sign_up(client)
    assert_problem(await client.get("/v1/integrations/google/connect"), 401)
    assert_problem(await client.get("/v1/integrations/google/connect", headers=owner.auth), 409,
                   "oauth-client-missing")
    own = {"client_id": "tenant-client.apps.googleusercontent.com", "client_secret": "GOCSPX-tenant-secret-1"}
    assert (await client.put("/v1/integrations/google", json=own, headers=owner.auth)).status_code == 200
    url = (await client.get("/v1/integrations/google/connect", headers=owner.auth)).json()["url"]
    assert parse_qs(urlsplit(url).query)["client_id"] == [own["client_id"]]
    half = await client.put("/v1/integrations/google", json={"client_id": "only-the-id"}, headers=owner.auth)
    assert_problem(half, 422, "validation-error")
