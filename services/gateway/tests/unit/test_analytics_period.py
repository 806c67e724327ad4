"""The analytics period as the gateway reads ``from`` and ``to`` (``domain/analytics.py``): dates are whole days
of the time zone (``to`` included), datetimes are moments (an offset converted, none taken in the zone), 30 days
by default, at most 366."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from afo_gateway.domain.analytics import period
from afo_gateway.domain.errors import Invalid

NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-03-02", "2026-03-08", (utc(2026, 3, 2), utc(2026, 3, 9))),
    ("2026-03-02", "2026-03-02", (utc(2026, 3, 2), utc(2026, 3, 3))),
    ("2026-03-02T09:30:00+02:00", "2026-03-02T18:00:00Z", (utc(2026, 3, 2, 7, 30), utc(2026, 3, 2, 18))),
    ("2026-03-02T09:30:00", None, (utc(2026, 3, 2, 9, 30), utc(2026, 3, 10))),
    (None, "2026-03-08", (utc(2026, 2, 7), utc(2026, 3, 9))),
    (None, None, (utc(2026, 2, 8), utc(2026, 3, 10))),
    ("2025-03-09", "2026-03-09", (utc(2025, 3, 9), utc(2026, 3, 10))),  # 366 days, the most
])
def test_a_period_is_read_as_utc_with_to_included_when_a_day(start: str | None, end: str | None,
                                                              expected: tuple[datetime, datetime]) -> None:
    assert period(start, end, NOW) == expected


@pytest.mark.parametrize(("start", "end", "loc"), [
    ("2026-03-09", "2026-03-08", "from"),
    ("2026-03-02T10:00:00Z", "2026-03-02T10:00:00Z", "from"),
    ("2025-03-08", "2026-03-09", "to"),
    ("last week", None, "from"),
    (None, "2026-13-01", "to"),
])
def test_an_unreadable_backwards_or_too_long_period_names_its_parameter(start: str | None, end: str | None,
                                                                        loc: str) -> None:
    with pytest.raises(Invalid) as raised:
        period(start, end, NOW)

    assert [e["loc"] for e in raised.value.errors] == [["query", loc]]


def test_the_default_is_thirty_days_ending_today() -> None:
    start, end = period(None, None, NOW)

    assert end - start == timedelta(days=30) and (end - timedelta(microseconds=1)).date() == NOW.date()


def test_days_and_the_default_are_the_time_zones() -> None:
    paris, la = ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles")

    assert period("2026-03-02", "2026-03-02", NOW, paris) == (utc(2026, 3, 1, 23), utc(2026, 3, 2, 23))
    assert period("2026-03-02T09:30:00", "2026-03-03", NOW, paris)[0] == utc(2026, 3, 2, 8, 30)
    # 12:00 UTC on the 9th is 05:00 in Los Angeles: today there is the 9th; summer time began on the 8th.
    start, end = period(None, None, NOW, la)
    assert (start, end) == (utc(2026, 2, 8, 8), utc(2026, 3, 10, 7))
