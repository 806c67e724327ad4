"""Connecting Google Calendar as the handler does it, on every backend (``conftest.py``), against the Google
stand-in's token endpoint: the consent URL, the code exchanged once, the tokens sealed in the google record,
and every bad callback (unknown, replayed, expired or foreign state; refused consent; Google failing)."""

import base64
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from afo_common.events import Envelope
from afo_gateway.adapters.google_tokens import GoogleTokens
from afo_gateway.domain.access import ROLE_PERMISSIONS, SECRET_KEY_PERMISSIONS, Principal
from afo_gateway.domain.errors import (
    Forbidden,
    OAuthNotConfigured,
    OAuthRefused,
    OAuthStateInvalid,
    ProviderFailed,
)
from afo_gateway.domain.google_oauth import CALENDAR_SCOPE, OAuthClient
from afo_gateway.domain.vault import Keyring
from afo_gateway.handlers.google_connect import GoogleConnect
from afo_gateway.handlers.integrations import Integrations
from afo_gateway.handlers.unit_of_work import Store
from afo_testkit.calendar_servers import FakeGoogle
from afo_testkit.clock import FixedClock
from afo_testkit.spans import exported as exported

Committed = Callable[[], Awaitable[list[Envelope]]]
REFRESH = "1//0g-refresh-token-from-consent-4242"
REDIRECT = "https://api.afo.test/v1/integrations/google/callback"


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle(secret=REFRESH) as server:
        yield server


def owner(tenant_id: str = "ten_a") -> Principal:
    return Principal(tenant_id, "secret_key", f"sub_{tenant_id}", SECRET_KEY_PERMISSIONS)


def member(tenant_id: str = "ten_a") -> Principal:
    return Principal(tenant_id, "user", f"usr_{tenant_id}", ROLE_PERMISSIONS["member"])


class Setup:
    def __init__(self, store: Store, google: FakeGoogle, client: OAuthClient | None = None) -> None:
        self.clock = FixedClock()
        self.vault = Integrations(store, Keyring.from_setting(f"k1:{base64.b64encode(os.urandom(32)).decode()}"),
                                  self.clock)
        platform = client if client is not None else OAuthClient(google.client_id, google.client_secret)
        self.connect = GoogleConnect(store, self.vault, GoogleTokens(google.base_url), self.clock, platform)
        self.google = google

    async def consent(self, principal: Principal | None = None) -> tuple[str, dict[str, list[str]]]:
        """Starts a connect and agrees on the consent page: the state and the query Google sends back."""
        url = await self.connect.start(principal or owner(), REDIRECT)
        query = parse_qs(urlsplit(url).query)
        return query["state"][0], {"code": [self.google.authorize(query["redirect_uri"][0])], **query}


@pytest.fixture
def setup(store: Store, google: FakeGoogle) -> Setup:
    return Setup(store, google)


async def test_the_consent_url_asks_google_for_offline_calendar_access(setup: Setup, google: FakeGoogle) -> None:
    url = await setup.connect.start(owner(), REDIRECT)
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    assert query["client_id"] == google.client_id and query["redirect_uri"] == REDIRECT
    assert (query["response_type"], query["scope"]) == ("code", CALENDAR_SCOPE)
    assert (query["access_type"], query["prompt"]) == ("offline", "consent")
    assert len(query["state"]) >= 43 and google.client_secret not in url
    second = await setup.connect.start(owner(), REDIRECT)
    assert parse_qs(urlsplit(second).query)["state"][0] != query["state"]


async def test_the_callback_stores_the_tokens_sealed_and_announces_the_connection(
    setup: Setup, google: FakeGoogle, store: Store, committed: Committed
) -> None:
    state, back = await setup.consent()
    view = await setup.connect.finish(state, back["code"][0], None)

    assert view.provider == "google" and view.fields["refresh_token"] == "••••4242"
    assert set(view.secret_fields) == {"client_secret", "refresh_token", "access_token"}
    stored = await setup.vault.fields("ten_a", "google")
    assert stored is not None and stored["refresh_token"] == REFRESH
    assert stored["access_token"] in google.access_tokens and stored["client_id"] == google.client_id
    assert stored["expires_at"] == (setup.clock.at + timedelta(seconds=google.token_lifetime_s)).isoformat()
    async with store.reading() as repos:
        row = await repos.integrations.get("ten_a", "google")
    assert row is not None and REFRESH.encode() not in row.ciphertext
    event = (await committed())[-1]
    assert (event.type, event.tenantid, event.data["provider"]) == ("afo.integration.connected.v1", "ten_a", "google")
    assert REFRESH not in str(event.data)
    assert google.token_grants == ["authorization_code"]


async def test_a_state_works_once(setup: Setup, google: FakeGoogle) -> None:
    state, back = await setup.consent()
    await setup.connect.finish(state, back["code"][0], None)
    with pytest.raises(OAuthStateInvalid):
        await setup.connect.finish(state, google.authorize(REDIRECT), None)
    assert google.token_grants == ["authorization_code"]


