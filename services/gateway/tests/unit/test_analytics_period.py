"""The analytics period as the gateway reads ``from`` and ``to`` (``domain/analytics.py``): dates are whole UTC
days (``to`` included), datetimes are moments (an offset converted, none taken as UTC), 30 days by default,
at most 366."""

from datetime import UTC, date, datetime, timedelta

import pytest

from afo_gateway.domain.analytics import period
from afo_gateway.domain.errors import Invalid

TODAY = date(2026, 3, 9)


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
    assert period(start, end, TODAY) == expected


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
        period(start, end, TODAY)

    assert [e["loc"] for e in raised.value.errors] == [["query", loc]]


def test_the_default_is_thirty_days_ending_today() -> None:
    start, end = period(None, None, TODAY)

    assert end - start == timedelta(days=30) and (end - timedelta(microseconds=1)).date() == TODAY
