"""The SMTP adapter against an aiosmtpd server (the local sink ``afo up`` starts): the message arrives with its
subject and body, a confirmation with the meeting's invitation attached; an address SMTP cannot carry and no server
are send errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from afo_cli.smtp_sink import SmtpSink
from afo_common.invites import Meeting, invite_ics
from afo_notifier.adapters.smtp import SmtpServer, send_email
from afo_notifier.domain.channels import SendError

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[SmtpSink]:
    async with SmtpSink(tmp_path / "mail") as server:
        yield server


def server(sink: SmtpSink) -> SmtpServer:
    return SmtpServer("127.0.0.1", sink.port, "meetings@afo.local")


async def test_plain_reminder_arrives(sink: SmtpSink, tmp_path: Path) -> None:
    message_id = await send_email(server(sink), "lee@example.com", "Reminder", "See you at 10:00.", None)
    [(sender, recipients, mail)] = sink.received
    assert (sender, recipients) == ("meetings@afo.local", ["lee@example.com"])
    assert mail["Subject"] == "Reminder" and mail["Message-ID"] == message_id
    assert mail.get_payload(decode=True).decode().strip() == "See you at 10:00."  # type: ignore[union-attr]
    assert [p.name for p in (tmp_path / "mail").iterdir()] == ["1.eml"]


async def test_confirmation_carries_the_invitation(sink: SmtpSink) -> None:
    ics = invite_ics(Meeting(booking_id="mtg_1", start=START, end=START.replace(hour=10), summary="Meeting",
                             description="Booked", organizer_email="meetings@afo.local", organizer_name="AFO",
                             attendee_email="lee@example.com", attendee_name="Lee", stamped_at=START)).decode()
    await send_email(server(sink), "lee@example.com", "Your meeting is booked", "Booked.", ics)
    [(_, _, mail)] = sink.received
    [attachment] = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert attachment.get_filename() == "invite.ics" and attachment.get_param("method") == "REQUEST"
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    event = Calendar.from_ical(payload).walk("VEVENT")[0]
    assert str(event["uid"]) == "mtg_1@afo" and event.decoded("dtstart") == START


async def test_an_address_smtp_cannot_carry_is_a_send_error(sink: SmtpSink) -> None:
    with pytest.raises(SendError) as caught:
        await send_email(server(sink), "not an address", "Reminder", "hi", None)
    assert caught.value.provider == "smtp" and "not permitted" in caught.value.reason and not sink.received


async def test_no_server_is_a_send_error() -> None:
    with pytest.raises(SendError) as caught:
        await send_email(SmtpServer("127.0.0.1", 9, "meetings@afo.local", timeout_s=2), "lee@example.com",
                         "Reminder", "hi", None)
    assert caught.value.status is None