@pytest.mark.parametrize("state", [None, "", "not-a-state-we-issued", "x" * 43])
async def test_an_unknown_state_is_refused_before_google_is_asked(
    setup: Setup, google: FakeGoogle, state: str | None
) -> None:
    with pytest.raises(OAuthStateInvalid):
        await setup.connect.finish(state, google.authorize(REDIRECT), None)
    assert google.calls("POST", "/token") == []


async def test_an_expired_state_is_refused(setup: Setup, google: FakeGoogle) -> None:
    state, back = await setup.consent()
    setup.clock.advance(timedelta(minutes=10))
    with pytest.raises(OAuthStateInvalid):
        await setup.connect.finish(state, back["code"][0], None)
    assert google.calls("POST", "/token") == [] and await setup.vault.fields("ten_a", "google") is None


async def test_the_state_binds_the_tenant_that_started(setup: Setup) -> None:
    state, back = await setup.consent(owner("ten_b"))
    await setup.connect.finish(state, back["code"][0], None)
    assert await setup.vault.fields("ten_a", "google") is None
    assert await setup.vault.fields("ten_b", "google") is not None


async def test_a_refused_consent_uses_up_the_state(setup: Setup, google: FakeGoogle) -> None:
    state, _ = await setup.consent()
    with pytest.raises(OAuthRefused) as caught:
        await setup.connect.finish(state, None, "access_denied")
    assert "access_denied" in caught.value.detail
    with pytest.raises(OAuthStateInvalid):
        await setup.connect.finish(state, google.authorize(REDIRECT), None)


async def test_a_code_google_refuses_is_a_provider_failure_without_secrets(
        setup: Setup, google: FakeGoogle, exported: InMemorySpanExporter) -> None:
    state, _ = await setup.consent()
    with pytest.raises(ProviderFailed) as caught:
        await setup.connect.finish(state, "4/0A-a-code-google-never-issued", None)
    assert caught.value.status == 502 and "invalid_grant" in caught.value.detail
    assert google.client_secret not in caught.value.detail and await setup.vault.fields("ten_a", "google") is None
    [exchange] = [span for span in exported.get_finished_spans() if span.kind is SpanKind.CLIENT]
    attributes = dict(exchange.attributes or {})
    assert (exchange.name, exchange.status.status_code, attributes["http.response.status_code"]) == (
        "POST google", StatusCode.ERROR, 400)
    assert not {google.client_secret, "4/0A-a-code-google-never-issued"} & {str(v) for v in attributes.values()}


async def test_google_failing_is_a_provider_failure(setup: Setup, google: FakeGoogle) -> None:
    state, back = await setup.consent()
    google.fail_next(1, 503, path="/token")
    with pytest.raises(ProviderFailed) as caught:
        await setup.connect.finish(state, back["code"][0], None)
    assert "503" in caught.value.detail


async def test_no_google_answering_is_a_provider_failure(store: Store, google: FakeGoogle) -> None:
    setup = Setup(store, google)
    setup.connect = GoogleConnect(store, setup.vault, GoogleTokens("http://127.0.0.1:9"), setup.clock,
                                  OAuthClient(google.client_id, google.client_secret))
    state, back = await setup.consent()
    with pytest.raises(ProviderFailed):
        await setup.connect.finish(state, back["code"][0], None)


async def test_the_tenants_own_client_comes_before_the_platforms(store: Store, google: FakeGoogle) -> None:
    setup = Setup(store, google, OAuthClient("platform-client.apps.googleusercontent.com", "GOCSPX-platform-0000"))
    await setup.vault.put(owner(), "google", {"client_id": google.client_id, "client_secret": google.client_secret,
                                               "calendar_id": "sales@acme.test"})
    state, back = await setup.consent()
    assert back["client_id"] == [google.client_id]
    await setup.connect.finish(state, back["code"][0], None)
    stored = await setup.vault.fields("ten_a", "google")
    assert stored is not None and stored["calendar_id"] == "sales@acme.test" and stored["refresh_token"] == REFRESH


async def test_without_any_client_there_is_nothing_to_connect(store: Store, google: FakeGoogle) -> None:
    setup = Setup(store, google)
    setup.connect = GoogleConnect(store, setup.vault, GoogleTokens(google.base_url), setup.clock, None)
    with pytest.raises(OAuthNotConfigured):
        await setup.connect.start(owner(), REDIRECT)


async def test_a_member_may_not_connect(setup: Setup) -> None:
    with pytest.raises(Forbidden):
        await setup.connect.start(member(), REDIRECT)


async def test_unfinished_consents_are_purged(setup: Setup, store: Store) -> None:
    await setup.connect.start(owner(), REDIRECT)
    setup.clock.advance(timedelta(minutes=11))
    await setup.connect.purge()
    async with store.reading() as repos:
        assert await repos.oauth_states.purge(setup.clock.now()) == 0


