"""Calendars and bookings on memory, SQLite and PostgreSQL: one booking of any time however many requests race
for it, a cancelled time free again, a retried request answered with its first booking, tenants apart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from afo_common.ids import new_id
from afo_workflow_executor.domain.calendar import CalendarSettings, Interval, TimeRange
from afo_workflow_executor.domain.records import BookingRow, CalendarRow, Taken
from afo_workflow_executor.handlers.unit_of_work import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SETTINGS = CalendarSettings(time_zone="America/New_York", weekly={"mon": (TimeRange.parse("09:00-17:00"),)},
                            exceptions={T0.date(): ()}, buffer_before_minutes=15, buffer_after_minutes=15)
STEP = SETTINGS.step


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 9, hour, minute, tzinfo=UTC)


def request(start: datetime, request_id: str | None = None, tenant: str = "t1", calendar: str = "cal_1") -> BookingRow:
    held = SETTINGS.held(start)
    return BookingRow(new_id("mtg"), tenant, calendar, start, start + SETTINGS.length, held.start, held.end,
                      "booked", request_id or new_id("req"), "lead_1", "conv_1", T0, T0)


async def book(store: Store, row: BookingRow) -> BookingRow | Taken:
    async with store() as uow:
        return await uow.bookings.book(row, STEP)


async def test_a_calendar_keeps_its_settings_for_its_tenant(store: Store) -> None:
    row = CalendarRow(new_id("cal"), "t1", "agent", "agt_1", SETTINGS, T0, T0)
    async with store() as uow:
        await uow.calendars.add(row)
    async with store.reading() as repos:
        assert await repos.calendars.get("t1", row.id) == row
        assert await repos.calendars.get("t2", row.id) is None
        assert await repos.calendars.page("t1", 10, None) == [row]
        assert await repos.calendars.page("t2", 10, None) == []
    wider = CalendarSettings.from_json(SETTINGS.to_json() | {"meeting_minutes": 60})
    async with store() as uow:
        await uow.calendars.save(CalendarRow(row.id, "t2", "team", "x", SETTINGS, T0, T0))  # another tenant: no
        await uow.calendars.save(CalendarRow(row.id, "t1", "agent", "agt_1", wider, T0, T0 + STEP))
    async with store.reading() as repos:
        saved = await repos.calendars.get("t1", row.id)
    assert saved is not None and saved.settings.meeting_minutes == 60 and saved.updated_at == T0 + STEP


async def test_twenty_racing_requests_for_overlapping_times_book_once(store: Store, backend: str) -> None:
    starts = [at(15), at(15, 15), at(15, 30), at(14, 45)]  # every pair overlaps, buffers included
    rows = [request(starts[i % len(starts)]) for i in range(20)]
    gate = asyncio.Barrier(len(rows)) if backend == "postgres" else None

    async def attempt(row: BookingRow) -> BookingRow | Taken:
        async with store() as uow:
            if gate is not None:  # every transaction open on its own connection before any writes
                await gate.wait()
            return await uow.bookings.book(row, STEP)

    # The PostgreSQL pool holds 20 connections (afo_common.db): all 20 transactions are open at once. The
    # timeout turns a pool made smaller into a failure rather than a hang at the barrier.
    async with asyncio.timeout(60):
        results = await asyncio.gather(*(attempt(r) for r in rows))
    booked = [r for r in results if isinstance(r, BookingRow)]
    assert len(booked) == 1 and sum(isinstance(r, Taken) for r in results) == 19
    async with store.reading() as repos:
        assert await repos.bookings.busy("t1", "cal_1", at(0), at(23)) == [booked[0].held]
        assert len(await repos.bookings.page("t1", "cal_1", 50, None)) == 1


async def test_racing_retries_of_one_request_all_get_its_booking(store: Store) -> None:
    rows = [request(at(15) + i * STEP, request_id="req_same") for i in range(5)]
    results = await asyncio.gather(*(book(store, r) for r in rows))
    assert all(isinstance(r, BookingRow) for r in results)
    assert len({r.id for r in results if isinstance(r, BookingRow)}) == 1


async def test_adjacent_bookings_keep_both_buffers(store: Store) -> None:
    assert isinstance(await book(store, request(at(15))), BookingRow)  # holds 14:45-15:45
    assert await book(store, request(at(15, 45))) == Taken()  # would hold 15:30-16:30
    assert isinstance(await book(store, request(at(16))), BookingRow)  # holds 15:45-16:45
    assert isinstance(await book(store, request(at(15), calendar="cal_2")), BookingRow)  # another calendar


async def test_a_cancelled_time_can_be_booked_again(store: Store) -> None:
    first = await book(store, request(at(15)))
    assert isinstance(first, BookingRow)
    async with store() as uow:
        assert await uow.bookings.cancel("t2", first.id, T0) is None  # another tenant's: unknown
    assert await book(store, request(at(15, 15))) == Taken()
    async with store() as uow:
        cancelled = await uow.bookings.cancel("t1", first.id, T0 + STEP)
    assert cancelled is not None and cancelled.status == "cancelled" and cancelled.updated_at == T0 + STEP
    async with store.reading() as repos:
        assert await repos.bookings.busy("t1", "cal_1", at(0), at(23)) == []
    again = await book(store, request(at(15, 15)))
    assert isinstance(again, BookingRow)
    async with store() as uow:
        assert await uow.bookings.cancel("t1", first.id, T0 + 2 * STEP) == cancelled  # already: unchanged
    async with store.reading() as repos:
        assert await repos.bookings.busy("t1", "cal_1", at(0), at(23)) == [again.held]


async def test_a_retried_request_gets_its_first_booking(store: Store) -> None:
    first = await book(store, request(at(15), request_id="req_1"))
    assert isinstance(first, BookingRow)
    assert await book(store, request(at(10), request_id="req_1")) == first
    other_tenant = await book(store, request(at(10), request_id="req_1", tenant="t2", calendar="cal_9"))
    assert isinstance(other_tenant, BookingRow) and other_tenant.id != first.id


async def test_reads_stay_inside_the_tenant(store: Store) -> None:
    mine = await book(store, request(at(15)))
    assert isinstance(mine, BookingRow)
    async with store.reading() as repos:
        assert await repos.bookings.get("t1", mine.id) == mine
        assert await repos.bookings.get("t2", mine.id) is None
        assert await repos.bookings.busy("t2", "cal_1", at(0), at(23)) == []
        assert await repos.bookings.page("t2", "cal_1", 10, None) == []


async def test_busy_and_page_windows(store: Store) -> None:
    rows = [await book(store, request(at(h))) for h in (10, 12, 14)]
    ids = sorted(r.id for r in rows if isinstance(r, BookingRow))
    async with store.reading() as repos:
        assert await repos.bookings.busy("t1", "cal_1", at(11), at(13)) == [Interval(at(11, 45), at(12, 45))]
        assert await repos.bookings.busy("t1", "cal_1", at(10, 45), at(11, 45)) == []  # held ends are open
        assert [b.id for b in await repos.bookings.page("t1", "cal_1", 2, None)] == ids[::-1][:2]
        assert [b.id for b in await repos.bookings.page("t1", "cal_1", 5, ids[1])] == [ids[0]]
