"""Free slots, request checks and alternatives in a calendar without clock changes (UTC), so every instant
below reads as the wall clock: Mon-Fri 09:00-12:00 and 13:00-17:00, 30-minute meetings on a 15-minute step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from afo_workflow_executor.domain.calendar import CalendarSettings, Interval, InvalidSettings, Slot, TimeRange
from afo_workflow_executor.domain.slots import Accepted, Refused, cells, check_request, free_slots, nearest_alternatives

WORKDAY = (TimeRange.parse("09:00-12:00"), TimeRange.parse("13:00-17:00"))
WEEK = {day: WORKDAY for day in ("mon", "tue", "wed", "thu", "fri")}
MONDAY = date(2026, 3, 2)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` counted from Monday 2 March 2026."""
    return datetime(2026, 3, 2 + day, hour, minute, tzinfo=UTC)


def settings(**overrides: object) -> CalendarSettings:
    values: dict[str, object] = {"time_zone": "UTC", "weekly": WEEK, "minimum_notice_minutes": 0,
                                 "horizon_days": 30}
    return CalendarSettings(**(values | overrides))  # type: ignore[arg-type]


NOW = at(0, 7)


def starts(slots: Sequence[Slot]) -> list[datetime]:
    return [s.start for s in slots]


def test_slots_follow_the_weekly_ranges_on_the_step() -> None:
    slots = free_slots(settings(), [], NOW, NOW, 14)
    assert starts(slots)[:3] == [at(0, 9), at(0, 9, 15), at(0, 9, 30)]
    assert starts(slots)[10:14] == [at(0, 11, 30), at(0, 13), at(0, 13, 15), at(0, 13, 30)]  # ends by 12:00
    assert slots[0].end == at(0, 9, 30)


def test_a_slot_must_end_inside_its_range() -> None:
    day = free_slots(settings(meeting_minutes=45), [], NOW, NOW, 100)
    assert at(0, 11, 15) in starts(day) and at(0, 11, 30) not in starts(day)


def test_buffers_keep_both_bookings_apart() -> None:
    calendar = settings(buffer_before_minutes=15, buffer_after_minutes=15)
    held = calendar.held(at(0, 10))  # a booking 10:00-10:30 holds 09:45-10:45
    assert held == Interval(at(0, 9, 45), at(0, 10, 45))
    free = starts(free_slots(calendar, [held], NOW, NOW, 8))
    assert at(0, 9) in free and at(0, 9, 15) not in free  # 09:15 would hold until 10:00
    assert at(0, 10, 45) not in free and at(0, 11) in free


def test_external_busy_time_is_kept_free_with_the_buffers() -> None:
    calendar = settings(buffer_after_minutes=15)
    free = starts(free_slots(calendar, [Interval(at(0, 9, 45), at(0, 10))], NOW, NOW, 3))
    assert free == [at(0, 9), at(0, 10), at(0, 10, 15)]  # 09:15-09:45 would hold until 10:00: busy from 09:45


def test_minimum_notice_moves_the_first_slot_to_the_next_step() -> None:
    calendar = settings(minimum_notice_minutes=120)
    assert starts(free_slots(calendar, [], at(0, 8), at(0, 0), 1)) == [at(0, 10)]
    assert starts(free_slots(calendar, [], at(0, 8, 5), at(0, 0), 1)) == [at(0, 10, 15)]
    assert check_request(calendar, [], at(0, 8, 5), at(0, 10)) == Refused("too_soon")


def test_the_horizon_ends_the_offer() -> None:
    calendar = settings(horizon_days=2)
    slots = free_slots(calendar, [], NOW, NOW, 1000)
    assert max(starts(slots)) == at(1, 16, 30) and len(slots) == 2 * (11 + 15)
    assert check_request(calendar, [], NOW, at(2, 7, 15)) == Refused("too_far")


def test_exceptions_close_a_date_or_replace_its_hours() -> None:
    calendar = settings(exceptions={MONDAY: (), MONDAY + timedelta(days=1): (TimeRange.parse("15:00-16:00"),)})
    assert starts(free_slots(calendar, [], NOW, NOW, 4)) == [at(1, 15), at(1, 15, 15), at(1, 15, 30), at(2, 9)]
    saturday = settings(exceptions={MONDAY + timedelta(days=5): (TimeRange.parse("10:00-10:30"),)})
    assert starts(free_slots(saturday, [], at(4, 18), at(4, 18), 2)) == [at(5, 10), at(7, 9)]


