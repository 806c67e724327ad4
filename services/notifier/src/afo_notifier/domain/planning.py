"""What a booked meeting sends its lead, and when. A pure function of the meeting (with its reminder offsets),
the contact and ``now``; planned again when the contact changes, adding only what the meeting lacks.

Rules:
- One reminder per offset (default 24 h and 1 h before the start, ``NotifierSettings.reminder_offsets_s``)
  on each channel the lead can be reached on: SMS when a phone is known, email when an email is known.
- A confirmation email, with the meeting's invitation (ICS) attached, due right away when an email is known.
- A reminder whose time to send has already passed (a meeting booked less than its offset ahead) is recorded
  ``skipped``, not sent late.
- An opted-out lead gets nothing: every row recorded ``skipped`` with the reason.
- A lead with neither a phone nor an email gets no row at all (there is nobody to write to).
- Planned again (a phone or email learnt after the booking: the lead's events and the workflow's request come
  on two consumers, in no set order), a meeting gains only the rows it has none of — a confirmation per
  channel, a reminder per channel and send time — and its still-scheduled rows go to the address now held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from afo_common import masking
from afo_common.invites import Meeting, invite_ics
from afo_notifier.domain import templates
from afo_notifier.domain.records import ChannelName, ContactRow, Kind, NotificationRow, RemindedMeeting, Status

DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
OPTED_OUT = "the lead opted out"
TOO_LATE = "its send time had passed when it was planned"


def plan(meeting: RemindedMeeting, contact: ContactRow | None, now: datetime,
         new_id: Callable[[], str]) -> list[NotificationRow]:
    if contact is None:
        return []
    rows: list[NotificationRow] = []

    def add(kind: Kind, channel: ChannelName, to: str, subject: str | None, body: str, send_at: datetime,
            ics: str | None = None) -> None:
        status: Status = "scheduled"
        error = None
        if contact.opted_out:
            status, error = "skipped", OPTED_OUT
        elif kind == "reminder" and send_at <= now:
            status, error = "skipped", TOO_LATE
        rows.append(NotificationRow(
            id=new_id(), tenant_id=meeting.tenant_id, meeting_id=meeting.meeting_id, lead_id=meeting.lead_id,
            kind=kind, channel=channel, to=to, subject=subject, body=body, ics=ics, send_at=send_at,
            status=status, error=error, provider=None, provider_id=None, claimed_by=None, claimed_until=None,
            sent_at=None, created_at=now, updated_at=now))

    if contact.email:
        subject, body = templates.confirmation_email(meeting.start, meeting.timezone, contact.name)
        ics = invite_ics(Meeting(
            booking_id=meeting.meeting_id, start=meeting.start, end=meeting.end, summary="Meeting",
            description=body, organizer_email="meetings@afo.local", organizer_name="AFO",
            attendee_email=contact.email, attendee_name=contact.name, stamped_at=now)).decode()
        add("confirmation", "email", contact.email, subject, body, now, ics)
    for offset in meeting.offsets:
        send_at = meeting.start - offset
        if contact.phone:
            add("reminder", "sms", contact.phone, None,
                templates.reminder_sms(meeting.start, meeting.timezone, offset), send_at)
        if contact.email:
            subject, body = templates.reminder_email(meeting.start, meeting.timezone, offset, contact.name)
            add("reminder", "email", contact.email, subject, body, send_at)
    return rows


def missing(planned: Iterable[NotificationRow], held: Iterable[NotificationRow]) -> list[NotificationRow]:
    """The planned rows the meeting holds none of yet."""
    have = {_slot(row) for row in held}
    return [row for row in planned if _slot(row) not in have]


def readdressed(held: Iterable[NotificationRow], contact: ContactRow, now: datetime) -> list[NotificationRow]:
    """The still-scheduled rows whose channel's address is no longer the contact's, to the one it holds."""
    address: dict[str, str | None] = {"sms": contact.phone, "email": contact.email}
    return [replace(row, to=to, updated_at=now) for row in held
            if row.status == "scheduled" and (to := address.get(row.channel)) and to != row.to]


def _slot(row: NotificationRow) -> tuple[str, str, datetime | None]:
    # A confirmation is due when planned: one per channel, whenever that was.
    return row.kind, row.channel, row.send_at if row.kind == "reminder" else None


def mask(channel: str, to: str) -> str:
    """``+33•••••5678``; ``j•••@example.com``."""
    return masking.email(to) if channel == "email" else masking.phone(to)
