"""VaultExternalCalendars on a real nats-server, with a stand-in for the gateway's credential RPC and the Google
and Calendly stand-ins: which calendar a tenant gets, what it asks the vault, the cache, and the failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.aio.msg import Msg

from afo_common.messaging.connection import NatsConnection
from afo_common.messaging.rpc import RpcClient, encode_error, encode_result
from afo_common.provider_http import ProviderError, RetryPolicy
from afo_common.rpcs.gateway import RESOLVE_CREDENTIAL, ResolveCredential, ResolvedCredential
from afo_testkit.calendar_servers import FakeCalendly, FakeGoogle
from afo_testkit.nats import nats_server
from afo_workflow_executor.adapters.external_calendars import CalendarEndpoints, VaultExternalCalendars
from afo_workflow_executor.adapters.providers.calendly import CalendlyCalendar
from afo_workflow_executor.adapters.providers.google_calendar import GoogleCalendar
from afo_workflow_executor.domain.external_calendars import MeetingDraft, SchedulingLink

RESOLVE = RESOLVE_CREDENTIAL["workflow-executor"]
REFRESH = "1//0g-refresh-token-secret-4242"
CALENDLY_TOKEN = "eyJ-calendly-personal-token-1"
FAST = RetryPolicy(attempts=2, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
Vault = dict[tuple[str, str], dict[str, str]]


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[NatsConnection]:
    async with nats_server(tmp_path) as server:
        conn = NatsConnection(server.url, "workflow-executor-test")
        await conn.connect()
        yield conn
        await conn.close()


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle(secret=REFRESH) as server:
        server.events["primary"] = {}
        yield server


@pytest.fixture
async def calendly() -> AsyncIterator[FakeCalendly]:
    async with FakeCalendly(secret=CALENDLY_TOKEN) as server:
        yield server


async def gateway(connection: NatsConnection, vault: Vault, asked: list[ResolveCredential],
                  fail: Callable[[ResolveCredential], Awaitable[bytes | None]] | None = None) -> None:
    """Answers as the gateway does: the record's fields, or `not_found`."""

    async def respond(msg: Msg) -> None:
        request = ResolveCredential.model_validate_json(msg.data)
        asked.append(request)
        failure = await fail(request) if fail is not None else None
        if failure is not None:
            await msg.respond(failure)
            return
        fields = vault.get((request.tenant_id, request.provider))
        if fields is None:
            await msg.respond(encode_error("not_found", f"{request.provider} is not configured for this tenant"))
            return
        await msg.respond(encode_result(ResolvedCredential(provider=request.provider, fields=fields, key_id="k0")))

    await connection.client.subscribe(RESOLVE.subject, cb=respond)
    await connection.client.flush()


@pytest.fixture
async def calendars(connection: NatsConnection, google: FakeGoogle, calendly: FakeCalendly
                    ) -> AsyncIterator[VaultExternalCalendars]:
    endpoints = CalendarEndpoints(google_api=google.base_url, google_oauth=google.base_url,
                                  calendly_api=calendly.base_url)
    found = VaultExternalCalendars(RpcClient(connection, timeout_s=2.0), endpoints=endpoints, policy=FAST,
                                   timeout_s=0.5)
    yield found
    await found.aclose()


def google_record(google: FakeGoogle) -> dict[str, str]:
    return {"client_id": google.client_id, "client_secret": google.client_secret, "refresh_token": REFRESH}


def draft() -> MeetingDraft:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return MeetingDraft(start=start, end=start + timedelta(minutes=30), time_zone="UTC", title="Demo",
                        description="", attendee_email="lee@example.com", attendee_name=None, idempotency_key="m1")


async def test_google_comes_first_and_books(
    connection: NatsConnection, google: FakeGoogle, calendars: VaultExternalCalendars
) -> None:
    asked: list[ResolveCredential] = []
    vault = {("ten_1", "google"): google_record(google), ("ten_1", "calendly"): {"access_token": CALENDLY_TOKEN}}
    await gateway(connection, vault, asked)
    calendar = await calendars.for_tenant("ten_1")
    assert isinstance(calendar, GoogleCalendar) and calendar.provider == "google"
    event = await calendar.book(draft())
    assert event.external_id in google.events["primary"]
    assert [(a.tenant_id, a.provider) for a in asked] == [("ten_1", "google")]
    assert asked[0].purpose


