from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from afo_agent_runtime.domain.engine.scheduling import parse_meeting, parse_meeting_time

NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday afternoon.
NOW = datetime(2025, 11, 26, 15, 0, tzinfo=NEW_YORK)


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Tuesday at 3pm", ny(2025, 12, 2, 15)),
        ("tomorrow at 10", ny(2025, 11, 27, 10)),
        ("today 4:30 pm", ny(2025, 11, 26, 16, 30)),
        ("on Friday at noon", ny(2025, 11, 28, 12)),
        ("Dec 3 at 2pm", ny(2025, 12, 3, 14)),
        ("December 3rd, 2pm", ny(2025, 12, 3, 14)),
        ("3rd of December at 9:15am", ny(2025, 12, 3, 9, 15)),
        ("12/03 at 14:00", ny(2025, 12, 3, 14)),
        ("2025-12-24 10:00", ny(2025, 12, 24, 10)),
        ("3pm on Monday", ny(2025, 12, 1, 15)),
        ("Monday morning", ny(2025, 12, 1, 9)),
        ("Thursday afternoon", ny(2025, 11, 27, 14)),
        ("Friday evening", ny(2025, 11, 28, 18)),
        ("tonight at 8", ny(2025, 11, 26, 20)),
        ("tomorrow morning at 10", ny(2025, 11, 27, 10)),
        ("day after tomorrow at 11 a.m.", ny(2025, 11, 28, 11)),
        ("on tue at 4pm", ny(2025, 12, 2, 16)),
        ("Can we meet next Tuesday at 3pm?", ny(2025, 12, 2, 15)),
        ("next wed at 1", ny(2025, 12, 3, 13)),
        ("Jan 5 at 11am", ny(2026, 1, 5, 11)),
        ("3/14/2026 at 1pm", ny(2026, 3, 14, 13)),
        ("25/12 at 9am", ny(2025, 12, 25, 9)),
        ("at 4pm", ny(2025, 11, 26, 16)),
        ("at 2pm", ny(2025, 11, 27, 14)),
    ],
)
def test_meeting_times_in_common_forms(text: str, expected: datetime) -> None:
    start = parse_meeting_time(text, NOW, NEW_YORK)

    assert start == expected
    assert start is not None and start.tzinfo == NEW_YORK


@pytest.mark.parametrize(
    ("today", "text", "expected_day"),
    [
        # Monday: "next Tuesday" skips tomorrow, the Tuesday of this week.
        (date(2025, 11, 24), "next Tuesday", date(2025, 12, 2)),
        (date(2025, 11, 24), "Tuesday", date(2025, 11, 25)),
        (date(2025, 11, 24), "this Tuesday", date(2025, 11, 25)),
        # Wednesday: the coming Tuesday is already in next week, so "next" changes nothing.
        (date(2025, 11, 26), "next Tuesday", date(2025, 12, 2)),
        (date(2025, 11, 26), "Tuesday", date(2025, 12, 2)),
        (date(2025, 11, 26), "next Friday", date(2025, 12, 5)),
        (date(2025, 11, 26), "Friday", date(2025, 11, 28)),
        # The weekday named today means the one a week ahead.
        (date(2025, 11, 26), "this Wednesday", date(2025, 12, 3)),
        (date(2025, 11, 26), "next Wednesday", date(2025, 12, 3)),
        # Sunday: tomorrow is already next week's Monday.
        (date(2025, 11, 30), "next Monday", date(2025, 12, 1)),
        (date(2025, 11, 30), "Monday", date(2025, 12, 1)),
    ],
)
def test_this_and_next_weekday_rule(today: date, text: str, expected_day: date) -> None:
    now = datetime.combine(today, time(8), tzinfo=NEW_YORK)

    assert parse_meeting_time(f"{text} at 10am", now, NEW_YORK) == datetime.combine(
        expected_day, time(10), tzinfo=NEW_YORK
    )


def test_a_day_without_a_time_reports_the_day_and_no_start() -> None:
    wanted = parse_meeting("next Tuesday works", NOW, NEW_YORK)

    assert (wanted.day, wanted.clock, wanted.start, wanted.in_past) == (date(2025, 12, 2), None, None, False)


def test_the_day_already_agreed_is_used_for_a_time_given_alone() -> None:
    wanted = parse_meeting("3pm", NOW, NEW_YORK, default_day=date(2025, 12, 2))

    assert wanted.start == ny(2025, 12, 2, 15)


def test_a_time_that_has_passed_today_is_not_moved() -> None:
    wanted = parse_meeting("today 9am", NOW, NEW_YORK)

    assert wanted.start is None
    assert wanted.in_past
    assert (wanted.day, wanted.clock) == (date(2025, 11, 26), time(9))


def test_a_date_with_a_past_year_is_in_the_past() -> None:
    assert parse_meeting("2024-01-10 at 10am", NOW, NEW_YORK).in_past


def test_a_time_without_a_day_rolls_to_tomorrow_once_passed() -> None:
    assert parse_meeting_time("9am works", NOW, NEW_YORK) == ny(2025, 11, 27, 9)


@pytest.mark.parametrize(
    "text",
    ["", "sometime soon", "next week", "Feb 30 at 3pm", "at 25:00", "13pm tomorrow", "tomorrow at 10:75"],
)
def test_no_start_without_a_valid_day_and_time(text: str) -> None:
    assert parse_meeting_time(text, NOW, NEW_YORK) is None


def test_the_day_is_read_in_the_agent_zone_not_the_clock_zone() -> None:
    # 03:00 UTC on the 27th is still the evening of the 26th in New York.
    now = datetime(2025, 11, 27, 3, 0, tzinfo=UTC)

    assert parse_meeting_time("tomorrow at 10am", now, NEW_YORK) == ny(2025, 11, 27, 10)


def test_a_meeting_across_the_end_of_daylight_saving_keeps_its_wall_time() -> None:
    # Thursday 30 October 2025 (EDT, UTC-4); clocks go back on Sunday 2 November.
    now = datetime(2025, 10, 30, 10, 0, tzinfo=NEW_YORK)

    start = parse_meeting_time("next Tuesday at 3pm", now, NEW_YORK)

    assert start == ny(2025, 11, 4, 15)
    assert start is not None and start.utcoffset() == timedelta(hours=-5)
    assert start.astimezone(UTC) == datetime(2025, 11, 4, 20, 0, tzinfo=UTC)


def test_a_wall_time_inside_the_spring_forward_gap_moves_forward_an_hour() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=NEW_YORK)

    start = parse_meeting_time("Mar 8 at 2:30am", now, NEW_YORK)

    assert start is not None
    assert (start.hour, start.minute, start.utcoffset()) == (3, 30, timedelta(hours=-4))
    assert start.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_meeting_time("tomorrow at 10", datetime(2025, 11, 26, 15, 0), NEW_YORK)
