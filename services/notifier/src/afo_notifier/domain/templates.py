"""The words of every message: plain and short, the meeting's time in the lead's time zone (the one the lead
asked in, carried by ``meeting.booked``). An SMS says how to stop messages (STOP), as carriers require."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_time(start: datetime, timezone: str) -> str:
    """``Fri 4 Dec, 10:00 (Europe/Paris)``; an unknown zone name falls back to UTC."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    local = start.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} ({timezone})"


def lead_in(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes >= 1440 and minutes % 1440 == 0:
        days = minutes // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {minutes} minutes"


def reminder_sms(start: datetime, timezone: str, offset: timedelta) -> str:
    return f"Reminder: your meeting is {lead_in(offset)}, {local_time(start, timezone)}. Reply STOP to opt out."


def reminder_email(start: datetime, timezone: str, offset: timedelta, name: str | None) -> tuple[str, str]:
    when = local_time(start, timezone)
    subject = f"Reminder: your meeting {lead_in(offset)} ({when})"
    body = (f"Hello{' ' + name if name else ''},\n\nA reminder that your meeting is {lead_in(offset)}: {when}.\n\n"
            "See you then.\n")
    return subject, body


def confirmation_email(start: datetime, timezone: str, name: str | None) -> tuple[str, str]:
    when = local_time(start, timezone)
    subject = f"Your meeting is booked: {when}"
    body = (f"Hello{' ' + name if name else ''},\n\nYour meeting is booked for {when}. "
            "The invitation is attached: open it to add the meeting to your calendar.\n\nSee you then.\n")
    return subject, body