def test_a_full_day_moves_the_offer_to_the_next_open_day() -> None:
    friday = Interval(at(4, 0), at(5, 0))
    assert starts(free_slots(settings(), [friday], at(4, 6), at(4, 6), 1)) == [at(7, 9)]  # Monday 9 March


def test_check_request_gives_the_first_failing_rule() -> None:
    calendar = settings(minimum_notice_minutes=60)
    busy = [Interval(at(0, 10), at(0, 10, 30))]
    assert check_request(calendar, busy, NOW, at(0, 11)) == Accepted(free_slots(calendar, [], NOW, at(0, 11), 1)[0])
    assert check_request(calendar, busy, NOW, at(0, 11, 5)) == Refused("not_on_step")
    assert check_request(calendar, busy, NOW, at(0, 7, 30)) == Refused("too_soon")
    assert check_request(calendar, busy, NOW, at(0, 12)) == Refused("outside_hours")
    assert check_request(calendar, busy, NOW, at(0, 11, 45)) == Refused("outside_hours")  # would end 12:15
    assert check_request(calendar, busy, NOW, at(5, 10)) == Refused("outside_hours")  # Saturday
    assert check_request(calendar, busy, NOW, at(0, 9, 45)) == Refused("taken")
    assert check_request(calendar, busy, NOW, at(0, 10, 30)) == Accepted(free_slots(calendar, busy, NOW,
                                                                                    at(0, 10, 30), 1)[0])


def test_alternatives_are_the_nearest_earlier_on_a_tie_in_the_order_of_the_day() -> None:
    busy = [Interval(at(0, 10), at(0, 10, 30))]
    found = nearest_alternatives(settings(), busy, NOW, at(0, 10))
    # 9:30 and 10:30 are 30 minutes away, 9:15 and 10:45 both 45: the earlier one is kept.
    assert starts(found) == [at(0, 9, 15), at(0, 9, 30), at(0, 10, 30)]


def test_alternatives_are_never_under_the_notice_nor_the_requested_start() -> None:
    calendar = settings(minimum_notice_minutes=90)
    busy = [Interval(at(0, 10), at(0, 10, 30))]
    found = nearest_alternatives(calendar, busy, at(0, 8), at(0, 10), count=4)
    assert starts(found) == [at(0, 9, 30), at(0, 10, 30), at(0, 10, 45), at(0, 11)]
    late = nearest_alternatives(calendar, [], at(0, 8), at(0, 11, 45), count=2)  # refused: outside hours
    assert starts(late) == [at(0, 11, 15), at(0, 11, 30)]


def test_alternatives_after_the_horizon_look_back() -> None:
    calendar = settings(horizon_days=1)
    assert starts(nearest_alternatives(calendar, [], NOW, at(3, 10), count=2)) == [at(0, 16, 15), at(0, 16, 30)]


def test_cells_cover_what_a_booking_holds() -> None:
    step = timedelta(minutes=15)
    assert cells(Interval(at(0, 9, 45), at(0, 10, 25)), step) == [at(0, 9, 45), at(0, 10), at(0, 10, 15)]


def test_settings_are_checked_and_survive_json() -> None:
    calendar = settings(exceptions={MONDAY: ()}, buffer_before_minutes=15)
    assert CalendarSettings.from_json(calendar.to_json()) == calendar
    with pytest.raises(InvalidSettings):
        settings(time_zone="Mars/Olympus")
    with pytest.raises(InvalidSettings):
        settings(slot_step_minutes=25)
    with pytest.raises(InvalidSettings):
        settings(buffer_after_minutes=10)
    with pytest.raises(InvalidSettings):
        settings(weekly={"mon": (TimeRange.parse("09:00-12:00"), TimeRange.parse("11:00-13:00"))})


def test_touching_ranges_are_one_opening_and_midnight_ends_a_day() -> None:
    calendar = settings(weekly={"mon": (TimeRange.parse("09:00-12:00"), TimeRange.parse("12:00-13:00")),
                                "tue": (TimeRange.parse("23:00-00:00"),)})
    assert check_request(calendar, [], NOW, at(0, 11, 45)) == Accepted(free_slots(calendar, [], NOW, at(0, 11, 45),
                                                                                   1)[0])
    late = free_slots(calendar, [], at(1, 20), at(1, 20), 5)
    assert starts(late) == [at(1, 23), at(1, 23, 15), at(1, 23, 30), at(7, 9), at(7, 9, 15)]
