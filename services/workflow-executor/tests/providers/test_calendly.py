"""CalendlyCalendar against a local stand-in speaking Calendly API v2: busy times in 7-day windows, the
event type chosen, single-use scheduling links, cancellation, 429, a bad token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from afo_common.provider_http import ProviderError, RetryPolicy
from afo_testkit.calendar_servers import FakeCalendly
from afo_workflow_executor.adapters.providers.calendly import MAX_WINDOW, CalendlyCalendar
from afo_workflow_executor.adapters.providers.time_windows import windows
from afo_workflow_executor.domain.calendar import Interval
from afo_workflow_executor.domain.external_calendars import MeetingDraft, SchedulingLink

TOKEN = "eyJraWQiOiJjYWxlbmRseS1wYXQtc2VjcmV0In0.pat"
FAST = RetryPolicy(attempts=3, initial_s=0.01, max_backoff_s=0.05, jitter_s=0.01)


def soon() -> datetime:
    """Calendly takes no start in the past: the tests ask about the days ahead."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def draft(start: datetime) -> MeetingDraft:
    return MeetingDraft(start=start, end=start + timedelta(minutes=30), time_zone="Europe/Berlin", title="Demo",
                        description="", attendee_email="lee@example.com", attendee_name="Lee",
                        idempotency_key="mtg_1")


@pytest.fixture
async def calendly() -> AsyncIterator[FakeCalendly]:
    async with FakeCalendly(secret=TOKEN) as server:
        yield server


@pytest.fixture
async def calendar(calendly: FakeCalendly) -> AsyncIterator[CalendlyCalendar]:
    client = CalendlyCalendar(TOKEN, base_url=calendly.base_url, policy=FAST)
    yield client
    await client.aclose()


def test_windows_cut_a_range_into_seven_days_at_most() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    assert windows(start, start + timedelta(days=15), MAX_WINDOW) == [
        (start, start + timedelta(days=7)), (start + timedelta(days=7), start + timedelta(days=14)),
        (start + timedelta(days=14), start + timedelta(days=15))]
    assert windows(start, start, MAX_WINDOW) == []


