"""A built-in calendar's settings and the times it speaks of.

A calendar is open by weekly rules (per weekday, local time ranges in its IANA zone) unless a date has an
exception (closed, or its own ranges). ``Interval`` and ``Slot`` are instants (aware datetimes, kept in UTC);
``TimeRange`` is a local wall-clock range, ``end`` ``00:00`` meaning midnight at the end of the day.
The settings are checked when built: the slot step divides an hour and both buffers are whole steps, so
every slot start, and the time a booking holds (``held``), lies on the step grid (see ``domain/slots.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from afo_common.time_zones import UnknownTimeZone, zone_named

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InvalidSettings(ValueError):
    """Calendar settings that cannot be used as given; the message says which and why."""


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time  # time(0) is the midnight that ends the day

    @property
    def minutes(self) -> tuple[int, int]:
        end = self.end.hour * 60 + self.end.minute or 24 * 60
        return self.start.hour * 60 + self.start.minute, end

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """``"09:00-12:00"``."""
        start, end = text.split("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalendarSettings:
    time_zone: str
    weekly: dict[str, tuple[TimeRange, ...]]  # "mon".."sun"; a missing day is closed
    exceptions: dict[date, tuple[TimeRange, ...]] = field(default_factory=dict)  # () closes the date
    meeting_minutes: int = 30
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 120
    horizon_days: int = 60
    slot_step_minutes: int = 15

    def __post_init__(self) -> None:
        try:
            zone_named(self.time_zone)
        except UnknownTimeZone as exc:
            raise InvalidSettings(str(exc)) from None
        step = self.slot_step_minutes
        if step <= 0 or 60 % step:
            raise InvalidSettings("the slot step must divide an hour (5, 10, 15, 20, 30 or 60 minutes)")
        if self.buffer_before_minutes % step or self.buffer_after_minutes % step:
            raise InvalidSettings("buffers must be whole slot steps")
        if min(self.buffer_before_minutes, self.buffer_after_minutes, self.minimum_notice_minutes) < 0:
            raise InvalidSettings("buffers and notice cannot be negative")
        if self.meeting_minutes <= 0 or self.horizon_days <= 0:
            raise InvalidSettings("the meeting length and the horizon must be positive")
        if unknown := set(self.weekly) - set(WEEKDAYS):
            raise InvalidSettings(f"unknown weekdays {sorted(unknown)}")
        for ranges in [*self.weekly.values(), *self.exceptions.values()]:
            spans = sorted(r.minutes for r in ranges)
            if any(start >= end for start, end in spans) or any(a[1] > b[0] for a, b in pairwise(spans)):
                raise InvalidSettings(f"ranges must be ordered and not overlap: {[str(r) for r in ranges]}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.slot_step_minutes)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.meeting_minutes)

    def ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(WEEKDAYS[day.weekday()], ())

    def held(self, start: datetime) -> Interval:
        """What a meeting starting at ``start`` keeps from other bookings: itself and its buffers."""
        return Interval((start - timedelta(minutes=self.buffer_before_minutes)).astimezone(UTC),
                        (start + self.length + timedelta(minutes=self.buffer_after_minutes)).astimezone(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "time_zone": self.time_zone,
            "weekly": {day: [str(r) for r in ranges] for day, ranges in self.weekly.items()},
            "exceptions": {d.isoformat(): [str(r) for r in ranges] for d, ranges in self.exceptions.items()},
            "meeting_minutes": self.meeting_minutes,
            "buffer_before_minutes": self.buffer_before_minutes,
            "buffer_after_minutes": self.buffer_after_minutes,
            "minimum_notice_minutes": self.minimum_notice_minutes,
            "horizon_days": self.horizon_days,
            "slot_step_minutes": self.slot_step_minutes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalendarSettings:
        def ranges(texts: list[str]) -> tuple[TimeRange, ...]:
            return tuple(TimeRange.parse(t) for t in texts)

        numbers = {k: int(v) for k, v in data.items() if k.endswith(("_minutes", "_days"))}
        return cls(time_zone=data["time_zone"],
                   weekly={day: ranges(texts) for day, texts in data.get("weekly", {}).items()},
                   exceptions={date.fromisoformat(d): ranges(t) for d, t in data.get("exceptions", {}).items()},
                   **numbers)


OFFICE_HOURS = (TimeRange(time(9), time(17)),)


def default_settings(time_zone: str) -> CalendarSettings:
    """The calendar an agent gets on its first booking request when none was put: Monday to Friday 09:00-17:00
    in the lead's zone (UTC when that zone is unknown), 30-minute meetings on a 15-minute grid, no buffers,
    two hours' notice, 60 days ahead."""
    try:
        zone_named(time_zone)
    except UnknownTimeZone:
        time_zone = "UTC"
    return CalendarSettings(time_zone=time_zone, weekly=dict.fromkeys(WEEKDAYS[:5], OFFICE_HOURS))


def parse_settings(data: dict[str, Any]) -> CalendarSettings:
    """Settings from their JSON form, or ``InvalidSettings`` saying what is wrong with it."""
    try:
        return CalendarSettings.from_json(data)
    except InvalidSettings:
        raise
    except KeyError as exc:
        raise InvalidSettings(f"missing {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidSettings(f"malformed settings: {exc}") from exc
