"""The one time-zone rule: UTC and IANA Area/Location names; not the host's ``localtime``, not legacy
abbreviations, not posix/right copies, not what zoneinfo cannot load. And a period cut where a zone's offset
changes, to the second."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from afo_common.time_zones import UnknownTimeZone, offset_spans, zone_named


@pytest.mark.parametrize("name", ["UTC", "America/New_York", "Europe/Paris", "Etc/GMT+5", "US/Eastern"])
def test_iana_names_and_utc_are_zones(name: str) -> None:
    assert zone_named(name).key == name


@pytest.mark.parametrize("name", ["localtime", "EST", "MST", "EST5EDT", "GMT", "posix/Europe/Paris",
                                  "right/UTC", "Mars/Olympus", "America", "", "../etc/passwd", "Europe/" + "x" * 300])
def test_host_dependent_legacy_and_unknown_names_are_refused_with_a_hint(name: str) -> None:
    with pytest.raises(UnknownTimeZone, match="America/New_York"):
        zone_named(name)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.mark.parametrize(("zone", "start", "end", "expected"), [
    ("UTC", at(1, 1), at(12, 31), [(at(1, 1), at(12, 31), hours(0))]),
    ("Asia/Tokyo", at(1, 1), at(12, 31), [(at(1, 1), at(12, 31), hours(9))]),
    ("Europe/Paris", at(1, 1), at(12, 31), [(at(1, 1), at(3, 29, 1), hours(1)), (at(3, 29, 1), at(10, 25, 1), hours(2)),
                                            (at(10, 25, 1), at(12, 31), hours(1))]),
    # A half-hour change, and a period that starts on the change's very second.
    ("Australia/Lord_Howe", at(10, 3, 15, 30), at(10, 5), [(at(10, 3, 15, 30), at(10, 5), hours(11))]),
    ("Australia/Lord_Howe", at(10, 3), at(10, 5), [(at(10, 3), at(10, 3, 15, 30), hours(10.5)),
                                                   (at(10, 3, 15, 30), at(10, 5), hours(11))]),
    # The period ends on the change: nothing of the new offset is in it.
    ("America/Los_Angeles", at(3, 7), at(3, 8, 10), [(at(3, 7), at(3, 8, 10), hours(-8))]),
])
def test_a_period_is_cut_where_the_zones_offset_changes(zone: str, start: datetime, end: datetime,
                                                          expected: list[tuple[datetime, datetime, timedelta]]) -> None:
    assert offset_spans(start, end, ZoneInfo(zone)) == expected