async def test_the_stand_in_refuses_more_than_seven_days_as_calendly_does(calendly: FakeCalendly) -> None:
    start = soon()
    params = {"user": calendly.user_uri, "start_time": start.isoformat(),
              "end_time": (start + timedelta(days=7, seconds=1)).isoformat()}
    async with httpx.AsyncClient(base_url=calendly.base_url) as client:
        answer = await client.get("/user_busy_times", params=params, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400 and answer.json()["details"][0]["parameter"] == "end_time"


async def test_busy_over_a_month_is_asked_in_seven_day_windows(
    calendly: FakeCalendly, calendar: CalendlyCalendar
) -> None:
    start = soon()
    calendly.busy = [(start + timedelta(days=20), start + timedelta(days=20, hours=1)),
                     (start + timedelta(days=6, hours=23), start + timedelta(days=7, hours=1)),  # across a cut
                     (start + timedelta(days=40), start + timedelta(days=40, hours=1))]  # outside
    booked = calendly.add_scheduled_event(start + timedelta(hours=2), start + timedelta(hours=3))
    busy = await calendar.busy(start, start + timedelta(days=30))
    assert busy == [Interval(start + timedelta(hours=2), start + timedelta(hours=3)),
                    Interval(start + timedelta(days=6, hours=23), start + timedelta(days=7, hours=1)),
                    Interval(start + timedelta(days=20), start + timedelta(days=20, hours=1))]
    assert [r.status for r in calendly.calls("GET", "/user_busy_times")] == [200] * 5
    assert len(calendly.calls("GET", "/users/me")) == 1 and booked in calendly.scheduled_events


async def test_busy_starting_in_the_past_asks_from_now(calendly: FakeCalendly, calendar: CalendlyCalendar) -> None:
    now = datetime.now(UTC)
    assert await calendar.busy(now - timedelta(days=3), now - timedelta(days=1)) == []
    assert calendly.calls("GET", "/user_busy_times") == []
    await calendar.busy(now - timedelta(days=3), now + timedelta(days=1))
    assert [r.status for r in calendly.calls("GET", "/user_busy_times")] == [200]


async def test_book_answers_a_single_use_link_for_the_first_active_event_type(
    calendly: FakeCalendly, calendar: CalendlyCalendar
) -> None:
    calendly.event_types.clear()
    calendly.add_event_type("Old intro", active=False)
    wanted = calendly.add_event_type("Discovery call")
    link = await calendar.book(draft(soon()))
    assert isinstance(link, SchedulingLink) and link.url.startswith("https://calendly.com/d/")
    assert calendly.scheduling_links == [{"booking_url": link.url, "owner": wanted, "owner_type": "EventType"}]
    await calendar.book(draft(soon()))
    assert len(calendly.calls("GET", "/event_types")) == 1  # the chosen type is kept


async def test_book_uses_the_configured_event_type_found_on_a_later_page(calendly: FakeCalendly) -> None:
    calendly.page_size = 2
    for number in range(4):
        calendly.add_event_type(f"Type {number}")
    configured = calendly.event_types[-1]["uri"]
    client = CalendlyCalendar(TOKEN, event_type_uri=configured, base_url=calendly.base_url, policy=FAST)
    await client.book(draft(soon()))
    await client.aclose()
    assert calendly.scheduling_links[0]["owner"] == configured
    pages = calendly.calls("GET", "/event_types")
    assert len(pages) == 3


async def test_an_event_type_that_is_not_the_users_fails_for_good(calendly: FakeCalendly) -> None:
    client = CalendlyCalendar(TOKEN, event_type_uri="https://api.calendly.com/event_types/NOTMINE",
                              base_url=calendly.base_url, policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.book(draft(soon()))
    await client.aclose()
    assert caught.value.retryable is False and "event_type_uri" in caught.value.reason
    assert calendly.scheduling_links == []


async def test_no_active_event_type_fails_for_good(calendly: FakeCalendly, calendar: CalendlyCalendar) -> None:
    calendly.event_types[0]["active"] = False
    with pytest.raises(ProviderError) as caught:
        await calendar.book(draft(soon()))
    assert caught.value.retryable is False and "no active event type" in caught.value.reason


async def test_cancel_cancels_and_an_event_already_gone_is_fine(
    calendly: FakeCalendly, calendar: CalendlyCalendar
) -> None:
    event_uuid = calendly.add_scheduled_event(soon(), soon() + timedelta(minutes=30))
    await calendar.cancel(f"https://api.calendly.com/scheduled_events/{event_uuid}")
    assert calendly.scheduled_events[event_uuid]["status"] == "canceled"
    await calendar.cancel(event_uuid)  # already canceled: Calendly answers 403
    await calendar.cancel("0b8a6d3e-0000-4000-8000-000000000000")  # unknown: 404
    cancellations = calendly.calls("POST", f"/scheduled_events/{event_uuid}/cancellation")
    assert [r.status for r in cancellations] == [201, 403]
    assert calendly.scheduled_events[event_uuid]["cancellation"]["reason"] == "Cancelled by the organiser"


async def test_429_waits_as_retry_after_says(calendly: FakeCalendly, calendar: CalendlyCalendar) -> None:
    calendly.fail_next(1, 429, retry_after="1", path="/scheduling_links")
    await calendar.book(draft(soon()))
    calls = calendly.calls("POST", "/scheduling_links")
    assert [r.status for r in calls] == [429, 201]
    assert calls[1].at - calls[0].at >= 0.95
    assert len(calendly.scheduling_links) == 1


async def test_a_bad_token_is_final_and_stays_out_of_the_reason(calendly: FakeCalendly) -> None:
    client = CalendlyCalendar("eyJ-wrong-token-123456", base_url=calendly.base_url, policy=FAST)
    with pytest.raises(ProviderError) as caught:
        await client.busy(soon(), soon() + timedelta(days=1))
    await client.aclose()
    assert (caught.value.provider, caught.value.status, caught.value.retryable) == ("calendly", 401, False)
    assert len(calendly.requests) == 1 and "eyJ-wrong-token-123456" not in str(caught.value)