async def test_calendly_when_google_is_not_connected(
    connection: NatsConnection, calendly: FakeCalendly, calendars: VaultExternalCalendars
) -> None:
    asked: list[ResolveCredential] = []
    configured = calendly.add_event_type("Discovery")
    await gateway(connection, {("ten_1", "calendly"): {"access_token": CALENDLY_TOKEN, "event_type_uri": configured}},
                  asked)
    calendar = await calendars.for_tenant("ten_1")
    assert isinstance(calendar, CalendlyCalendar)
    link = await calendar.book(draft())
    assert isinstance(link, SchedulingLink) and calendly.scheduling_links[0]["owner"] == configured
    assert [a.provider for a in asked] == ["google", "calendly"]


async def test_a_google_record_not_yet_connected_does_not_count(
    connection: NatsConnection, google: FakeGoogle, calendars: VaultExternalCalendars
) -> None:
    client_only = {"client_id": google.client_id, "client_secret": google.client_secret}
    await gateway(connection, {("ten_1", "google"): client_only}, [])
    assert await calendars.for_tenant("ten_1") is None


async def test_neither_is_none_and_tenants_do_not_see_each_others(
    connection: NatsConnection, google: FakeGoogle, calendars: VaultExternalCalendars
) -> None:
    asked: list[ResolveCredential] = []
    await gateway(connection, {("ten_2", "google"): google_record(google)}, asked)
    assert await calendars.for_tenant("ten_1") is None
    assert isinstance(await calendars.for_tenant("ten_2"), GoogleCalendar)
    assert {a.tenant_id for a in asked if a.provider == "calendly"} == {"ten_1"}


async def test_the_answer_is_cached_until_forgotten(
    connection: NatsConnection, google: FakeGoogle, calendars: VaultExternalCalendars
) -> None:
    asked: list[ResolveCredential] = []
    vault: Vault = {}
    await gateway(connection, vault, asked)
    assert await calendars.for_tenant("ten_1") is None
    vault[("ten_1", "google")] = google_record(google)
    assert await calendars.for_tenant("ten_1") is None  # within the TTL: the cached answer
    assert len(asked) == 2
    calendars.forget("ten_1")
    assert isinstance(await calendars.for_tenant("ten_1"), GoogleCalendar)
    assert len(asked) == 3


async def test_a_short_ttl_asks_the_vault_again(connection: NatsConnection, google: FakeGoogle) -> None:
    asked: list[ResolveCredential] = []
    await gateway(connection, {}, asked)
    found = VaultExternalCalendars(RpcClient(connection, timeout_s=2.0), ttl_s=0.0, timeout_s=0.5)
    await found.for_tenant("ten_1")
    await found.for_tenant("ten_1")
    await found.aclose()
    assert len(asked) == 4  # google and calendly, twice


@pytest.mark.parametrize("code", ["forbidden", "internal", "unavailable"])
async def test_a_vault_failure_is_retryable_and_not_cached(
    connection: NatsConnection, calendars: VaultExternalCalendars, code: str
) -> None:
    asked: list[ResolveCredential] = []

    async def failing(request: ResolveCredential) -> bytes | None:
        return encode_error(code, "no") if len(asked) == 1 else None  # type: ignore[arg-type]

    await gateway(connection, {}, asked, failing)
    with pytest.raises(ProviderError) as caught:
        await calendars.for_tenant("ten_1")
    assert (caught.value.provider, caught.value.retryable) == ("google", True) and code in caught.value.reason
    assert await calendars.for_tenant("ten_1") is None  # the failure was not kept


async def test_no_gateway_answering_is_retryable(calendars: VaultExternalCalendars) -> None:
    with pytest.raises(ProviderError) as caught:
        await calendars.for_tenant("ten_1")
    assert caught.value.retryable is True
