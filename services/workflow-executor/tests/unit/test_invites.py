"""The invitation and its cancellation parse back through icalendar with what the lead's calendar needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from icalendar import Calendar

from afo_workflow_executor.domain.invites import Meeting, cancellation_ics, invite_ics

BERLIN_SUMMER = timezone(timedelta(hours=2))
MEETING = Meeting(booking_id="mtg_01", start=datetime(2026, 6, 1, 11, 0, tzinfo=BERLIN_SUMMER),
                  end=datetime(2026, 6, 1, 11, 30, tzinfo=BERLIN_SUMMER), summary="Intro call, Acme",
                  description="Your call with Acme; reply to reschedule.\nSee you then.",
                  organizer_email="sales@acme.example", organizer_name="Acme Sales",
                  attendee_email="lead@example.com", attendee_name="Lee Lead",
                  stamped_at=datetime(2026, 5, 30, 8, 0, tzinfo=UTC), sequence=2)


def parsed(ics: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_the_invitation_round_trips() -> None:
    calendar, event = parsed(invite_ics(MEETING))
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    ev: dict[str, object] = event  # type: ignore[assignment]
    assert str(ev["UID"]) == "mtg_01@afo"
    assert ev["DTSTART"].dt == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert ev["DTEND"].dt == datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    assert ev["DTSTAMP"].dt == MEETING.stamped_at  # type: ignore[attr-defined]
    assert ev["SEQUENCE"] == 2
    assert str(ev["SUMMARY"]) == MEETING.summary and str(ev["DESCRIPTION"]) == MEETING.description
    assert str(ev["ORGANIZER"]) == "mailto:sales@acme.example"
    assert str(ev["ATTENDEE"]) == "mailto:lead@example.com"
    assert ev["ATTENDEE"].params["CN"] == "Lee Lead" and ev["ATTENDEE"].params["RSVP"] == "TRUE"  # type: ignore[attr-defined]
    assert b"DTSTART:20260601T090000Z" in invite_ics(MEETING)


def test_the_cancellation_keeps_the_uid() -> None:
    calendar, event = parsed(cancellation_ics(MEETING))
    ev: dict[str, object] = event  # type: ignore[assignment]
    assert str(calendar["METHOD"]) == "CANCEL" and str(ev["STATUS"]) == "CANCELLED"
    assert str(ev["UID"]) == "mtg_01@afo" and ev["SEQUENCE"] == 2
