"""GoogleCalendar against a local stand-in speaking Google Calendar v3 and Google's OAuth token endpoint:
busy times, an idempotent create, cancel, token refresh (missing, expired, refused with 401), 429, bad grants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from afo_common.provider_http import ProviderError, RetryPolicy
from afo_testkit.calendar_servers import FakeGoogle
from afo_workflow_executor.adapters.providers.google_calendar import (
    AccessTokenCache,
    GoogleCalendar,
    GoogleCredentials,
    event_id_for,
)
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.external_calendars import MeetingDraft

REFRESH = "1//0g-refresh-token-secret-4242"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DRAFT = MeetingDraft(start=START, end=START + timedelta(minutes=30), time_zone="Europe/Berlin",
                     title="Demo with Acme", description="Booked by the assistant", attendee_email="lee@example.com",
                     attendee_name="Lee Lead", idempotency_key="mtg_01HZX-request-1")
EVENTS = "/calendar/v3/calendars/primary/events"


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle(secret=REFRESH) as server:
        server.events["primary"] = {}
        yield server


def credentials(google: FakeGoogle, **overrides: str) -> GoogleCredentials:
    fields = {"client_id": google.client_id, "client_secret": google.client_secret, "refresh_token": REFRESH,
              **overrides}
    return GoogleCredentials.from_fields(fields)


@pytest.fixture
async def calendar(google: FakeGoogle) -> AsyncIterator[GoogleCalendar]:
    client = GoogleCalendar("ten_1", credentials(google), tokens=AccessTokenCache(), api_base=google.base_url,
                            oauth_base=google.base_url, policy=FAST)
    yield client
    await client.aclose()


def test_event_ids_follow_googles_rule_and_are_stable() -> None:
    event_id = event_id_for("mtg_01HZX-request-1")
    assert event_id == event_id_for("mtg_01HZX-request-1") != event_id_for("mtg_01HZX-request-2")
    assert len(event_id) == 52 and set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")


async def test_busy_reports_the_calendars_busy_times_in_order(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    google.busy["primary"] = [(START + timedelta(hours=3), START + timedelta(hours=4)),
                              (START - timedelta(hours=1), START + timedelta(minutes=30)),
                              (START + timedelta(days=3), START + timedelta(days=3, hours=1))]
    busy = await calendar.busy(START, START + timedelta(days=1))
    # Google clips to the asked range and leaves out what lies outside it
    assert busy == [Interval(START, START + timedelta(minutes=30)),
                    Interval(START + timedelta(hours=3), START + timedelta(hours=4))]
    assert google.token_grants == ["refresh_token"]  # no access token was stored: one refresh, then cached


async def test_busy_over_a_long_horizon_is_asked_in_windows_google_accepts(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    google.busy["primary"] = [(START + timedelta(days=100), START + timedelta(days=100, hours=1))]
    busy = await calendar.busy(START, START + timedelta(days=120))
    assert busy == [Interval(START + timedelta(days=100), START + timedelta(days=100, hours=1))]
    assert [r.status for r in google.calls("POST", "/calendar/v3/freeBusy")] == [200, 200]


async def test_book_creates_the_event_with_the_attendee(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    event = await calendar.book(DRAFT)
    stored = google.events["primary"][event.external_id]
    assert event.external_id == event_id_for(DRAFT.idempotency_key)
    assert event.url == f"https://www.google.com/calendar/event?eid={event.external_id}"
    assert stored["attendees"] == [{"email": "lee@example.com", "displayName": "Lee Lead"}]
    assert stored["start"] == {"dateTime": "2026-06-01T09:00:00Z", "timeZone": "Europe/Berlin"}
    assert (stored["summary"], google.send_updates[event.external_id]) == ("Demo with Acme", "all")
    assert await calendar.busy(START, START + timedelta(hours=1)) == [Interval(DRAFT.start, DRAFT.end)]


async def test_book_again_with_the_same_request_finds_the_first_event(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    first = await calendar.book(DRAFT)
    second = await calendar.book(DRAFT)
    assert first == second and list(google.events["primary"]) == [first.external_id]
    assert [r.status for r in google.calls("POST", EVENTS)] == [200, 409]
    assert [r.status for r in google.calls("GET", f"{EVENTS}/{first.external_id}")] == [200]


async def test_a_create_that_landed_but_failed_to_answer_is_not_made_twice(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    google.fail_next(1, 503, path=EVENTS, after_processing=True)
    event = await calendar.book(DRAFT)
    assert list(google.events["primary"]) == [event.external_id]
    assert [r.status for r in google.calls("POST", EVENTS)] == [503, 409]


async def test_a_booking_request_whose_event_was_cancelled_is_not_revived(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = await calendar.book(DRAFT)
    await calendar.cancel(event.external_id)
    with pytest.raises(ProviderError) as caught:
        await calendar.book(DRAFT)
    assert (caught.value.status, caught.value.retryable) == (409, False)
    assert google.events["primary"][event.external_id]["status"] == "cancelled"


async def test_cancel_deletes_and_an_event_already_gone_is_fine(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    event = await calendar.book(DRAFT)
    await calendar.cancel(event.external_id)
    await calendar.cancel(event.external_id)  # Google: 410 Gone
    await calendar.cancel("nosucheventid0")  # Google: 404
    path = f"{EVENTS}/{event.external_id}"
    assert [r.status for r in google.calls("DELETE", path)] == [204, 410]
    assert [r.status for r in google.calls("DELETE", f"{EVENTS}/nosucheventid0")] == [404]
    assert await calendar.busy(START, START + timedelta(hours=1)) == []


async def test_a_stored_valid_access_token_is_used_without_a_refresh(google: FakeGoogle) -> None:
    token = google.issue_access_token()
    stored = credentials(google, access_token=token, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    client = GoogleCalendar("ten_1", stored, tokens=AccessTokenCache(), api_base=google.base_url,
                            oauth_base=google.base_url, policy=FAST)
    await client.busy(START, START + timedelta(hours=1))
    await client.aclose()
    assert google.token_grants == []


async def test_an_expired_stored_token_is_refreshed_before_the_call(google: FakeGoogle) -> None:
    token = google.issue_access_token(lifetime_s=-10)
    stored = credentials(google, access_token=token, expires_at=str(int(datetime.now(UTC).timestamp()) - 10))
    client = GoogleCalendar("ten_1", stored, tokens=AccessTokenCache(), api_base=google.base_url,
                            oauth_base=google.base_url, policy=FAST)
    await client.busy(START, START + timedelta(hours=1))
    await client.aclose()
    assert google.token_grants == ["refresh_token"]
    assert [r.status for r in google.calls("POST", "/calendar/v3/freeBusy")] == [200]  # never sent the old one


async def test_a_401_refreshes_once_and_the_call_is_made_again(google: FakeGoogle) -> None:
    tokens = AccessTokenCache()
    client = GoogleCalendar("ten_1", credentials(google), tokens=tokens, api_base=google.base_url,
                            oauth_base=google.base_url, policy=FAST)
    await client.busy(START, START + timedelta(hours=1))
    google.expire_access_tokens()  # revoked early: the adapter still believes its token valid
    event = await client.book(DRAFT)
    await client.aclose()
    assert google.token_grants == ["refresh_token", "refresh_token"]
    assert [r.status for r in google.calls("POST", EVENTS)] == [401, 200]
    assert event.external_id in google.events["primary"]


async def test_the_refreshed_token_is_shared_by_the_tenants_next_adapter(google: FakeGoogle) -> None:
    tokens = AccessTokenCache()
    for _ in range(2):
        client = GoogleCalendar("ten_1", credentials(google), tokens=tokens, api_base=google.base_url,
                                oauth_base=google.base_url, policy=FAST)
        await client.busy(START, START + timedelta(hours=1))
        await client.aclose()
    other = GoogleCalendar("ten_2", credentials(google), tokens=tokens, api_base=google.base_url,
                           oauth_base=google.base_url, policy=FAST)
    await other.busy(START, START + timedelta(hours=1))
    await other.aclose()
    assert google.token_grants == ["refresh_token", "refresh_token"]  # one per tenant, not per adapter


async def test_429_waits_as_retry_after_says(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    google.fail_next(1, 429, retry_after="1", path="/calendar/v3/freeBusy")
    await calendar.busy(START, START + timedelta(hours=1))
    calls = google.calls("POST", "/calendar/v3/freeBusy")
    assert [r.status for r in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.95  # backoff alone would have waited ~0.01s


async def test_a_revoked_refresh_token_is_final_and_no_secret_is_in_the_reason(google: FakeGoogle) -> None:
    revoked = "1//0g-revoked-refresh-token-9999"
    client = GoogleCalendar("ten_1", credentials(google, refresh_token=revoked), tokens=AccessTokenCache(),
                            api_base=google.base_url, oauth_base=google.base_url, policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.book(DRAFT)
    await client.aclose()
    assert (caught.value.provider, caught.value.status, caught.value.retryable) == ("google", 400, False)
    assert "invalid_grant" in caught.value.reason and "connect Google again" in caught.value.reason
    assert revoked not in str(caught.value) and google.client_secret not in str(caught.value)
    assert google.calls("POST", EVENTS) == [] and len(google.calls("POST", "/token")) == 1


async def test_a_wrong_client_secret_is_final(google: FakeGoogle) -> None:
    client = GoogleCalendar("ten_1", credentials(google, client_secret="GOCSPX-wrong-secret-77"),
                            tokens=AccessTokenCache(), api_base=google.base_url, oauth_base=google.base_url,
                            policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.busy(START, START + timedelta(hours=1))
    await client.aclose()
    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert "GOCSPX-wrong-secret-77" not in str(caught.value) and "invalid_client" in caught.value.reason


async def test_a_record_without_a_refresh_token_fails_for_good() -> None:
    with pytest.raises(ProviderError) as caught:
        GoogleCredentials.from_fields({"client_id": "id", "client_secret": "GOCSPX-secret-0000"})
    assert caught.value.retryable is False and "refresh_token" in caught.value.reason
    assert "GOCSPX" not in str(caught.value)


async def test_an_unknown_calendar_fails_for_good(google: FakeGoogle) -> None:
    client = GoogleCalendar("ten_1", credentials(google, calendar_id="nobody@example.com"),
                            tokens=AccessTokenCache(), api_base=google.base_url, oauth_base=google.base_url,
                            policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.busy(START, START + timedelta(hours=1))
    await client.aclose()
    assert caught.value.retryable is False and "notFound" in caught.value.reason


async def test_server_errors_past_the_attempts_are_retryable(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    google.fail_next(5, 503, path=EVENTS)
    with pytest.raises(ProviderError) as caught:
        await calendar.book(DRAFT)
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(google.calls("POST", EVENTS)) == FAST.attempts
