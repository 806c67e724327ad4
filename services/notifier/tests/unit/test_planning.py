"""The pure parts: what a booked meeting plans for which contact, the words (in the lead's time zone, DST
included) and the masked addresses."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from afo_notifier.domain import templates
from afo_notifier.domain.planning import (
    DEFAULT_OFFSETS,
    OPTED_OUT,
    TOO_LATE,
    mask,
    missing,
    plan,
    readdressed,
)
from afo_notifier.domain.records import ContactRow, RemindedMeeting

NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
MEETING = RemindedMeeting(tenant_id="ten_a", meeting_id="mtg_1", lead_id="lead_1", agent_id="agt_1",
                          start=datetime(2026, 3, 30, 8, 0, tzinfo=UTC), end=datetime(2026, 3, 30, 8, 30, tzinfo=UTC),
                          timezone="Europe/Paris", offsets_s=tuple(o.total_seconds() for o in DEFAULT_OFFSETS),
                          requested_at=NOW)


def contact(**fields: object) -> ContactRow:
    base: dict[str, object] = {"tenant_id": "ten_a", "lead_id": "lead_1", "name": None, "email": None,
                               "phone": None, "opted_out": False, "updated_at": NOW}
    return ContactRow(**{**base, **fields})  # type: ignore[arg-type]


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"ntf_{next(counter)}"


def test_no_contact_or_no_address_plans_nothing() -> None:
    assert plan(MEETING, None, NOW, ids()) == []
    assert plan(MEETING, contact(name="Lee"), NOW, ids()) == []


def test_phone_only_plans_sms_reminders_and_no_confirmation() -> None:
    rows = plan(MEETING, contact(phone="+33612345678"), NOW, ids())
    assert [(r.kind, r.channel, r.send_at) for r in rows] == [
        ("reminder", "sms", MEETING.start - timedelta(hours=24)),
        ("reminder", "sms", MEETING.start - timedelta(hours=1))]


def test_opted_out_and_too_late_are_recorded_skipped() -> None:
    opted = plan(MEETING, contact(email="lee@example.com", opted_out=True), NOW, ids())
    assert {(r.status, r.error) for r in opted} == {("skipped", OPTED_OUT)} and len(opted) == 3
    late = plan(MEETING, contact(phone="+33612345678"), MEETING.start - timedelta(minutes=30),
                ids())
    assert {(r.status, r.error) for r in late} == {("skipped", TOO_LATE)}


def test_a_channel_learnt_later_adds_only_what_the_meeting_lacks() -> None:
    held = plan(MEETING, contact(email="lee@example.com"), NOW, ids())
    later = NOW + timedelta(hours=1)

    added = missing(plan(MEETING, contact(email="lee@example.com", phone="+33612345678"), later, ids()), held)

    assert [(r.kind, r.channel, r.send_at) for r in added] == [
        ("reminder", "sms", MEETING.start - timedelta(hours=24)),
        ("reminder", "sms", MEETING.start - timedelta(hours=1))]
    # Planned again with nothing new (a redelivery, a second request): nothing, the confirmation included.
    again = plan(MEETING, contact(email="lee@example.com", phone="+33612345678"), later + timedelta(hours=1), ids())
    assert missing(again, [*held, *added]) == []


def test_scheduled_rows_follow_a_changed_address_and_sent_ones_stay() -> None:
    held = plan(MEETING, contact(email="lee@example.com", phone="+33612345678"), NOW, ids())
    sent = replace(held[0], status="sent")
    later = NOW + timedelta(hours=1)

    moved = readdressed([sent, *held[1:]], contact(email="lee@example.com", phone="+33698765432"), later)

    assert {(r.channel, r.to, r.updated_at) for r in moved} == {("sms", "+33698765432", later)}
    assert len(moved) == 2
    assert readdressed(held, contact(email="lee@example.com", phone="+33612345678"), later) == []
    assert readdressed(held, contact(), later) == []  # an address forgotten leaves the rows as they are


def test_times_are_said_in_the_leads_zone_across_a_dst_change() -> None:
    # Paris moves to summer time on 29 March 2026: 08:00 UTC is 09:00 the day before, 10:00 the day after.
    assert templates.local_time(datetime(2026, 3, 28, 8, 0, tzinfo=UTC), "Europe/Paris") == (
        "Sat 28 Mar, 09:00 (Europe/Paris)")
    assert templates.local_time(MEETING.start, "Europe/Paris") == "Mon 30 Mar, 10:00 (Europe/Paris)"
    assert templates.local_time(MEETING.start, "Nowhere/Land") == "Mon 30 Mar, 08:00 (UTC)"
    assert templates.lead_in(timedelta(hours=24)) == "tomorrow" and templates.lead_in(timedelta(hours=2)) == (
        "in 2 hours") and templates.lead_in(timedelta(seconds=3590)) == "in 59 minutes"


def test_addresses_are_masked() -> None:
    assert mask("sms", "+33612345678") == "+33•••••5678"
    assert mask("email", "lee@example.com") == "l•••@example.com"
    assert mask("sms", "+3361") == "•••••"
