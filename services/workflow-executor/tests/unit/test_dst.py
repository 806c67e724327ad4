"""Availability across clock changes, in New York and Berlin (2026): ranges stay wall-clock times, a local
time in the spring-forward gap moves forward by the gap, one in the repeated hour is its first occurrence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from afo_workflow_executor.domain.calendar import CalendarSettings, TimeRange
from afo_workflow_executor.domain.slots import check_request, free_slots, local_range

NEW_YORK_SPRING, NEW_YORK_FALL = date(2026, 3, 8), date(2026, 11, 1)  # Sundays, clocks change at 02:00
BERLIN_SPRING, BERLIN_FALL = date(2026, 3, 29), date(2026, 10, 25)  # Sundays: 02:00 -> 03:00, 03:00 -> 02:00


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def open_on(zone: str, day: date, *ranges: str) -> CalendarSettings:
    return CalendarSettings(time_zone=zone, weekly={"sat": (TimeRange.parse("09:00-17:00"),)},
                            exceptions={day: tuple(TimeRange.parse(r) for r in ranges)},
                            minimum_notice_minutes=0, horizon_days=60)


def day_slots(calendar: CalendarSettings, day: date) -> list[datetime]:
    now = utc(day - timedelta(days=2), 0)
    return [s.start for s in free_slots(calendar, [], now, utc(day, 0) - timedelta(hours=12), 500)
            if s.start.astimezone(calendar.zone).date() == day]


def test_new_york_spring_forward_keeps_nine_to_five_local() -> None:
    calendar = open_on("America/New_York", NEW_YORK_SPRING, "09:00-17:00")
    saturday = day_slots(calendar, NEW_YORK_SPRING - timedelta(days=1))
    sunday = day_slots(calendar, NEW_YORK_SPRING)
    assert saturday[0] == utc(NEW_YORK_SPRING - timedelta(days=1), 14)  # 09:00 EST
    assert (sunday[0], sunday[-1]) == (utc(NEW_YORK_SPRING, 13), utc(NEW_YORK_SPRING, 20, 30))  # EDT
    assert len(saturday) == len(sunday) == 31


def test_new_york_gap_moves_forward_by_the_gap() -> None:
    calendar = open_on("America/New_York", NEW_YORK_SPRING, "02:30-04:00")
    # 02:30 does not exist: it is 03:30 EDT (07:30 UTC); 04:00 EDT is 08:00 UTC.
    assert local_range(calendar, NEW_YORK_SPRING, TimeRange.parse("02:30-04:00")).start == utc(NEW_YORK_SPRING, 7, 30)
    assert day_slots(calendar, NEW_YORK_SPRING) == [utc(NEW_YORK_SPRING, 7, 30)]


def test_new_york_fall_back_keeps_nine_to_five_local_and_reads_the_repeated_hour_once() -> None:
    calendar = open_on("America/New_York", NEW_YORK_FALL, "09:00-17:00")
    sunday = day_slots(calendar, NEW_YORK_FALL)
    assert (sunday[0], sunday[-1], len(sunday)) == (utc(NEW_YORK_FALL, 14), utc(NEW_YORK_FALL, 21, 30), 31)
    repeated = open_on("America/New_York", NEW_YORK_FALL, "01:00-02:00")
    # 01:00 is its first occurrence (05:00 UTC, EDT); 02:00 exists once (07:00 UTC, EST): two real hours.
    assert day_slots(repeated, NEW_YORK_FALL) == [utc(NEW_YORK_FALL, 5) + timedelta(minutes=15 * i) for i in range(7)]
    ending = open_on("America/New_York", NEW_YORK_FALL, "00:00-01:30")
    assert day_slots(ending, NEW_YORK_FALL)[-1] == utc(NEW_YORK_FALL, 5)  # ends at the first 01:30 (05:30 UTC)


def test_berlin_spring_forward() -> None:
    calendar = open_on("Europe/Berlin", BERLIN_SPRING, "09:00-17:00")
    sunday = day_slots(calendar, BERLIN_SPRING)
    assert (sunday[0], sunday[-1], len(sunday)) == (utc(BERLIN_SPRING, 7), utc(BERLIN_SPRING, 14, 30), 31)
    assert day_slots(calendar, BERLIN_SPRING - timedelta(days=1))[0] == utc(BERLIN_SPRING - timedelta(days=1), 8)
    gap = open_on("Europe/Berlin", BERLIN_SPRING, "02:30-04:00")  # 02:30 -> 03:30 CEST = 01:30 UTC
    assert day_slots(gap, BERLIN_SPRING) == [utc(BERLIN_SPRING, 1, 30)]


def test_berlin_fall_back() -> None:
    calendar = open_on("Europe/Berlin", BERLIN_FALL, "09:00-17:00")
    sunday = day_slots(calendar, BERLIN_FALL)
    assert (sunday[0], sunday[-1], len(sunday)) == (utc(BERLIN_FALL, 8), utc(BERLIN_FALL, 15, 30), 31)
    repeated = open_on("Europe/Berlin", BERLIN_FALL, "02:00-03:00")  # first 02:00 (00:00 UTC) to 03:00 CET
    assert day_slots(repeated, BERLIN_FALL)[0] == utc(BERLIN_FALL, 0)
    assert len(day_slots(repeated, BERLIN_FALL)) == 7
    now = utc(BERLIN_FALL, 0) - timedelta(days=1)
    assert check_request(repeated, [], now, utc(BERLIN_FALL, 1, 30)).__class__.__name__ == "Accepted"


def test_ranges_meeting_across_the_gap_are_joined_once() -> None:
    calendar = open_on("America/New_York", NEW_YORK_SPRING, "01:00-02:30", "03:00-04:00")
    # 01:00 EST is 06:00 UTC; 02:30 is 03:30 EDT (07:30 UTC), past 03:00 EDT (07:00 UTC): one opening to 08:00.
    slots = day_slots(calendar, NEW_YORK_SPRING)
    assert slots == [utc(NEW_YORK_SPRING, 6) + timedelta(minutes=15 * i) for i in range(7)]
