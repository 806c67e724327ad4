"""Meeting times in a lead's words, read in the agent's time zone.

Rules, chosen to match what people usually mean:
- "Tuesday", "on Tuesday", "this Tuesday": the first Tuesday strictly after today.
- "next Tuesday": the Tuesday of next calendar week (Monday to Sunday). Put another way, the first Tuesday
  strictly after today, plus 7 days if that one is still in the current week. Said on a Monday it is
  8 days out; said on a Wednesday, 6.
- "Dec 3" and "12/03" (month/day; day/month only when the first number exceeds 12): that date this year,
  or next year once it has passed. A date with an explicit year is taken as written.
- "at 3" without am/pm: 1-7 are afternoon hours, 8-12 morning to noon, 13-23 as written.
- Parts of the day: morning 09:00, lunch/noon 12:00, afternoon 14:00, evening/tonight 18:00.
- A time with no day is the next such time: today if still ahead, else tomorrow, unless the caller passes
  the day already agreed (`default_day`).
- A day with no time is reported with `clock=None`, so the caller can ask what time works.
- A day and time that have already passed (e.g. "today 9am" at 3pm) are not moved: `start` is None and
  `in_past` is True, so the caller can ask again.
- A wall time that does not exist (in the spring-forward gap) moves forward by the gap, as clocks do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from afo_agent_runtime.domain.engine.text import clean

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ABBREVIATED_WEEKDAYS = r"mon|tues?|wed|thu(?:rs?)?|fri|sat|sun"
_MONTH_NAMES = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
_MONTH_NAMES += r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
_MONTH_PREFIXES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ORDINAL = r"(?:st|nd|rd|th)?"

_ISO_DATE = re.compile(r"\b(?P<y>20\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_NUMERIC_DATE = re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?\b")
_MONTH_DAY = re.compile(rf"\b(?P<month>{_MONTH_NAMES})\.? (?P<d>\d{{1,2}}){_ORDINAL}(?:,? (?P<y>20\d{{2}}))?\b")
_DAY_MONTH = re.compile(rf"\b(?P<d>\d{{1,2}}){_ORDINAL}(?: of)? (?P<month>{_MONTH_NAMES})\b(?:,? (?P<y>20\d{{2}}))?")
_RELATIVE_DAY = re.compile(r"\b(?:the )?(?P<rel>day after tomorrow|tomorrow|tmrw|today|tonight)\b")
_WEEKDAY = re.compile(
    rf"\b(?:(?P<q>this|next|coming|on)\s+)?(?P<wd>{'|'.join(_WEEKDAYS)})\b|"
    rf"\b(?P<q2>this|next|coming|on)\s+(?P<abbr>{_ABBREVIATED_WEEKDAYS})\b\.?"
)

_CLOCK_MERIDIEM = re.compile(r"\b(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)")
_CLOCK_24H = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b")
_CLOCK_BARE_HOUR = re.compile(r"\b(?:at|around|by) (?P<h>\d{1,2})\b(?![:.]?\d)")
_CLOCK_WORDS = {"noon": time(12), "midday": time(12), "midnight": time(0)}
_PARTS_OF_DAY = {"morning": time(9), "lunch": time(12), "lunchtime": time(12), "afternoon": time(14)}
_PARTS_OF_DAY |= {"evening": time(18), "tonight": time(18)}
_EVENING = re.compile(r"\b(?:tonight|evening|afternoon|pm)\b")
_CLOCK_WORD = re.compile(rf"\b(?P<word>{'|'.join([*_CLOCK_WORDS, *_PARTS_OF_DAY])})\b")


@dataclass(frozen=True)
class MeetingTime:
    day: date | None
    clock: time | None
    start: datetime | None  # aware, in the agent's zone; set only for a known day and time still ahead

    @property
    def in_past(self) -> bool:
        return self.start is None and self.day is not None and self.clock is not None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _calendar_date(year: str | None, month: int, day: int, today: date) -> date | None:
    if year:
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        return _safe_date(full_year, month, day)
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year < today:
        return _safe_date(today.year + 1, month, day)
    return this_year


def _weekday_date(today: date, weekday: int, qualifier: str | None) -> date:
    if qualifier == "next":
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _find_day(text: str, today: date) -> tuple[date | None, re.Match[str] | None]:
    if match := _ISO_DATE.search(text):
        return _safe_date(int(match["y"]), int(match["m"]), int(match["d"])), match
    if match := _NUMERIC_DATE.search(text):
        first, second = int(match["a"]), int(match["b"])
        month, day = (second, first) if first > 12 else (first, second)
        return _calendar_date(match["y"], month, day, today), match
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        if match := pattern.search(text):
            month = _MONTH_PREFIXES.index(match["month"][:3]) + 1
            return _calendar_date(match["y"], month, int(match["d"]), today), match
    if match := _RELATIVE_DAY.search(text):
        offset = {"day after tomorrow": 2, "tomorrow": 1, "tmrw": 1}.get(match["rel"], 0)
        return today + timedelta(days=offset), match
    if match := _WEEKDAY.search(text):
        name = match["wd"] or match["abbr"]
        weekday = next(i for i, full in enumerate(_WEEKDAYS) if full.startswith(name[:3]))
        return _weekday_date(today, weekday, match["q"] or match["q2"]), match
    return None, None


def _find_clock(text: str, *, evening: bool) -> time | None:
    if match := _CLOCK_MERIDIEM.search(text):
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return time(hour % 12 + (12 if match["ampm"].startswith("p") else 0), minute)
    if match := _CLOCK_24H.search(text):
        hour, minute = int(match["h"]), int(match["m"])
        return time(hour, minute) if hour <= 23 and minute <= 59 else None
    if match := _CLOCK_BARE_HOUR.search(text):
        hour = int(match["h"])
        if 1 <= hour <= 7 or (evening and 1 <= hour <= 11):
            return time(hour + 12)
        return time(hour) if hour <= 23 else None
    if match := _CLOCK_WORD.search(text):
        word = match["word"]
        return _CLOCK_WORDS.get(word) or _PARTS_OF_DAY[word]
    return None


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    wall = datetime.combine(day, clock, tzinfo=tz)
    # A round trip through UTC moves a wall time inside a DST gap to the real time it stands for.
    return wall.astimezone(UTC).astimezone(tz)


def parse_meeting(text: str, now: datetime, tz: ZoneInfo, *, default_day: date | None = None) -> MeetingTime:
    """What day and time the text asks for, relative to `now` (timezone-aware), read in `tz`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    message = clean(text).lower()
    today = now.astimezone(tz).date()
    day, day_match = _find_day(message, today)
    rest = message
    if day_match is not None:
        # Blanked so that the numbers of "12/03" or "Dec 3" are not read as a clock time.
        rest = message[: day_match.start()] + " " + message[day_match.end() :]
    evening = _EVENING.search(message) is not None
    clock = _find_clock(rest, evening=evening)
    if clock is None and evening and day_match is not None and day_match.groupdict().get("rel") == "tonight":
        clock = _PARTS_OF_DAY["tonight"]
    if clock is None or (day_match is not None and day is None):
        # A named but impossible date ("Feb 30") must not fall back to "the next such time".
        return MeetingTime(day=day, clock=clock, start=None)
    if day is None:
        day = default_day if default_day is not None and default_day >= today else today
        if default_day is None and _at(day, clock, tz) <= now:
            day = today + timedelta(days=1)
    start = _at(day, clock, tz)
    return MeetingTime(day=day, clock=clock, start=start if start > now else None)


def named_day(text: str, now: datetime, tz: ZoneInfo) -> date | None:
    """The day the text names itself ("Wednesday", "Dec 9", "tomorrow"), None when it names none."""
    return _find_day(clean(text).lower(), now.astimezone(tz).date())[0]


def parse_meeting_time(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The meeting start the text names, or None when a day or time is missing or it has passed."""
    return parse_meeting(text, now, tz).start
