"""Which meeting starts a calendar offers, and whether a requested one can be booked.

Rules:
- Time is passed in (``now``); every instant given must be aware, and every instant returned is in UTC.
- Availability is read in the calendar's zone, date by date: a date's exception ranges replace its weekday's,
  and an exception with no ranges closes the date. A range is wall-clock time, so ``09:00-17:00`` is
  09:00 to 17:00 local on the days clocks change too (eight hours of wall clock; seven or nine real hours
  only when the change falls inside the range).
- A local time that does not exist (the spring-forward gap) moves forward by the gap, as clocks do:
  02:30 on a New York spring-forward day is 03:30 EDT. A local time that occurs twice (fall back) is its
  first occurrence (the earlier instant, still summer time).
- Ranges of a date that touch (``09:00-12:00`` and ``12:00-13:00``) are one opening: a slot may span them.
  A slot lies inside one opening.
- Slot starts lie on the step grid: instants whose minutes since the Unix epoch are a multiple of the step
  (the step divides an hour, so in every zone with a whole-hour offset the grid is the local quarter hours,
  for a 15-minute step). Inside a range the first start is the first grid instant at or after the range's
  start; a slot must end by the range's end.
- A slot holds itself plus its buffers (``CalendarSettings.held``); it is free when what it holds overlaps
  no busy interval. Busy intervals of the calendar's own bookings are what they hold (buffers included), so
  two bookings keep both buffers between them; an external busy interval is the event itself.
- Minimum notice: a slot starts no earlier than ``now + notice``. Horizon: no later than ``now + days``.
- A request is checked in this order, the first failure being the reason: not_on_step, too_soon, too_far,
  outside_hours, taken.
- Alternatives to a request are free slots before and after it (never the requested start itself, never
  under the notice or past the horizon): the nearest (the earlier at equal distance), in the order of the day.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Literal

from afo_workflow_executor.domain.calendar import CalendarSettings, Interval, Slot, TimeRange

RefusalReason = Literal["outside_hours", "too_soon", "too_far", "taken", "not_on_step"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Accepted:
    slot: Slot


@dataclass(frozen=True)
class Refused:
    reason: RefusalReason


def on_grid(instant: datetime, step: timedelta) -> bool:
    return (instant - _EPOCH) % step == timedelta(0)


def grid_floor(instant: datetime, step: timedelta) -> datetime:
    return instant.astimezone(UTC) - (instant - _EPOCH) % step


def grid_ceil(instant: datetime, step: timedelta) -> datetime:
    floor = grid_floor(instant, step)
    return floor if floor == instant else floor + step


def cells(held: Interval, step: timedelta) -> list[datetime]:
    """The grid cells (their starts) an interval touches: what a booking occupies in the store."""
    cell, end, out = grid_floor(held.start, step), held.end, []
    while cell < end:
        out.append(cell)
        cell += step
    return out


def local_range(settings: CalendarSettings, day: date, span: TimeRange) -> Interval:
    """The instants of a local range on ``day``, by the gap and repeat rules above (zoneinfo's fold=0)."""
    zone = settings.zone
    start_minute, end_minute = span.minutes

    def instant(minute: int) -> datetime:
        wall = datetime.combine(day, time(0)) + timedelta(minutes=minute)
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)

    return Interval(instant(start_minute), instant(end_minute))


def openings(settings: CalendarSettings, day: date) -> list[Interval]:
    """The date's ranges as instants, in order, touching (or, across a gap, overlapping) ones joined."""
    joined: list[Interval] = []
    for opening in sorted((local_range(settings, day, span) for span in settings.ranges_on(day)),
                          key=lambda i: i.start):
        if joined and opening.start <= joined[-1].end:
            joined[-1] = Interval(joined[-1].start, max(joined[-1].end, opening.end))
        else:
            joined.append(opening)
    return joined


def _window(settings: CalendarSettings, now: datetime) -> tuple[datetime, datetime]:
    earliest = now + timedelta(minutes=settings.minimum_notice_minutes)
    return earliest.astimezone(UTC), (now + timedelta(days=settings.horizon_days)).astimezone(UTC)


def _free(settings: CalendarSettings, busy: Sequence[Interval], lo: datetime, hi: datetime) -> Iterator[Slot]:
    """Free slots starting in [lo, hi], in order."""
    step, length, zone = settings.step, settings.length, settings.zone
    day, last = lo.astimezone(zone).date() - timedelta(days=1), hi.astimezone(zone).date()
    while day <= last:
        for opening in openings(settings, day):
            start = grid_ceil(max(opening.start, lo), step)
            while start + length <= opening.end and start <= hi:
                held = settings.held(start)
                if not any(held.overlaps(b) for b in busy):
                    yield Slot(start, start + length)
                start += step
        day += timedelta(days=1)


def free_slots(settings: CalendarSettings, busy: Sequence[Interval], now: datetime, start_from: datetime,
               count: int) -> list[Slot]:
    """The next ``count`` free slots starting at or after ``start_from``."""
    earliest, latest = _window(settings, now)
    return list(islice(_free(settings, busy, max(start_from.astimezone(UTC), earliest), latest), count))


def _within_hours(settings: CalendarSettings, start: datetime) -> bool:
    day = start.astimezone(settings.zone).date()
    return any(opening.start <= start and start + settings.length <= opening.end
               for d in (day - timedelta(days=1), day) for opening in openings(settings, d))


def check_request(settings: CalendarSettings, busy: Sequence[Interval], now: datetime,
                  start: datetime) -> Accepted | Refused:
    start = start.astimezone(UTC)
    earliest, latest = _window(settings, now)
    if not on_grid(start, settings.step):
        return Refused("not_on_step")
    if start < earliest:
        return Refused("too_soon")
    if start > latest:
        return Refused("too_far")
    if not _within_hours(settings, start):
        return Refused("outside_hours")
    held = settings.held(start)
    if any(held.overlaps(b) for b in busy):
        return Refused("taken")
    return Accepted(Slot(start, start + settings.length))


def nearest_alternatives(settings: CalendarSettings, busy: Sequence[Interval], now: datetime, start: datetime,
                         count: int = 3) -> list[Slot]:
    start = start.astimezone(UTC)
    earliest, latest = _window(settings, now)
    after = [s for s in islice(_free(settings, busy, max(start, earliest), latest), count + 1) if s.start != start]
    before = [s for s in _free(settings, busy, earliest, min(start, latest)) if s.start < start][-count:]
    nearest = sorted([*before, *after[:count]], key=lambda s: (abs(s.start - start), s.start))[:count]
    # Offered in the order of the day: a lead reads "9:15, 9:30 or 10:30", not "9:30, 10:30 or 9:15".
    return sorted(nearest, key=lambda s: s.start)
