"""The calendar invitation sent with a booking's confirmation email, as iCalendar (RFC 5545/5546) bytes.

Rules:
- An invitation is ``METHOD:REQUEST``; a cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` and the
  same UID, so the lead's calendar removes the event it holds.
- The UID is the booking id at ``afo``: stable across reschedules, which raise ``SEQUENCE`` instead
  (a cancellation must carry a sequence above the last invitation's).
- DTSTART, DTEND and DTSTAMP are in UTC; DTSTAMP is when the message is made, passed in (no clock here).
- ORGANIZER is the calendar's owner; the one ATTENDEE is the lead, RSVP requested (none when no address).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText


@dataclass(frozen=True)
class Meeting:
    booking_id: str
    start: datetime
    end: datetime
    summary: str
    description: str
    organizer_email: str
    organizer_name: str
    attendee_email: str | None  # None: the lead left no address, and the invitation names no attendee
    attendee_name: str | None
    stamped_at: datetime
    sequence: int = 0

    @property
    def uid(self) -> str:
        return f"{self.booking_id}@afo"


def _address(email: str, name: str | None, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def _ics(meeting: Meeting, method: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//AFO//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", meeting.stamped_at.astimezone(UTC))
    event.add("dtstart", meeting.start.astimezone(UTC))
    event.add("dtend", meeting.end.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.summary)
    event.add("description", meeting.description)
    event.add("organizer", _address(meeting.organizer_email, meeting.organizer_name))
    if meeting.attendee_email:
        event.add("attendee", _address(meeting.attendee_email, meeting.attendee_name, ROLE="REQ-PARTICIPANT",
                                       PARTSTAT="NEEDS-ACTION", RSVP="TRUE"))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def invite_ics(meeting: Meeting) -> bytes:
    return _ics(meeting, "REQUEST")


def cancellation_ics(meeting: Meeting) -> bytes:
    return _ics(meeting, "CANCEL")
