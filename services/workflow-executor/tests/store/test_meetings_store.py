"""What the booking flow adds to the store, on memory, SQLite and PostgreSQL: one calendar per owner however many
first requests race to make it, a booking's meeting columns kept, found by its request, its outside event noted,
the tenant's meetings searched, who cancelled kept, and the answers of failed requests by request id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from afo_common.ids import new_id
from afo_workflow_executor.domain.calendar import CalendarSettings, TimeRange
from afo_workflow_executor.domain.records import BookingRow, CalendarRow
from afo_workflow_executor.handlers.unit_of_work import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SETTINGS = CalendarSettings(time_zone="Europe/Paris", weekly={"mon": (TimeRange.parse("09:00-17:00"),)})


def booking(start: datetime, *, tenant: str = "t1", agent: str = "agt_1", lead: str = "lead_1",
            meeting_id: str | None = None) -> BookingRow:
    held = SETTINGS.held(start)
    return BookingRow(meeting_id or new_id("mtg"), tenant, "cal_1", start, start + SETTINGS.length, held.start,
                      held.end, "booked", new_id("req"), lead, "conv_1", T0, T0, agent_id=agent,
                      time_zone="Europe/Paris", title="Intro call", rescheduled_from="mtg_before")


async def test_racing_first_requests_make_one_calendar_per_owner(store: Store, backend: str) -> None:
    rows = [CalendarRow(new_id("cal"), "t1", "agent", "agt_1", SETTINGS, T0, T0) for _ in range(8)]

    async def ensure(row: CalendarRow) -> CalendarRow:
        async with store() as uow:
            return await uow.calendars.ensure(row)

    made = await asyncio.gather(*(ensure(row) for row in rows))
    other = await ensure(CalendarRow(new_id("cal"), "t2", "agent", "agt_1", SETTINGS, T0, T0))

    assert len({row.id for row in made}) == 1 and other.id != made[0].id
    async with store.reading() as repos:
        assert await repos.calendars.of_owner("t1", "agent", "agt_1") == made[0]
        assert await repos.calendars.of_owner("t1", "agent", "agt_2") is None
        assert await repos.calendars.of_owner("t1", "team", "agt_1") is None
        assert len(await repos.calendars.page("t1", 10, None)) == 1


async def test_a_booking_keeps_its_meeting_columns_and_is_found_by_its_request(store: Store) -> None:
    row = booking(datetime(2026, 3, 9, 10, tzinfo=UTC))
    async with store() as uow:
        assert await uow.bookings.book(row, SETTINGS.step) == row
        await uow.bookings.record_external("t2", row.id, "google", "ev_theirs", None)  # another tenant: nothing
        await uow.bookings.record_external("t1", row.id, "google", "ev_1", "https://calendar.example/ev_1")

    async with store.reading() as repos:
        found = await repos.bookings.by_request("t1", row.request_id)
        assert await repos.bookings.by_request("t2", row.request_id) is None
    assert found is not None
    assert (found.agent_id, found.time_zone, found.title, found.rescheduled_from) == \
        ("agt_1", "Europe/Paris", "Intro call", "mtg_before")
    assert (found.provider, found.external_id, found.url) == ("google", "ev_1", "https://calendar.example/ev_1")


async def test_who_cancelled_is_kept(store: Store) -> None:
    row = booking(datetime(2026, 3, 9, 10, tzinfo=UTC))
    async with store() as uow:
        await uow.bookings.book(row, SETTINGS.step)
        cancelled = await uow.bookings.cancel("t1", row.id, T0 + timedelta(hours=1), by="lead")
        again = await uow.bookings.cancel("t1", row.id, T0 + timedelta(hours=2), by="tenant")

    assert cancelled is not None and (cancelled.status, cancelled.cancelled_by) == ("cancelled", "lead")
    assert again is not None and again.cancelled_by == "lead" and again.updated_at == T0 + timedelta(hours=1)


async def test_the_tenants_meetings_are_searched_newest_first(store: Store) -> None:
    rows = [booking(datetime(2026, 3, 9, 9, tzinfo=UTC) + timedelta(hours=i), agent=f"agt_{i % 2}",
                    lead=f"lead_{i % 3}", meeting_id=f"mtg_{i:02d}") for i in range(6)]
    async with store() as uow:
        for row in rows:
            await uow.bookings.book(row, SETTINGS.step)
        await uow.bookings.book(booking(datetime(2026, 3, 9, 9, tzinfo=UTC), tenant="t2"), SETTINGS.step)
        await uow.bookings.cancel("t1", rows[0].id, T0)

    newest = [r.id for r in reversed(rows)]
    async with store.reading() as repos:
        assert [r.id for r in await repos.bookings.search("t1", 10, None)] == newest
        assert [r.id for r in await repos.bookings.search("t1", 2, newest[1])] == newest[2:4]
        assert [r.id for r in await repos.bookings.search("t1", 10, None, agent_id="agt_0")] == newest[1::2]
        assert [r.id for r in await repos.bookings.search("t1", 10, None, lead_id="lead_1")] == [rows[4].id, rows[1].id]
        assert [r.id for r in await repos.bookings.search("t1", 10, None, status="cancelled")] == [rows[0].id]
        assert [r.id for r in await repos.bookings.search("t1", 10, None, agent_id="agt_0", status="booked")] == \
            [rows[4].id, rows[2].id]


async def test_a_failed_requests_answer_is_kept_once_per_tenant(store: Store) -> None:
    answer = {"reason": "slot_taken", "alternatives": [{"start": "2026-03-09T10:30:00Z"}]}
    async with store() as uow:
        await uow.failures.add("t1", "req_1", answer, T0)
    with pytest.raises((IntegrityError, ValueError)):  # the database's key, or the memory store's check
        async with store() as uow:
            await uow.failures.add("t1", "req_1", {"reason": "too_soon"}, T0)

    async with store.reading() as repos:
        assert await repos.failures.get("t1", "req_1") == answer
        assert await repos.failures.get("t2", "req_1") is None


async def test_release_answers_only_the_call_that_cancelled(store: Store) -> None:
    row = booking(datetime(2026, 3, 9, 10, tzinfo=UTC))
    async with store() as uow:
        await uow.bookings.book(row, SETTINGS.step)
    async with store() as uow:
        assert await uow.bookings.release("t2", row.id, T0, by="tenant") is None  # another tenant's: unknown
        released = await uow.bookings.release("t1", row.id, T0, by="tenant")
        assert await uow.bookings.release("t1", row.id, T0, by="lead") is None
    assert released is not None and (released.status, released.cancelled_by) == ("cancelled", "tenant")
    async with store() as uow:  # its time is free again
        assert isinstance(await uow.bookings.book(booking(row.start), SETTINGS.step), BookingRow)
